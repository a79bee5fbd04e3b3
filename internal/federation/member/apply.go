package member

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strconv"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// Reasons of a Work's Applied condition.
const (
	// ReasonApplied: the manifest of the Work's generation is in the
	// member.
	ReasonApplied = "Applied"
	// ReasonConflict: an object of that kind and name exists in the
	// member and is not this Work's (no kennel.io/federation label of
	// this federation, or another Work's); the agent leaves it alone.
	ReasonConflict = "Conflict"
	// ReasonInvalidManifest: the manifest does not decode to one object.
	ReasonInvalidManifest = "InvalidManifest"
	// ReasonUnsupported: the manifest's kind is not one a federation may
	// place (Node, Lease, Event and the federation's own kinds).
	ReasonUnsupported = "Unsupported"
	// ReasonApplyFailed: the member's API refused the write; the message
	// is its error.
	ReasonApplyFailed = "ApplyFailed"
)

// placeable reports whether a Work may apply an object of kind to a
// member: not a member's own bookkeeping, nor the federation's kinds.
func placeable(kind string) bool {
	switch kind {
	case "Node", "Lease", "Event", "Cluster", "Placement", "Work", "FederatedEndpoints", "Migration":
		return false
	}
	return true
}

// objectRef names an object of the member by canonical kind.
type objectRef struct {
	Kind, Namespace, Name string
}

func (r objectRef) String() string { return r.Kind + "/" + r.Namespace + "/" + r.Name }

func refOf(kind *v1.Kind, obj v1.Object) objectRef {
	m := obj.GetObjectMeta()
	return objectRef{Kind: kind.Kind, Namespace: m.Namespace, Name: m.Name}
}

// outcome is what applying a Work came to.
type outcome struct {
	applied bool
	reason  string
	message string
	// current is the member object as stored, when it is the Work's.
	current v1.Object
	// retry is a failure worth retrying with back-off.
	retry error
	// migration is what the member reports of a migration the Work
	// orders; requeue, how soon to look at it again.
	migration *v1.WorkMigration
	requeue   time.Duration
}

func failed(reason string, err error) outcome {
	return outcome{reason: reason, message: err.Error()}
}

// apply makes the member object what the Work says, writing only when
// it differs.
func (w *works) apply(ctx context.Context, work *v1.Work) outcome {
	key := v1.ObjectKey(work)
	obj, kind, err := decodeManifest(w.a.reg, work)
	if err != nil {
		return failed(ReasonInvalidManifest, err)
	}
	if !placeable(kind.Kind) {
		return failed(ReasonUnsupported, fmt.Errorf("member: a federation may not place a %s in a member", kind.Kind))
	}
	ref := refOf(kind, obj)
	var mig *migrate
	if set, ok := obj.(*v1.PetSet); ok {
		mo, mi, err := migrationOrders(set)
		if err != nil {
			return failed(ReasonInvalidManifest, err)
		}
		mig = &migrate{set: v1.Clone(set), out: mo, in: mi}
		if mi != nil {
			if err := w.prepareMigrateIn(ctx, set, mi); err != nil {
				return outcome{reason: ReasonApplyFailed, message: err.Error(), retry: err}
			}
		}
	}
	if prev, ok := w.appliedTo(key); ok && prev != ref {
		if err := w.deleteTarget(ctx, prev, key); err != nil {
			return outcome{reason: ReasonApplyFailed, message: err.Error(), retry: err}
		}
	}
	w.prepare(obj, work)
	res := client.ForKind(w.a.mem, kind, ref.Namespace)
	cur, err := res.Get(ctx, ref.Name)
	if err == nil && isFenced(cur) && w.mayWrite(cur, key) {
		// Fenced: the workload stays at 0 until the fence is lifted, so
		// the member's controllers do not bring its pods back.
		setReplicas(obj, 0)
	}
	switch {
	case v1.IsNotFound(err):
		cur, err = w.create(ctx, res, obj)
	case err != nil:
	case !w.mayWrite(cur, key):
		return outcome{reason: ReasonConflict, message: conflictMessage(kind, cur, w.a.federation)}
	case cur.GetObjectMeta().DeletionTimestamp != nil:
		err = errors.New("it is being deleted; it will be created again once it is gone")
	case upToDate(kind, obj, cur):
	default:
		cur, err = res.Update(ctx, forUpdate(obj, cur))
	}
	if err != nil {
		err = fmt.Errorf("member: apply %s %s: %w", kind.Kind, objectKeyOf(ref), err)
		out := outcome{reason: ReasonApplyFailed, message: err.Error(), retry: err}
		if r := v1.ReasonOf(err); r == v1.ReasonInvalid || r == v1.ReasonBadRequest {
			// The member refuses the manifest itself (an immutable field
			// changed): only a new generation, or the resync, helps.
			out.retry = nil
		}
		return out
	}
	w.setApplied(key, ref)
	out := outcome{applied: true, reason: ReasonApplied, current: cur}
	if mig.active() {
		rep, requeue, err := w.migrationReport(ctx, mig, cur)
		if err != nil {
			return outcome{applied: true, reason: ReasonApplied, current: cur, retry: err}
		}
		out.migration, out.requeue = rep, requeue
	}
	return out
}

func (w *works) create(ctx context.Context, res *client.Resource[v1.Object], obj v1.Object) (v1.Object, error) {
	if ns := obj.GetObjectMeta().Namespace; ns != "" {
		if err := w.ensureNamespace(ctx, ns); err != nil {
			return nil, err
		}
	}
	return res.Create(ctx, obj)
}

// ensureNamespace creates a missing namespace for a Work's object. It
// carries the federation label (so that a Namespace Work may adopt it)
// but no Work annotation: neither the sweep nor Leave delete it, since
// objects that are not the federation's may be put in it.
func (w *works) ensureNamespace(ctx context.Context, name string) error {
	return ensureNamespace(ctx, w.a.mem, name, map[string]string{v1.LabelFederation: w.a.federation})
}

func ensureNamespace(ctx context.Context, c *client.Client, name string, labels map[string]string) error {
	nss := client.For[*v1.Namespace](c, "")
	_, err := nss.Get(ctx, name)
	if !v1.IsNotFound(err) {
		return err
	}
	_, err = nss.Create(ctx, &v1.Namespace{ObjectMeta: v1.ObjectMeta{Name: name, Labels: labels}})
	if v1.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// mayWrite reports whether the member object is this federation's and
// not another live Work's.
func (w *works) mayWrite(cur v1.Object, key string) bool {
	m := cur.GetObjectMeta()
	if m.Labels[v1.LabelFederation] != w.a.federation {
		return false
	}
	owner := m.Annotations[v1.AnnotationFederationWork]
	if owner == "" || owner == key {
		return true
	}
	other, ok, _ := w.current(owner)
	return !ok || other.DeletionTimestamp != nil
}

func conflictMessage(kind *v1.Kind, cur v1.Object, federation string) string {
	m := cur.GetObjectMeta()
	if m.Labels[v1.LabelFederation] != federation {
		return fmt.Sprintf("%s %s exists in the member and is not the federation's (no label %s=%s): it is left alone",
			kind.Kind, v1.ObjectKey(cur), v1.LabelFederation, federation)
	}
	return fmt.Sprintf("%s %s in the member is applied from Work %s", kind.Kind, v1.ObjectKey(cur), m.Annotations[v1.AnnotationFederationWork])
}

// prepare turns a decoded manifest into the object the member should
// have: the federation's server-set metadata and the status dropped, the
// federation label and the Work annotations added.
func (w *works) prepare(obj v1.Object, work *v1.Work) {
	m := obj.GetObjectMeta()
	m.UID, m.ResourceVersion, m.Generation, m.GenerateName = "", "", 0, ""
	m.CreationTimestamp, m.DeletionTimestamp, m.DeletionGracePeriodSeconds = nil, nil, nil
	m.OwnerReferences, m.Finalizers = nil, nil
	m.Labels = maps.Clone(m.Labels)
	if m.Labels == nil {
		m.Labels = map[string]string{}
	}
	m.Labels[v1.LabelFederation] = w.a.federation
	m.Annotations = maps.Clone(m.Annotations)
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	stripMigrationOrders(m)
	m.Annotations[v1.AnnotationFederationWork] = v1.ObjectKey(work)
	m.Annotations[v1.AnnotationWorkGeneration] = strconv.FormatInt(work.Generation, 10)
	if st := reflect.ValueOf(obj).Elem().FieldByName("Status"); st.IsValid() && st.CanSet() {
		st.Set(reflect.Zero(st.Type()))
	}
}

// upToDate reports whether cur already is want: want's labels and
// annotations (the Work generation among them) are on cur, and every
// field want sets (after the member's defaults) has the same value in
// cur. Fields the member fills in (a Service's cluster IP, defaults) are
// no difference; a field the federation removes shows as a new Work
// generation, which forces the write.
func upToDate(kind *v1.Kind, want, cur v1.Object) bool {
	wm, cm := want.GetObjectMeta(), cur.GetObjectMeta()
	if !subsetMap(wm.Labels, cm.Labels) || !subsetMap(wm.Annotations, cm.Annotations) {
		return false
	}
	d := v1.Clone(want)
	if kind.Default != nil {
		kind.Default(d)
	}
	return covers(bodyOf(cur), bodyOf(d))
}

// forUpdate is want, written over cur: cur's resourceVersion, finalizers
// and owners are kept, its annotations are merged under want's, and the
// fields the member allocated are carried over.
func forUpdate(want, cur v1.Object) v1.Object {
	next := v1.Clone(want)
	nm, cm := next.GetObjectMeta(), cur.GetObjectMeta()
	nm.ResourceVersion = cm.ResourceVersion
	nm.Finalizers, nm.OwnerReferences = cm.Finalizers, cm.OwnerReferences
	ann := maps.Clone(cm.Annotations)
	if ann == nil {
		ann = map[string]string{}
	}
	maps.Copy(ann, nm.Annotations)
	nm.Annotations = ann
	carryOver(next, cur)
	return next
}

// carryOver copies into next the fields the member set on cur that a
// manifest leaves empty and that may not change once set.
func carryOver(next, cur v1.Object) {
	switch n := next.(type) {
	case *v1.Service:
		c := cur.(*v1.Service)
		if n.Spec.ClusterIP == "" {
			n.Spec.ClusterIP = c.Spec.ClusterIP
		}
		if len(n.Spec.ClusterIPs) == 0 {
			n.Spec.ClusterIPs = c.Spec.ClusterIPs
		}
	case *v1.PersistentVolumeClaim:
		c := cur.(*v1.PersistentVolumeClaim)
		if n.Spec.VolumeName == "" {
			n.Spec.VolumeName = c.Spec.VolumeName
		}
		if n.Spec.StorageClassName == nil {
			n.Spec.StorageClassName = c.Spec.StorageClassName
		}
	}
}

// deleteTarget deletes the member object ref if it still is the Work
// key's (the federation label and the Work annotation), with its
// dependents (a PetSet's pets go with it, through the member's garbage
// collector).
func (w *works) deleteTarget(ctx context.Context, ref objectRef, key string) error {
	kind, ok := w.a.reg.ByKind(ref.Kind)
	if !ok {
		return nil
	}
	res := client.ForKind(w.a.mem, kind, ref.Namespace)
	cur, err := res.Get(ctx, ref.Name)
	if err != nil {
		return ignoreNotFound(err)
	}
	m := cur.GetObjectMeta()
	if m.Labels[v1.LabelFederation] != w.a.federation || m.Annotations[v1.AnnotationFederationWork] != key || m.DeletionTimestamp != nil {
		return nil
	}
	if err := deleteObject(ctx, res, cur); err != nil {
		return fmt.Errorf("member: delete %s %s of gone Work %s: %w", kind.Kind, objectKeyOf(ref), key, err)
	}
	w.a.log.Info("deleted the object of a gone Work", "work", key, "kind", kind.Kind, "object", objectKeyOf(ref))
	return nil
}

// deleteObject deletes obj (and not an object that replaced it since),
// in the background as `kennel delete` does.
func deleteObject(ctx context.Context, res *client.Resource[v1.Object], obj v1.Object) error {
	uid := obj.GetObjectMeta().UID
	_, err := res.Delete(ctx, obj.GetObjectMeta().Name, client.DeleteOptions{
		PropagationPolicy: "Background", Preconditions: &client.Preconditions{UID: &uid}})
	if v1.IsNotFound(err) || v1.IsConflict(err) {
		return nil
	}
	return err
}

func objectKeyOf(ref objectRef) string {
	if ref.Namespace == "" {
		return ref.Name
	}
	return ref.Namespace + "/" + ref.Name
}

// bodyOf is an object's JSON without its type, metadata and status.
func bodyOf(obj v1.Object) map[string]any {
	var m map[string]any
	b, err := json.Marshal(obj)
	if err != nil || json.Unmarshal(b, &m) != nil {
		return nil
	}
	delete(m, "apiVersion")
	delete(m, "kind")
	delete(m, "metadata")
	delete(m, "status")
	return m
}

package apiserver

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/store"
)

// Finalizers the API server and the garbage collector share, with
// Kubernetes' names.
const (
	FinalizerOrphan     = "orphan"
	FinalizerForeground = "foregroundDeletion"
	// FinalizerNamespace keeps a namespace until everything in it is gone.
	FinalizerNamespace = "kennel.io/namespace"
)

// DeleteOptions is the body of a DELETE, as in Kubernetes.
type DeleteOptions struct {
	Kind               string         `json:"kind,omitempty"`
	APIVersion         string         `json:"apiVersion,omitempty"`
	GracePeriodSeconds *int64         `json:"gracePeriodSeconds,omitempty"`
	PropagationPolicy  string         `json:"propagationPolicy,omitempty"`
	Preconditions      *Preconditions `json:"preconditions,omitempty"`
}

// Preconditions must hold for a delete to proceed.
type Preconditions struct {
	UID             *string `json:"uid,omitempty"`
	ResourceVersion *string `json:"resourceVersion,omitempty"`
}

func parseDeleteOptions(r *http.Request, body []byte) (*DeleteOptions, error) {
	opts := &DeleteOptions{}
	if len(body) > 0 {
		if err := json.Unmarshal(body, opts); err != nil {
			return nil, v1.NewError(v1.ReasonBadRequest, "delete options: %v", err)
		}
	}
	q := r.URL.Query()
	if p := q.Get("propagationPolicy"); p != "" {
		opts.PropagationPolicy = p
	}
	if g := q.Get("gracePeriodSeconds"); g != "" {
		n, err := strconv.ParseInt(g, 10, 64)
		if err != nil || n < 0 {
			return nil, v1.NewError(v1.ReasonBadRequest, "gracePeriodSeconds %q must be a non-negative integer", g)
		}
		opts.GracePeriodSeconds = &n
	}
	switch opts.PropagationPolicy {
	case "", "Background", "Orphan", "Foreground":
	default:
		return nil, v1.NewError(v1.ReasonBadRequest, "propagationPolicy %q is not supported: use Background, Foreground or Orphan", opts.PropagationPolicy)
	}
	return opts, nil
}

// delete removes an object at once, or marks it for deletion when
// finalizers or a pod's grace period must run first. The response is the
// object as last stored.
func (s *Server) delete(w http.ResponseWriter, r *http.Request, id *Identity, info *requestInfo, body []byte) error {
	opts, err := parseDeleteOptions(r, body)
	if err != nil {
		return err
	}
	if info.Kind.Resource == "namespaces" && protectedNamespace(info.Name) {
		return v1.NewError(v1.ReasonForbidden, "namespace %q is built in and may not be deleted", info.Name)
	}
	ctx := r.Context()
	key := s.key(info.Kind, info.Namespace, info.Name)
	for attempt := 0; ; attempt++ {
		kv, err := s.st.Get(ctx, key)
		if err == nil {
			kv, err = s.secrets.open(kv)
		}
		if err != nil {
			return err
		}
		done, err := s.tryDelete(w, ctx, id, info, opts, kv)
		if err == store.ErrConflict && opts.Preconditions == nil && attempt < 10 {
			continue
		}
		if err != nil || done {
			return err
		}
	}
}

func (s *Server) tryDelete(w http.ResponseWriter, ctx context.Context, id *Identity, info *requestInfo, opts *DeleteOptions, kv *store.KV) (bool, error) {
	obj, err := decodeStored(info.Kind, kv)
	if err != nil {
		return false, err
	}
	m := obj.GetObjectMeta()
	if err := checkPreconditions(opts.Preconditions, m, info); err != nil {
		return false, err
	}
	if err := authorizeObject(id, info, m, boundNode(id, kv.Value)); err != nil {
		return false, err
	}
	s.recent.drop(kv.Key)
	changed := s.markForDeletion(info, opts, obj)
	if len(m.Finalizers) == 0 && !gracePending(m) {
		start := time.Now()
		_, rev, err := s.st.Delete(ctx, kv.Key, kv.Revision)
		s.metrics.storeOp("delete", start)
		if err != nil {
			return false, err
		}
		writeObject(w, http.StatusOK, kv.Value, rev)
		return true, nil
	}
	if !changed {
		writeObject(w, http.StatusOK, kv.Value, kv.Revision)
		return true, nil
	}
	b, err := encodeForStore(obj)
	if err != nil {
		return false, err
	}
	var rev int64
	err = s.secrets.sealed(kv.Key, b, func(stored []byte) (err error) {
		rev, _, err = s.st.Update(ctx, kv.Key, stored, kv.Revision)
		return err
	})
	if err != nil {
		return false, err
	}
	writeObject(w, http.StatusAccepted, b, rev)
	return true, nil
}

// markForDeletion sets the deletion timestamp and the finalizers that the
// propagation policy asks for; it reports whether it changed anything.
func (s *Server) markForDeletion(info *requestInfo, opts *DeleteOptions, obj v1.Object) bool {
	m := obj.GetObjectMeta()
	changed := false
	addFinalizer := func(f string) {
		if !m.HasFinalizer(f) {
			m.Finalizers = append(m.Finalizers, f)
			changed = true
		}
	}
	if m.DeletionTimestamp == nil {
		switch opts.PropagationPolicy {
		case "Orphan":
			addFinalizer(FinalizerOrphan)
		case "Foreground":
			addFinalizer(FinalizerForeground)
		}
		if info.Kind.Resource == "namespaces" {
			addFinalizer(FinalizerNamespace)
		}
	}
	// A pod on a node gets its grace period so the node can stop it; the
	// node deletes it with grace 0 when its processes are gone.
	grace, bound := podGracePeriod(obj)
	if bound && opts.GracePeriodSeconds != nil {
		grace = *opts.GracePeriodSeconds
	}
	if grace > 0 && (m.DeletionGracePeriodSeconds == nil || grace < *m.DeletionGracePeriodSeconds) {
		m.DeletionGracePeriodSeconds = &grace
		changed = true
	} else if grace == 0 && gracePending(m) {
		m.DeletionGracePeriodSeconds = &grace
		changed = true
	}
	if m.DeletionTimestamp == nil && (len(m.Finalizers) > 0 || gracePending(m)) {
		m.DeletionTimestamp = v1.NewTime(time.Now().Add(time.Duration(grace) * time.Second))
		changed = true
	}
	return changed
}

// podGracePeriod is how long a pod bound to a node gets to stop when its
// delete names no grace period: its spec.terminationGracePeriodSeconds, as
// in Kubernetes, but at least a second. Kubernetes deletes a pod whose
// spec says 0 at once, while its processes still run, and a controller
// may then start its replacement — for a pet, a second copy of one
// identity (Kubernetes' documentation warns against it). Here the pod
// stays until its node stopped it (one second of SIGTERM, then SIGKILL;
// the kubelet's own minimum is two); only a delete that asks for 0 itself
// forces it. bound is
// false, and grace 0, for anything that is not a pod on a node: it is
// deleted at once.
func podGracePeriod(obj v1.Object) (grace int64, bound bool) {
	pod, ok := obj.(*v1.Pod)
	if !ok || pod.Spec.NodeName == "" {
		return 0, false
	}
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		return max(*g, 1), true
	}
	return v1.DefaultTerminationGracePeriodSeconds, true
}

func checkPreconditions(p *Preconditions, m *v1.ObjectMeta, info *requestInfo) error {
	if p == nil {
		return nil
	}
	if p.UID != nil && *p.UID != m.UID {
		return v1.NewError(v1.ReasonConflict, "precondition failed for %s %q: uid is %s, not %s", info.Kind.Singular, m.Name, m.UID, *p.UID)
	}
	if p.ResourceVersion != nil && *p.ResourceVersion != m.ResourceVersion {
		return v1.NewError(v1.ReasonConflict, "precondition failed for %s %q: resourceVersion is %s, not %s", info.Kind.Singular, m.Name, m.ResourceVersion, *p.ResourceVersion)
	}
	return nil
}

func protectedNamespace(name string) bool {
	return name == v1.NamespaceDefault || name == v1.NamespaceSystem || name == v1.NamespaceLeases
}

func formatRV(rev int64) string { return strconv.FormatInt(rev, 10) }

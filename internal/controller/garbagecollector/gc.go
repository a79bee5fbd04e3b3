// Package garbagecollector deletes objects whose owners are gone and
// carries out the Orphan and Foreground deletion policies, as Kubernetes'
// garbage collector does:
//
//   - Background (default): the owner is deleted at once; every dependent
//     whose owners are all gone is then deleted here.
//   - Orphan: the API server adds the "orphan" finalizer; this controller
//     removes the owner's reference from each dependent, then the finalizer.
//   - Foreground: the API server adds "foregroundDeletion"; this controller
//     deletes the dependents and removes the finalizer once none is left.
//
// It watches every kind through informers and talks to the API only
// through the client.
package garbagecollector

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
)

// Finalizer names shared with the API server.
const (
	finalizerOrphan     = "orphan"
	finalizerForeground = "foregroundDeletion"
	indexOwner          = "owner"
)

// GC is the garbage collector.
type GC struct {
	c         *client.Client
	log       *slog.Logger
	ctrl      *controller.Controller
	informers map[string]*client.Informer[v1.Object] // by resource
}

// New builds a garbage collector over every kind the client knows.
func New(c *client.Client, log *slog.Logger, opts controller.Options) (*GC, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &GC{c: c, log: log.With("component", "garbagecollector"), informers: map[string]*client.Informer[v1.Object]{}}
	opts.Logger = g.log
	ctrl, err := controller.New("garbagecollector", g.sync, opts)
	if err != nil {
		return nil, err
	}
	g.ctrl = ctrl
	for _, k := range c.Registry().All() {
		if k.Resource == "events" {
			continue // events are never owners nor owned
		}
		inf := client.NewInformer(client.ForKind(c, k, ""), client.ListOptions{}, g.log)
		inf.AddIndexer(indexOwner, func(o v1.Object) []string {
			var uids []string
			for _, r := range o.GetObjectMeta().OwnerReferences {
				uids = append(uids, r.UID)
			}
			return uids
		})
		inf.AddHandler(g.handler(k))
		g.informers[k.Resource] = inf
	}
	return g, nil
}

// Run runs the informers and the controller until ctx ends.
func (g *GC) Run(ctx context.Context) {
	for _, inf := range g.informers {
		go inf.Run(ctx)
	}
	for _, inf := range g.informers {
		if !inf.WaitForSync(ctx) {
			return
		}
	}
	g.ctrl.Run(ctx)
}

// key is "resource|namespace/name".
func key(k *v1.Kind, o v1.Object) string {
	m := o.GetObjectMeta()
	if m.Namespace == "" {
		return k.Resource + "|" + m.Name
	}
	return k.Resource + "|" + m.Namespace + "/" + m.Name
}

func (g *GC) handler(k *v1.Kind) client.EventHandler {
	return client.HandlerFuncs{
		AddFunc: func(obj any) { g.consider(k, obj.(v1.Object)) },
		UpdateFunc: func(_, obj any) {
			g.consider(k, obj.(v1.Object))
		},
		DeleteFunc: func(obj any) {
			o := obj.(v1.Object)
			g.enqueueDependents(o.GetObjectMeta().UID)
			g.enqueueOwners(o)
		},
	}
}

// consider enqueues an object that may need work: it has owners, or it is
// being deleted with a policy this controller carries out.
func (g *GC) consider(k *v1.Kind, o v1.Object) {
	m := o.GetObjectMeta()
	if len(m.OwnerReferences) > 0 {
		g.ctrl.Enqueue(key(k, o))
	}
	if m.DeletionTimestamp != nil && (m.HasFinalizer(finalizerOrphan) || m.HasFinalizer(finalizerForeground)) {
		g.ctrl.Enqueue(key(k, o))
		g.enqueueDependents(m.UID)
	}
}

func (g *GC) enqueueDependents(uid string) {
	for res, inf := range g.informers {
		k, _ := g.c.Registry().ByResource(res)
		for _, d := range inf.ByIndex(indexOwner, uid) {
			g.ctrl.Enqueue(key(k, d))
		}
	}
}

// enqueueOwners wakes owners waiting in foreground deletion.
func (g *GC) enqueueOwners(o v1.Object) {
	m := o.GetObjectMeta()
	for _, ref := range m.OwnerReferences {
		if owner, k := g.lookupOwner(ref, m.Namespace); owner != nil {
			g.ctrl.Enqueue(key(k, owner))
		}
	}
}

// lookupOwner finds the owner named by ref in the caches: in the
// dependent's namespace, or cluster-scoped. It checks the uid.
func (g *GC) lookupOwner(ref v1.OwnerReference, ns string) (v1.Object, *v1.Kind) {
	k, ok := g.c.Registry().ByKind(ref.Kind)
	if !ok {
		return nil, nil
	}
	inf := g.informers[k.Resource]
	if inf == nil {
		return nil, k
	}
	name := ref.Name
	if k.Namespaced {
		name = ns + "/" + ref.Name
	}
	o, found := inf.Get(name)
	if !found || o.GetObjectMeta().UID != ref.UID {
		return nil, k
	}
	return o, k
}

func (g *GC) sync(ctx context.Context, k string) error {
	res, nsName, _ := strings.Cut(k, "|")
	kind, ok := g.c.Registry().ByResource(res)
	if !ok {
		return nil
	}
	o, found := g.informers[res].Get(nsName)
	if !found {
		return nil
	}
	m := o.GetObjectMeta()
	if m.DeletionTimestamp != nil && m.HasFinalizer(finalizerOrphan) {
		return g.orphanDependents(ctx, kind, o)
	}
	if m.DeletionTimestamp != nil && m.HasFinalizer(finalizerForeground) {
		return g.deleteDependents(ctx, kind, o)
	}
	if len(m.OwnerReferences) > 0 {
		return g.collect(ctx, kind, o)
	}
	return nil
}

// collect deletes o when every owner is gone, or drops the references to
// the owners that are gone when some remain. An owner missing from the
// cache is confirmed with a live read before anything is deleted.
func (g *GC) collect(ctx context.Context, kind *v1.Kind, o v1.Object) error {
	m := o.GetObjectMeta()
	var live []v1.OwnerReference
	for _, ref := range m.OwnerReferences {
		exists, err := g.ownerExists(ctx, ref, m.Namespace)
		if err != nil {
			return err
		}
		if exists {
			live = append(live, ref)
		}
	}
	switch {
	case len(live) == len(m.OwnerReferences):
		return nil
	case len(live) == 0:
		// Only the version judged here is deleted: the cache may be
		// behind an update that dropped these owners or added a living
		// one (a PetSet adopting orphaned pods), and a newer version
		// comes through the informer to be judged again.
		uid, rv := m.UID, m.ResourceVersion
		_, err := client.ForKind(g.c, kind, m.Namespace).Delete(ctx, m.Name, client.DeleteOptions{
			PropagationPolicy: "Background", Preconditions: &client.Preconditions{UID: &uid, ResourceVersion: &rv}})
		if v1.IsNotFound(err) || v1.IsConflict(err) {
			return nil
		}
		if err == nil {
			g.log.Info("deleted object whose owners are gone", "kind", kind.Kind, "namespace", m.Namespace, "name", m.Name)
		}
		return err
	default:
		return g.setOwners(ctx, kind, o, live)
	}
}

func (g *GC) ownerExists(ctx context.Context, ref v1.OwnerReference, ns string) (bool, error) {
	if owner, _ := g.lookupOwner(ref, ns); owner != nil {
		return true, nil
	}
	k, ok := g.c.Registry().ByKind(ref.Kind)
	if !ok {
		return false, nil // a reference to a kind that does not exist is dangling
	}
	if !k.Namespaced {
		ns = ""
	}
	owner, err := client.ForKind(g.c, k, ns).Get(ctx, ref.Name)
	if v1.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("garbagecollector: read owner %s %s: %w", ref.Kind, ref.Name, err)
	}
	return owner.GetObjectMeta().UID == ref.UID, nil
}

// setOwners replaces o's owner references, conditioned on its revision.
func (g *GC) setOwners(ctx context.Context, kind *v1.Kind, o v1.Object, refs []v1.OwnerReference) error {
	m := o.GetObjectMeta()
	patch := map[string]any{"metadata": map[string]any{"ownerReferences": refs, "resourceVersion": m.ResourceVersion}}
	if len(refs) == 0 {
		patch["metadata"].(map[string]any)["ownerReferences"] = nil
	}
	b, _ := json.Marshal(patch)
	_, err := client.ForKind(g.c, kind, m.Namespace).Patch(ctx, m.Name, b)
	if v1.IsNotFound(err) {
		return nil
	}
	return err
}

// orphanDependents removes the owner's reference from every dependent,
// then the owner's orphan finalizer. The dependents are listed live, not
// from the caches: a dependent created just before the owner's deletion
// may not be in a cache yet, and once the finalizer is gone it would be
// collected as an object whose owners are gone instead of kept.
func (g *GC) orphanDependents(ctx context.Context, kind *v1.Kind, owner v1.Object) error {
	om := owner.GetObjectMeta()
	for res := range g.informers {
		dk, _ := g.c.Registry().ByResource(res)
		ns := "" // a cluster-scoped kind, or every namespace for a cluster-scoped owner
		if dk.Namespaced {
			ns = om.Namespace
		}
		list, err := client.ForKind(g.c, dk, ns).ListAll(ctx, client.ListOptions{})
		if err != nil {
			return fmt.Errorf("garbagecollector: list %s dependents of %s %s: %w", res, kind.Kind, om.Name, err)
		}
		for _, d := range list.Items {
			if err := g.orphan(ctx, dk, d, om.UID); err != nil {
				return err
			}
		}
	}
	return g.removeFinalizer(ctx, kind, owner, finalizerOrphan)
}

// orphan drops d's reference to the owner uid, if it has one.
func (g *GC) orphan(ctx context.Context, dk *v1.Kind, d v1.Object, uid string) error {
	var keep []v1.OwnerReference
	found := false
	for _, r := range d.GetObjectMeta().OwnerReferences {
		if r.UID == uid {
			found = true
			continue
		}
		keep = append(keep, r)
	}
	if !found {
		return nil
	}
	return g.setOwners(ctx, dk, d, keep)
}

// deleteDependents deletes the dependents of an owner in foreground
// deletion and removes its finalizer once they are all gone.
func (g *GC) deleteDependents(ctx context.Context, kind *v1.Kind, owner v1.Object) error {
	uid := owner.GetObjectMeta().UID
	remaining, stale := 0, false
	for res, inf := range g.informers {
		dk, _ := g.c.Registry().ByResource(res)
		for _, d := range inf.ByIndex(indexOwner, uid) {
			remaining++
			if d.GetObjectMeta().DeletionTimestamp != nil {
				continue
			}
			changed, err := g.deleteDependent(ctx, dk, d)
			if err != nil {
				return err
			}
			stale = stale || changed
		}
	}
	if stale {
		// A dependent's newer version may no longer name this owner;
		// then neither its update nor its deletion wakes the owner.
		return controller.RequeueAfter(time.Second)
	}
	if remaining > 0 {
		return nil // each dependent's deletion wakes the owner
	}
	return g.removeFinalizer(ctx, kind, owner, finalizerForeground)
}

// deleteDependent deletes, in foreground, the version of a dependent the
// cache holds, and only that one: the cache may be behind an update that
// dropped the owner (a claim the user chose to keep) or behind a new
// object of the same name. changed reports that the object is no longer
// that version.
func (g *GC) deleteDependent(ctx context.Context, dk *v1.Kind, d v1.Object) (changed bool, err error) {
	dm := d.GetObjectMeta()
	uid, rv := dm.UID, dm.ResourceVersion
	_, err = client.ForKind(g.c, dk, dm.Namespace).Delete(ctx, dm.Name, client.DeleteOptions{
		PropagationPolicy: "Foreground", Preconditions: &client.Preconditions{UID: &uid, ResourceVersion: &rv}})
	switch {
	case v1.IsNotFound(err):
		return false, nil
	case v1.IsConflict(err):
		return true, nil
	}
	return false, err
}

func (g *GC) removeFinalizer(ctx context.Context, kind *v1.Kind, o v1.Object, f string) error {
	m := o.GetObjectMeta()
	var keep []string
	for _, x := range m.Finalizers {
		if x != f {
			keep = append(keep, x)
		}
	}
	patch := map[string]any{"metadata": map[string]any{"finalizers": keep, "resourceVersion": m.ResourceVersion}}
	b, _ := json.Marshal(patch)
	_, err := client.ForKind(g.c, kind, m.Namespace).Patch(ctx, m.Name, b)
	if v1.IsNotFound(err) {
		return nil
	}
	return err
}

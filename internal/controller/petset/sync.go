package petset

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/labels"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
)

// sync converges one set: it adopts its orphan revisions and pods and
// releases the pods it no longer selects, runs the control algorithm on
// what the caches (and its own recent writes) show, and writes the
// status.
func (pc *Controller) sync(ctx context.Context, key string) error {
	setWrites := pc.api.sets.pending(pc.sets.ResourceVersion())
	set, ok := pc.sets.Get(key)
	if !ok {
		return nil
	}
	if w, ok := setWrites[key]; ok && !w.gone && w.obj.UID == set.UID {
		// The cache has not caught up with the status written last:
		// start from it, or the next status write would conflict.
		set = w.obj
	}
	sel, err := set.Spec.Selector.AsSelector()
	if err != nil || set.Spec.Selector == nil {
		// Validation rejects such a set; retrying cannot help.
		controller.LoggerFrom(ctx).Warn("petset has an invalid selector", "err", err)
		return nil
	}
	obs, err := pc.observe(ctx, set, sel)
	if err != nil {
		return err
	}
	status, wait, err := pc.control.update(ctx, obs, pc.clock.Now())
	if status != nil && !sameStatus(&set.Status, status) {
		next := v1.Clone(set)
		next.Status = *status
		got, serr := client.For[*v1.PetSet](pc.c, set.Namespace).UpdateStatus(ctx, next)
		switch {
		case serr == nil:
			pc.api.sets.wrote(got)
		case !v1.IsNotFound(serr) && err == nil:
			err = fmt.Errorf("petset: %s: update status: %w", key, serr)
		}
	}
	if err != nil {
		return err
	}
	if wait > 0 {
		return controller.RequeueAfter(wait)
	}
	return nil
}

// observe reads what the caches show of set, through the controller's
// recent writes, after adopting and releasing. Each kind's pending writes
// are read before its cache (see recent.pending).
func (pc *Controller) observe(ctx context.Context, set *v1.PetSet, sel labels.Selector) (observed, error) {
	obs := observed{set: set, claims: map[string]*v1.PersistentVolumeClaim{}}
	revWrites := pc.api.revs.pending(pc.revs.ResourceVersion())
	revs := overlay(pc.revs.ByIndex(indexNamespace, set.Namespace), revWrites,
		func(r *v1.ControllerRevision) bool { return r.Namespace == set.Namespace })
	podWrites := pc.api.pods.pending(pc.pods.ResourceVersion())
	pods := overlay(pc.pods.ByIndex(indexNamespace, set.Namespace), podWrites,
		func(p *v1.Pod) bool { return p.Namespace == set.Namespace })
	claimWrites := pc.api.claims.pending(pc.claims.ResourceVersion())
	for _, c := range overlay(pc.claims.ByIndex(indexNamespace, set.Namespace), claimWrites,
		func(c *v1.PersistentVolumeClaim) bool { return c.Namespace == set.Namespace }) {
		obs.claims[c.Name] = c
	}
	var err error
	if obs.revisions, err = pc.claimRevisions(ctx, set, sel, revs); err != nil {
		return obs, err
	}
	obs.pods, err = pc.claimPods(ctx, set, sel, pods)
	return obs, err
}

// claimRevisions returns the revisions set controls after adopting the
// orphans its selector matches.
func (pc *Controller) claimRevisions(ctx context.Context, set *v1.PetSet, sel labels.Selector, revs []*v1.ControllerRevision) ([]*v1.ControllerRevision, error) {
	var owned []*v1.ControllerRevision
	for _, r := range revs {
		switch {
		case v1.IsControlledBy(r, set):
			owned = append(owned, r)
		case v1.GetControllerOf(r) == nil && set.DeletionTimestamp == nil && sel.Matches(labels.Set(r.Labels)):
			got, err := adopt(ctx, pc, set, r, client.For[*v1.ControllerRevision](pc.c, set.Namespace))
			if err != nil {
				return nil, err
			}
			if got != nil {
				pc.api.revs.wrote(got)
				owned = append(owned, got)
			}
		}
	}
	return owned, nil
}

// claimPods returns the set's pets after adopting the orphan pods its
// selector matches that are named as its pets, and releasing the pods it
// controls that no longer are (a set being deleted keeps what it has). A
// pod being deleted is not adopted: it is on its way out.
func (pc *Controller) claimPods(ctx context.Context, set *v1.PetSet, sel labels.Selector, pods []*v1.Pod) ([]*v1.Pod, error) {
	var owned []*v1.Pod
	for _, p := range pods {
		_, member := set.OrdinalOf(p)
		mine := member && sel.Matches(labels.Set(p.Labels))
		var err error
		switch {
		case v1.IsControlledBy(p, set) && (mine || set.DeletionTimestamp != nil):
			owned = append(owned, p)
		case v1.IsControlledBy(p, set):
			err = pc.release(ctx, set, p)
		case v1.GetControllerOf(p) == nil && mine && !isTerminating(p) && set.DeletionTimestamp == nil:
			var got *v1.Pod
			if got, err = adopt(ctx, pc, set, p, client.For[*v1.Pod](pc.c, set.Namespace)); got != nil {
				pc.api.pods.wrote(got)
				owned = append(owned, got)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return owned, nil
}

// adopt makes set the controller of the orphan o, if o has not changed
// since it was cached and set is still there (reread from the server: the
// cache may not show yet that it was deleted, and adopting for a set on
// its way out would orphan o again). nil means o was not adopted.
func adopt[T v1.Object](ctx context.Context, pc *Controller, set *v1.PetSet, o T, res *client.Resource[T]) (T, error) {
	var none T
	fresh, err := client.For[*v1.PetSet](pc.c, set.Namespace).Get(ctx, set.Name)
	if v1.IsNotFound(err) {
		return none, nil
	}
	if err != nil {
		return none, fmt.Errorf("petset: %s: recheck before adopting %s: %w", v1.ObjectKey(set), o.GetObjectMeta().Name, err)
	}
	if fresh.UID != set.UID || fresh.DeletionTimestamp != nil {
		return none, nil
	}
	m := o.GetObjectMeta()
	refs := append(append([]v1.OwnerReference(nil), m.OwnerReferences...), *v1.NewControllerRef(set, pc.kinds.set))
	got, err := patchOwners(ctx, res, o, refs)
	if v1.IsNotFound(err) || v1.IsConflict(err) {
		// Gone or changed: the next sync sees it as it is now.
		return none, nil
	}
	if err != nil {
		return none, fmt.Errorf("petset: %s: adopt %s: %w", v1.ObjectKey(set), m.Name, err)
	}
	return got, nil
}

// release drops set's reference from a pod that is no longer its pet.
func (pc *Controller) release(ctx context.Context, set *v1.PetSet, p *v1.Pod) error {
	var refs []v1.OwnerReference
	for _, r := range p.OwnerReferences {
		if r.UID != set.UID {
			refs = append(refs, r)
		}
	}
	got, err := patchOwners(ctx, client.For[*v1.Pod](pc.c, set.Namespace), p, refs)
	if v1.IsNotFound(err) || v1.IsConflict(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("petset: %s: release pod %s: %w", v1.ObjectKey(set), p.Name, err)
	}
	pc.api.pods.wrote(got)
	return nil
}

// patchOwners sets an object's owner references, conditional on its
// cached resourceVersion so that a concurrent change is never overwritten
// (nil refs removes them all).
func patchOwners[T v1.Object](ctx context.Context, res *client.Resource[T], o T, refs []v1.OwnerReference) (T, error) {
	m := o.GetObjectMeta()
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": refs, "resourceVersion": m.ResourceVersion,
	}})
	if err != nil {
		var none T
		return none, err
	}
	return res.Patch(ctx, m.Name, patch)
}

package deployment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
)

// sync converges one deployment: it claims the pods its selector matches,
// carries out the next step of the plan unless earlier steps are not yet
// in the cache, and writes the status.
func (dc *Controller) sync(ctx context.Context, key string) error {
	d, ok := dc.deployments.Get(key)
	if !ok {
		dc.exp.forget(key)
		return nil
	}
	pods, err := dc.claimPods(ctx, d)
	if err != nil {
		return err
	}
	now := dc.clock.Now()
	ps := classify(templateHash(d), pods)
	// A deployment being deleted only reports: the garbage collector
	// removes its pods, and new ones would race it.
	if d.DeletionTimestamp == nil && dc.exp.satisfied(key) {
		if err := dc.apply(ctx, key, d, ps, decide(d, ps, now)); err != nil {
			return err
		}
	}
	return dc.syncStatus(ctx, key, d, ps, now)
}

// claimPods returns the pods d controls after adopting the orphans its
// selector matches and releasing the pods it no longer matches.
func (dc *Controller) claimPods(ctx context.Context, d *v1.Deployment) ([]*v1.Pod, error) {
	sel, err := d.Spec.Selector.AsSelector()
	if err != nil {
		return nil, fmt.Errorf("deployment: %s: spec.selector: %w", v1.ObjectKey(d), err)
	}
	var owned []*v1.Pod
	for _, p := range dc.pods.ByIndex(indexController, d.UID) {
		if sel.Matches(labels.Set(p.Labels)) || p.DeletionTimestamp != nil || d.DeletionTimestamp != nil {
			owned = append(owned, p)
			continue
		}
		if err := dc.release(ctx, d, p); err != nil {
			return nil, err
		}
	}
	if d.DeletionTimestamp != nil {
		return owned, nil
	}
	checked, canAdopt := false, false
	for _, p := range dc.pods.ByIndex(indexNamespace, d.Namespace) {
		if v1.GetControllerOf(p) != nil || p.DeletionTimestamp != nil || v1.IsPodTerminal(p) || !sel.Matches(labels.Set(p.Labels)) {
			continue
		}
		if !checked {
			if canAdopt, err = dc.canAdopt(ctx, d); err != nil {
				return nil, err
			}
			checked = true
		}
		if !canAdopt {
			break
		}
		adopted, err := dc.adopt(ctx, d, p)
		if err != nil {
			return nil, err
		}
		if adopted != nil {
			owned = append(owned, adopted)
		}
	}
	return owned, nil
}

// canAdopt rereads d from the server before it takes pods: the cache may
// not show yet that d was deleted (or deleted and recreated under a new
// UID), and adopting pods for a deployment on its way out would orphan
// them again.
func (dc *Controller) canAdopt(ctx context.Context, d *v1.Deployment) (bool, error) {
	fresh, err := client.For[*v1.Deployment](dc.c, d.Namespace).Get(ctx, d.Name)
	if v1.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("deployment: %s: recheck before adopting pods: %w", v1.ObjectKey(d), err)
	}
	return fresh.UID == d.UID && fresh.DeletionTimestamp == nil, nil
}

// adopt makes d the controller of the orphan pod p, if p has not changed
// since it was cached; nil means p is gone.
func (dc *Controller) adopt(ctx context.Context, d *v1.Deployment, p *v1.Pod) (*v1.Pod, error) {
	refs := append(append([]v1.OwnerReference(nil), p.OwnerReferences...), *v1.NewControllerRef(d, dc.kind))
	got, err := dc.patchOwners(ctx, p, refs)
	if v1.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("deployment: %s: adopt pod %s: %w", v1.ObjectKey(d), p.Name, err)
	}
	return got, nil
}

// release drops d's reference from a pod its selector no longer matches.
func (dc *Controller) release(ctx context.Context, d *v1.Deployment, p *v1.Pod) error {
	var refs []v1.OwnerReference
	for _, r := range p.OwnerReferences {
		if r.UID != d.UID {
			refs = append(refs, r)
		}
	}
	if _, err := dc.patchOwners(ctx, p, refs); err != nil && !v1.IsNotFound(err) {
		return fmt.Errorf("deployment: %s: release pod %s: %w", v1.ObjectKey(d), p.Name, err)
	}
	return nil
}

// patchOwners sets the pod's owner references, conditional on its cached
// resourceVersion so that a concurrent change is never overwritten (nil
// refs removes them all).
func (dc *Controller) patchOwners(ctx context.Context, p *v1.Pod, refs []v1.OwnerReference) (*v1.Pod, error) {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": refs, "resourceVersion": p.ResourceVersion,
	}})
	if err != nil {
		return nil, err
	}
	return client.For[*v1.Pod](dc.c, p.Namespace).Patch(ctx, p.Name, patch)
}

// syncStatus writes d's status if it changed, and asks to be synced again
// when time alone will change it: a pod becomes available after
// minReadySeconds, or the progress deadline passes.
func (dc *Controller) syncStatus(ctx context.Context, key string, d *v1.Deployment, ps podSet, now time.Time) error {
	s := calculateStatus(d, ps, now)
	if !sameStatus(&d.Status, &s) {
		nd := v1.Clone(d)
		nd.Status = s
		_, err := client.For[*v1.Deployment](dc.c, d.Namespace).UpdateStatus(ctx, nd)
		if v1.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("deployment: %s: update status: %w", key, err)
		}
	}
	wait := nextAvailable(ps.active(), d.Spec.MinReadySeconds, now)
	if w, ok := untilDeadline(d, getCondition(s.Conditions, v1.DeploymentProgressing), now); ok && w >= 0 {
		// Timestamps have whole seconds: look again just after the
		// deadline, not at it.
		w += time.Second
		if wait == 0 || w < wait {
			wait = w
		}
	}
	if wait > 0 {
		return controller.RequeueAfter(wait)
	}
	return nil
}

// sameStatus compares statuses as they are stored.
func sameStatus(a, b *v1.DeploymentStatus) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// apply carries out a plan: expectations first, so that the informer's
// reports of these changes are counted, then deletions, then creations.
func (dc *Controller) apply(ctx context.Context, key string, d *v1.Deployment, ps podSet, p plan) error {
	if p.create == 0 && len(p.delete) == 0 {
		return nil
	}
	keys := make([]string, len(p.delete))
	for i, pod := range p.delete {
		keys[i] = v1.ObjectKey(pod)
	}
	controller.LoggerFrom(ctx).Debug("converging pods", "create", p.create, "delete", keys,
		"updated", len(ps.updated), "old", len(ps.old), "terminating", len(ps.terminating))
	dc.exp.expect(key, p.create, keys)
	return errors.Join(dc.deletePods(ctx, key, d, ps, p.delete), dc.createPods(ctx, key, d, ps, p))
}

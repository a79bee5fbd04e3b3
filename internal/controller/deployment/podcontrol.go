package deployment

import (
	"context"
	"errors"
	"fmt"
	"sort"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// createPods creates the plan's pods one by one. When one fails the rest
// are not tried (the next sync retries with back-off), and their
// expectations are dropped since the informer will never report them.
func (dc *Controller) createPods(ctx context.Context, key string, d *v1.Deployment, ps podSet, p plan) error {
	if p.create == 0 {
		return nil
	}
	hash := ps.hash
	if p.copyFrom != nil {
		hash = p.copyFrom.Labels[v1.LabelPodTemplateHash]
	}
	pods := client.For[*v1.Pod](dc.c, d.Namespace)
	created := 0
	var err error
	for ; created < p.create; created++ {
		pod := newPod(d, dc.kind, hash)
		if p.copyFrom != nil {
			pod = copyPod(d, dc.kind, p.copyFrom)
		}
		if _, err = pods.Create(ctx, pod); err != nil {
			break
		}
	}
	for range p.create - created {
		dc.exp.creationObserved(key)
	}
	if created > 0 {
		from := countHash(ps.active(), hash)
		dc.eventf(ctx, d, v1.EventTypeNormal, ReasonScalingUp,
			"Scaled up pods of template %s from %d to %d", hash, from, from+created)
	}
	if err != nil {
		dc.eventf(ctx, d, v1.EventTypeWarning, ReasonFailedCreate, "Error creating pod: %v", err)
		return fmt.Errorf("deployment: %s: create pod: %w", key, err)
	}
	return nil
}

// deletePods deletes the plan's pods, each only if it is still the pod
// that was planned (same UID).
func (dc *Controller) deletePods(ctx context.Context, key string, d *v1.Deployment, ps podSet, del []*v1.Pod) error {
	pods := client.For[*v1.Pod](dc.c, d.Namespace)
	var errs []error
	deleted := map[string]int{} // by template hash, active pods only
	for _, pod := range del {
		uid := pod.UID
		_, err := pods.Delete(ctx, pod.Name, client.DeleteOptions{Preconditions: &client.Preconditions{UID: &uid}})
		if err != nil && !v1.IsNotFound(err) {
			// Neither the timestamp nor the removal will be reported.
			dc.exp.deletionObserved(key, v1.ObjectKey(pod))
			dc.eventf(ctx, d, v1.EventTypeWarning, ReasonFailedDelete, "Error deleting pod %s: %v", pod.Name, err)
			errs = append(errs, fmt.Errorf("deployment: %s: delete pod %s: %w", key, pod.Name, err))
			continue
		}
		if v1.IsNotFound(err) {
			// Already gone: its removal may have been reported before
			// this sync's expectations were set.
			dc.exp.deletionObserved(key, v1.ObjectKey(pod))
			continue
		}
		if v1.IsPodTerminal(pod) {
			dc.eventf(ctx, d, v1.EventTypeNormal, ReasonReplacingFinishedPod,
				"Deleted pod %s: it has %s", pod.Name, pod.Status.Phase)
			continue
		}
		deleted[pod.Labels[v1.LabelPodTemplateHash]]++
	}
	hashes := make([]string, 0, len(deleted))
	for h := range deleted {
		hashes = append(hashes, h)
	}
	sort.Strings(hashes)
	for _, h := range hashes {
		from := countHash(ps.active(), h)
		dc.eventf(ctx, d, v1.EventTypeNormal, ReasonScalingDown,
			"Scaled down pods of template %s from %d to %d", h, from, from-deleted[h])
	}
	return errors.Join(errs...)
}

// countHash counts the pods of one template.
func countHash(pods []*v1.Pod, hash string) int {
	n := 0
	for _, p := range pods {
		if p.Labels[v1.LabelPodTemplateHash] == hash {
			n++
		}
	}
	return n
}

package nodelifecycle

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
)

// syncPod marks a pod on a not-Ready node not Ready, and deletes it once
// its node has been tainted for longer than the pod tolerates.
func (n *Controller) syncPod(ctx context.Context, key string) error {
	pod, ok := n.pods.Get(key)
	if !ok || pod.Spec.NodeName == "" || pod.DeletionTimestamp != nil || v1.IsPodTerminal(pod) {
		return nil
	}
	node, ok := n.nodes.Get(pod.Spec.NodeName)
	if !ok {
		return nil
	}
	if s := readyStatus(node); s == v1.ConditionFalse || s == v1.ConditionUnknown {
		var err error
		if pod, ok, err = n.markPodNotReady(ctx, pod); err != nil || !ok {
			return err
		}
	}
	if isPet(pod) {
		// A pet is replaced only once its node is fenced; deleting it
		// here could leave two pods holding one identity.
		return nil
	}
	at, taint, ok := evictionTime(pod, node, n.cfg.EvictionTimeout)
	if !ok {
		return nil
	}
	if now := n.clock.Now(); now.Before(at) {
		return controller.RequeueAfter(at.Sub(now))
	}
	return n.evict(ctx, pod, node, taint)
}

// markPodNotReady sets the pod's Ready and ContainersReady conditions
// False because of its node. ok is false when the pod is gone.
func (n *Controller) markPodNotReady(ctx context.Context, pod *v1.Pod) (*v1.Pod, bool, error) {
	now := v1.NewTime(n.clock.Now())
	msg := fmt.Sprintf("Node %s is not ready", pod.Spec.NodeName)
	pods := client.For[*v1.Pod](n.c, pod.Namespace)
	changed := false
	out, ok, err := mutateAndWrite(ctx, pods, pod, writeStatus, func(p *v1.Pod) bool {
		changed = false
		for _, t := range []v1.PodConditionType{v1.PodReady, v1.PodContainersReady} {
			if c := v1.GetPodCondition(&p.Status, t); c != nil && c.Status == v1.ConditionFalse {
				continue
			}
			v1.SetPodCondition(&p.Status, v1.PodCondition{Type: t, Status: v1.ConditionFalse, Reason: ReasonNodeNotReady, Message: msg, LastTransitionTime: now})
			changed = true
		}
		return changed
	})
	if err != nil || !ok {
		return nil, ok, err
	}
	if changed {
		n.log.Info("pod marked not ready", "pod", v1.ObjectKey(pod), "node", pod.Spec.NodeName)
		n.events.Record(ctx, out, "Pod", "v1", v1.EventTypeWarning, ReasonNodeNotReady, msg)
	}
	return out, true, nil
}

// evict deletes the pod gracefully. The pod stays Terminating until its
// node's agent confirms it stopped, which an unreachable agent cannot: its
// controller replaces it meanwhile.
func (n *Controller) evict(ctx context.Context, pod *v1.Pod, node *v1.Node, taint v1.Taint) error {
	// Only the version judged: the cache may be behind an adoption that
	// made the pod a pet (a PetSet re-created after an orphaning delete),
	// and a newer version comes through the informer. No grace period is
	// named, so the API server gives the pod its own (at least a second:
	// the pod stays until its node has stopped it).
	uid, rv := pod.UID, pod.ResourceVersion
	opts := client.DeleteOptions{Preconditions: &client.Preconditions{UID: &uid, ResourceVersion: &rv}}
	_, err := client.For[*v1.Pod](n.c, pod.Namespace).Delete(ctx, pod.Name, opts)
	switch {
	case v1.IsNotFound(err) || v1.IsConflict(err):
		return nil // gone, changed (judged again), or replaced by a namesake
	case err != nil:
		return fmt.Errorf("nodelifecycle: evict pod %s: %w", v1.ObjectKey(pod), err)
	}
	n.log.Info("evicted pod from tainted node", "pod", v1.ObjectKey(pod), "node", node.Name, "taint", taint.Key)
	n.events.Record(ctx, pod, "Pod", "v1", v1.EventTypeNormal, ReasonTaintManagerEviction,
		fmt.Sprintf("Marking for deletion Pod %s: node %s has taint %s:%s", v1.ObjectKey(pod), node.Name, taint.Key, taint.Effect))
	return nil
}

// isPet reports whether the pod holds a pet's identity: a PetSet (or
// StatefulSet) controls it, or it carries a pet's pod-name label — an
// orphaned pet, which a re-created set adopts.
func isPet(pod *v1.Pod) bool {
	ref := v1.GetControllerOf(pod)
	return ref != nil && (ref.Kind == "PetSet" || ref.Kind == "StatefulSet") || pod.Labels[v1.PetSetPodNameLabel] != ""
}

// evictionTime is when the pod must leave the node: for each eviction
// taint, the time it was added plus how long the pod tolerates it, the
// earliest of them. ok is false when the pod may stay for ever (or the
// node has no eviction taint yet stamped with a time).
func evictionTime(pod *v1.Pod, node *v1.Node, timeout time.Duration) (at time.Time, why v1.Taint, ok bool) {
	for _, t := range evictionTaints(node) {
		if t.TimeAdded == nil {
			continue // the node's sync stamps it and requeues the pods
		}
		d, forever := tolerationTime(pod.Spec.Tolerations, t, timeout)
		if forever {
			continue
		}
		if due := t.TimeAdded.Add(d); !ok || due.Before(at) {
			at, why, ok = due, t, true
		}
	}
	return at, why, ok
}

// tolerationTime is how long tolerations let a pod stay on a node with
// taint: the shortest tolerationSeconds among the tolerations that match
// it (a toleration without one matches for ever), or def when none does.
func tolerationTime(tolerations []v1.Toleration, taint v1.Taint, def time.Duration) (d time.Duration, forever bool) {
	matched := false
	forever = true
	for _, tol := range tolerations {
		if !tolerates(tol, taint) {
			continue
		}
		matched = true
		if tol.TolerationSeconds == nil {
			continue
		}
		s := time.Duration(max(*tol.TolerationSeconds, 0)) * time.Second
		if forever || s < d {
			d, forever = s, false
		}
	}
	if !matched {
		return def, false
	}
	return d, forever
}

// tolerates reports whether tol matches taint, as Kubernetes matches them:
// an empty effect matches every effect, an empty key with Exists every key.
func tolerates(tol v1.Toleration, taint v1.Taint) bool {
	if tol.Effect != "" && tol.Effect != taint.Effect {
		return false
	}
	if tol.Key != "" && tol.Key != taint.Key {
		return false
	}
	switch tol.Operator {
	case v1.TolerationOpExists:
		return true
	case v1.TolerationOpEqual, "":
		return tol.Key != "" && tol.Value == taint.Value
	}
	return false
}

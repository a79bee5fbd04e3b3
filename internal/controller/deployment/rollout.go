package deployment

import (
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// plan is what one sync does to a deployment's pods. It is decided from
// the cache alone, so it can be tested without a cluster.
type plan struct {
	// create is the number of pods to create.
	create int
	// copyFrom, when set, is a pod whose template the new pods copy
	// instead of the deployment's (a paused deployment scaling an old
	// template); nil means the deployment's current template.
	copyFrom *v1.Pod
	// delete are the pods to delete.
	delete []*v1.Pod
}

// decide chooses the next step towards the deployment's desired state.
// Finished pods are always deleted, so that they are replaced; the rest
// depends on the strategy. At most one kind of step is taken per sync:
// after creating, the rollout waits to see the new pods before it deletes.
func decide(d *v1.Deployment, ps podSet, now time.Time) plan {
	var step plan
	switch {
	case d.Spec.Paused:
		step = scalePaused(d, ps)
	case d.Spec.Strategy.Type == v1.RecreateDeploymentStrategyType:
		step = recreate(d, ps)
	default:
		step = rolling(d, ps, now)
	}
	step.delete = append(append([]*v1.Pod(nil), ps.terminal...), step.delete...)
	return step
}

// scale creates or deletes pods until there are replicas of them.
func scale(pods []*v1.Pod, replicas int32, hash string) plan {
	n := int(replicas) - len(pods)
	switch {
	case n > 0:
		return plan{create: n}
	case n < 0:
		return plan{delete: rankForDeletion(pods, hash)[:-n]}
	}
	return plan{}
}

// scalePaused keeps the number of pods at replicas without rolling: extra
// pods are deleted by rank, missing ones are created from the current
// template if it has pods (or nothing has), else from the newest old pod.
func scalePaused(d *v1.Deployment, ps podSet) plan {
	p := scale(ps.active(), replicasOf(d), ps.hash)
	if p.create > 0 && len(ps.updated) == 0 && len(ps.old) > 0 {
		p.copyFrom = newest(ps.old)
	}
	return p
}

// recreate deletes every old pod, waits until none is left, then scales
// the current template.
func recreate(d *v1.Deployment, ps podSet) plan {
	if len(ps.old) > 0 {
		return plan{delete: ps.old}
	}
	if ps.oldRunning() {
		return plan{}
	}
	return scale(ps.updated, replicasOf(d), ps.hash)
}

// rolling replaces old pods with updated ones, never exceeding replicas +
// maxSurge active pods nor dropping below replicas - maxUnavailable
// available pods by its own deletions. Pods being deleted count towards
// neither bound: a pod stuck on a dead node must not block the rollout.
func rolling(d *v1.Deployment, ps podSet, now time.Time) plan {
	r := replicasOf(d)
	updated, old := int32(len(ps.updated)), int32(len(ps.old))
	if updated > r || old == 0 {
		return scale(ps.updated, r, ps.hash)
	}
	surge, unavailable := fenceposts(d)
	if n := min(r+surge-updated-old, r-updated); n > 0 {
		return plan{create: int(n)}
	}
	return scaleDownOld(d, ps, now, r-unavailable)
}

// scaleDownOld deletes old pods as far as availability allows, as
// Kubernetes scales down old ReplicaSets: first old pods that are not
// available (they cost no availability), then available ones while more
// than minAvailable pods are available. Updated pods that are not yet
// available are counted as if they will be, so the budget never lets the
// total fall short once they are.
func scaleDownOld(d *v1.Deployment, ps podSet, now time.Time, minAvailable int32) plan {
	mrs := d.Spec.MinReadySeconds
	newAvailable := countAvailable(ps.updated, mrs, now)
	newUnavailable := int32(len(ps.updated)) - newAvailable
	budget := int32(len(ps.updated)+len(ps.old)) - minAvailable - newUnavailable
	if budget <= 0 {
		return plan{}
	}
	var unhealthy, healthy []*v1.Pod
	for _, p := range rankForDeletion(ps.old, ps.hash) {
		if v1.IsPodAvailable(p, mrs, now) {
			healthy = append(healthy, p)
		} else {
			unhealthy = append(unhealthy, p)
		}
	}
	n := min(budget, int32(len(unhealthy)))
	del := append([]*v1.Pod(nil), unhealthy[:n]...)
	budget -= n
	available := newAvailable + int32(len(healthy))
	if n := min(budget, available-minAvailable, int32(len(healthy))); n > 0 {
		del = append(del, healthy[:n]...)
	}
	return plan{delete: del}
}

// newest is the most recently created pod.
func newest(pods []*v1.Pod) *v1.Pod {
	best := pods[0]
	for _, p := range pods[1:] {
		if created(p).After(created(best)) || created(p).Equal(created(best)) && p.Name > best.Name {
			best = p
		}
	}
	return best
}

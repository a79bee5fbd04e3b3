package petset

import (
	"encoding/json"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// status is the set's status after the round's steps, counted as
// Kubernetes counts it: every pod that exists is a replica (terminating
// ones too), pods being deleted are neither current nor updated, and a
// rolling update that has updated every pet, all Ready, makes the update
// revision current.
func (r *round) status(collisions int32) *v1.PetSetStatus {
	s := &v1.PetSetStatus{
		ObservedGeneration: r.set.Generation,
		CurrentRevision:    r.current.Name,
		UpdateRevision:     r.update.Name,
		CollisionCount:     &collisions,
		Conditions:         r.set.Status.Conditions,
	}
	count(s, r.set.Spec.MinReadySeconds, r.now, r.pets)
	count(s, r.set.Spec.MinReadySeconds, r.now, r.condemned)
	if r.set.Spec.UpdateStrategy.Type != v1.OnDeletePetSetStrategyType &&
		s.UpdatedReplicas == s.Replicas && s.ReadyReplicas == s.Replicas {
		s.CurrentReplicas = s.UpdatedReplicas
		s.CurrentRevision = s.UpdateRevision
	}
	return s
}

// deletingStatus is the status of a set being deleted: its pods counted
// against the revisions its status last named.
func deletingStatus(set *v1.PetSet, pods []*v1.Pod, now time.Time) *v1.PetSetStatus {
	s := v1.Clone(set).Status
	s.ObservedGeneration = set.Generation
	s.Replicas, s.ReadyReplicas, s.AvailableReplicas, s.CurrentReplicas, s.UpdatedReplicas = 0, 0, 0, 0, 0
	count(&s, set.Spec.MinReadySeconds, now, pods)
	return &s
}

// count adds pods (nil entries are pets without a pod) to the status.
func count(s *v1.PetSetStatus, minReadySeconds int32, now time.Time, pods []*v1.Pod) {
	for _, p := range pods {
		if p == nil {
			continue
		}
		s.Replicas++
		if isRunningAndReady(p) {
			s.ReadyReplicas++
			if v1.IsPodAvailable(p, minReadySeconds, now) {
				s.AvailableReplicas++
			}
		}
		if isTerminating(p) {
			continue
		}
		rev := revisionOf(p)
		if rev == s.CurrentRevision {
			s.CurrentReplicas++
		}
		if rev == s.UpdateRevision {
			s.UpdatedReplicas++
		}
	}
}

// nextAvailable is how long until the first pet that is Ready, but not
// for minReadySeconds yet, becomes available; zero if none is waiting.
func (r *round) nextAvailable() time.Duration {
	mrs := r.set.Spec.MinReadySeconds
	if mrs == 0 {
		return 0
	}
	var next time.Duration
	for _, p := range append(append([]*v1.Pod(nil), r.pets...), r.condemned...) {
		if p == nil || isTerminating(p) {
			continue
		}
		c := v1.GetPodCondition(&p.Status, v1.PodReady)
		if c == nil || c.Status != v1.ConditionTrue || c.LastTransitionTime == nil {
			continue
		}
		wait := c.LastTransitionTime.Add(time.Duration(mrs) * time.Second).Sub(r.now)
		if wait > 0 && (next == 0 || wait < next) {
			next = wait
		}
	}
	return next
}

// sameStatus compares statuses as they are stored.
func sameStatus(a, b *v1.PetSetStatus) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

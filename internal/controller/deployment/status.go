package deployment

import (
	"fmt"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// Reasons of the deployment conditions. Kubernetes names ReplicaSets
// where Kennel, which has none, names pods.
const (
	// ReasonMinimumReplicasAvailable: Available=True, at least replicas -
	// maxUnavailable pods are available.
	ReasonMinimumReplicasAvailable = "MinimumReplicasAvailable"
	// ReasonMinimumReplicasUnavailable: Available=False.
	ReasonMinimumReplicasUnavailable = "MinimumReplicasUnavailable"
	// ReasonNewPodsAvailable: Progressing=True, the rollout is complete:
	// every pod runs the current template and is available.
	ReasonNewPodsAvailable = "NewPodsAvailable"
	// ReasonPodsUpdating: Progressing=True, the rollout is under way and
	// made progress within the progress deadline.
	ReasonPodsUpdating = "PodsUpdating"
	// ReasonProgressDeadlineExceeded: Progressing=False, the rollout made
	// no progress for progressDeadlineSeconds.
	ReasonProgressDeadlineExceeded = "ProgressDeadlineExceeded"
	// ReasonDeploymentPaused: Progressing=Unknown, spec.paused is set.
	ReasonDeploymentPaused = "DeploymentPaused"
)

// calculateStatus is the status of d given its pods at now.
func calculateStatus(d *v1.Deployment, ps podSet, now time.Time) v1.DeploymentStatus {
	active := ps.active()
	r := replicasOf(d)
	s := v1.DeploymentStatus{
		ObservedGeneration: d.Generation,
		Replicas:           int32(len(active)),
		UpdatedReplicas:    int32(len(ps.updated)),
		ReadyReplicas:      countReady(active),
		AvailableReplicas:  countAvailable(active, d.Spec.MinReadySeconds, now),
		CollisionCount:     d.Status.CollisionCount,
		Conditions:         append([]v1.DeploymentCondition(nil), d.Status.Conditions...),
	}
	s.UnavailableReplicas = max(0, r-s.AvailableReplicas)
	t := v1.NewTime(now)
	if s.AvailableReplicas >= r-maxUnavailable(d) {
		setCondition(&s, v1.DeploymentAvailable, v1.ConditionTrue, ReasonMinimumReplicasAvailable,
			"Deployment has minimum availability.", t)
	} else {
		setCondition(&s, v1.DeploymentAvailable, v1.ConditionFalse, ReasonMinimumReplicasUnavailable,
			"Deployment does not have minimum availability.", t)
	}
	setProgressing(d, &s, t)
	return s
}

// setProgressing sets the Progressing condition as Kubernetes does: its
// lastUpdateTime moves whenever the rollout makes progress, and once it is
// older than progressDeadlineSeconds the condition turns False.
func setProgressing(d *v1.Deployment, s *v1.DeploymentStatus, now *v1.Time) {
	prev := getCondition(d.Status.Conditions, v1.DeploymentProgressing)
	switch {
	case d.Spec.Paused:
		setCondition(s, v1.DeploymentProgressing, v1.ConditionUnknown, ReasonDeploymentPaused, "Deployment is paused.", now)
	case complete(d, s):
		setCondition(s, v1.DeploymentProgressing, v1.ConditionTrue, ReasonNewPodsAvailable,
			fmt.Sprintf("Deployment %q has successfully progressed.", d.Name), now)
	case prev == nil || prev.Reason != ReasonPodsUpdating && prev.Reason != ReasonProgressDeadlineExceeded ||
		d.Status.ObservedGeneration < d.Generation || progressed(&d.Status, s):
		c := v1.DeploymentCondition{Type: v1.DeploymentProgressing, Status: v1.ConditionTrue, Reason: ReasonPodsUpdating,
			Message: fmt.Sprintf("Deployment %q is progressing.", d.Name), LastUpdateTime: now, LastTransitionTime: now}
		if prev != nil && prev.Status == v1.ConditionTrue && prev.LastTransitionTime != nil {
			c.LastTransitionTime = prev.LastTransitionTime
		}
		replaceCondition(s, c)
	case timedOut(d, prev, now.Time):
		setCondition(s, v1.DeploymentProgressing, v1.ConditionFalse, ReasonProgressDeadlineExceeded,
			fmt.Sprintf("Deployment %q has timed out progressing.", d.Name), now)
	}
}

// complete reports whether the rollout is done: exactly replicas pods,
// all of the current template and available.
func complete(d *v1.Deployment, s *v1.DeploymentStatus) bool {
	r := replicasOf(d)
	return s.UpdatedReplicas == r && s.Replicas == r && s.AvailableReplicas == r
}

// progressed reports whether the rollout moved since old: more updated,
// ready or available pods, or fewer old ones.
func progressed(old, s *v1.DeploymentStatus) bool {
	return s.UpdatedReplicas > old.UpdatedReplicas ||
		s.Replicas-s.UpdatedReplicas < old.Replicas-old.UpdatedReplicas ||
		s.ReadyReplicas > old.ReadyReplicas ||
		s.AvailableReplicas > old.AvailableReplicas
}

// timedOut reports whether the rollout last progressed longer than the
// progress deadline before now.
func timedOut(d *v1.Deployment, prev *v1.DeploymentCondition, now time.Time) bool {
	wait, ok := untilDeadline(d, prev, now)
	return ok && wait < 0
}

// untilDeadline is how long the rollout described by the Progressing
// condition c has left before its progress deadline; ok is false when no
// deadline runs.
func untilDeadline(d *v1.Deployment, c *v1.DeploymentCondition, now time.Time) (wait time.Duration, ok bool) {
	pd := d.Spec.ProgressDeadlineSeconds
	if pd == nil || c == nil || c.Reason != ReasonPodsUpdating || c.LastUpdateTime == nil || d.Spec.Paused {
		return 0, false
	}
	return c.LastUpdateTime.Add(time.Duration(*pd) * time.Second).Sub(now), true
}

func getCondition(cs []v1.DeploymentCondition, t v1.DeploymentConditionType) *v1.DeploymentCondition {
	for i := range cs {
		if cs[i].Type == t {
			return &cs[i]
		}
	}
	return nil
}

// setCondition sets a condition unless it already says the same; its
// lastTransitionTime moves only when its status changes.
func setCondition(s *v1.DeploymentStatus, t v1.DeploymentConditionType, status v1.ConditionStatus, reason, msg string, now *v1.Time) {
	c := v1.DeploymentCondition{Type: t, Status: status, Reason: reason, Message: msg, LastUpdateTime: now, LastTransitionTime: now}
	old := getCondition(s.Conditions, t)
	if old != nil && old.Status == status && old.Reason == reason && old.Message == msg {
		return
	}
	if old != nil && old.Status == status && old.LastTransitionTime != nil {
		c.LastTransitionTime = old.LastTransitionTime
	}
	replaceCondition(s, c)
}

func replaceCondition(s *v1.DeploymentStatus, c v1.DeploymentCondition) {
	if old := getCondition(s.Conditions, c.Type); old != nil {
		*old = c
		return
	}
	s.Conditions = append(s.Conditions, c)
}

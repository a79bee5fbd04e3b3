package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

// conflictRetry is how soon a pod whose write met a newer version is
// looked at again; the informer usually delivers that version first.
const conflictRetry = 100 * time.Millisecond

// sync schedules one pod: decide on a node, prepare it (PreBind), then
// bind to it.
func (s *Scheduler) sync(ctx context.Context, key string) error {
	pod, ok := s.pods.Get(key)
	if !ok || !s.responsibleFor(pod) || s.cache.isAssumed(pod) {
		s.succeeded(key)
		return nil
	}
	moves := s.moveCount()
	// The snapshot's slice is recycled once this pod is done with: the
	// cycle's state (and its PreBind) read it until then.
	buf, _ := s.snapshots.Get().(*[]*framework.NodeInfo)
	if buf == nil {
		buf = new([]*framework.NodeInfo)
	}
	defer s.snapshots.Put(buf)
	res, err := s.decide(ctx, pod, buf)
	var fit *framework.FitError
	var stale errDecisionStale
	switch {
	case errors.As(err, &fit):
		return s.failed(ctx, pod, fit, moves)
	case errors.As(err, &stale):
		controller.LoggerFrom(ctx).Debug("reserve found the decision stale; deciding again", "reason", err.Error())
		return controller.RequeueAfter(conflictRetry)
	case err != nil && ctx.Err() == nil:
		err = fmt.Errorf("scheduler: pod %s: %w", key, err)
		s.errored(ctx, pod, err)
		return err
	case err != nil:
		return err
	}
	if err := s.preBind(ctx, pod, res); err != nil {
		return err
	}
	return s.bind(ctx, pod, res)
}

// decide runs the profile over a snapshot of the cache and assumes the pod
// onto the chosen node, all under one lock, so that the next decision sees
// this one even before the binding is written.
func (s *Scheduler) decide(ctx context.Context, pod *v1.Pod, buf *[]*framework.NodeInfo) (framework.ScheduleResult, error) {
	s.decideMu.Lock()
	defer s.decideMu.Unlock()
	*buf = s.cache.snapshotInto(*buf)
	res, err := s.profile.Schedule(ctx, pod, *buf)
	if err != nil {
		return res, err
	}
	s.decisions++
	s.evaluated += int64(res.Evaluated)
	s.cache.assume(pod, res.NodeName)
	if st := s.profile.RunReserve(ctx, res.State, pod, res.NodeName); !st.IsSuccess() {
		s.cache.forget(pod)
		if st.Code() == framework.Unschedulable {
			return res, errDecisionStale{st}
		}
		return res, statusErr(st, "reserve", res.NodeName)
	}
	return res, nil
}

// errDecisionStale is a Reserve that found the room it counted on taken:
// the pod is decided again shortly.
type errDecisionStale struct{ st *framework.Status }

func (e errDecisionStale) Error() string {
	return fmt.Sprintf("plugin %s: %s", e.st.Plugin(), e.st.Message())
}

// statusErr is a failed plugin status as an error naming the step.
func statusErr(st *framework.Status, step, node string) error {
	err := st.Err()
	if err == nil {
		err = errors.New(st.Message())
	}
	return fmt.Errorf("%s on node %s: plugin %s: %w", step, node, st.Plugin(), err)
}

// undo forgets an assumed pod whose PreBind or binding failed and
// releases what Reserve counted for it.
func (s *Scheduler) undo(ctx context.Context, pod *v1.Pod, res framework.ScheduleResult) {
	s.profile.RunUnreserve(context.WithoutCancel(ctx), res.State, pod, res.NodeName)
	s.cache.forget(pod)
}

// preBind runs the PreBind plugins for the assumed pod. When one fails the
// pod is forgotten: Unschedulable (the room was taken meanwhile, an object
// changed) decides it again shortly, Error retries it with back-off.
func (s *Scheduler) preBind(ctx context.Context, pod *v1.Pod, res framework.ScheduleResult) error {
	st := s.profile.RunPreBind(ctx, res.State, pod, res.NodeName)
	if st.IsSuccess() {
		return nil
	}
	s.undo(ctx, pod, res)
	switch {
	case ctx.Err() != nil:
		return ctx.Err() // stopping
	case st.Code() == framework.Unschedulable:
		controller.LoggerFrom(ctx).Debug("decision no longer holds; deciding again",
			"node", res.NodeName, "plugin", st.Plugin(), "reason", st.Message())
		return controller.RequeueAfter(conflictRetry)
	}
	return fmt.Errorf("scheduler: pod %s: %w", v1.ObjectKey(pod), statusErr(st, "prebind", res.NodeName))
}

// bind writes the binding: through a binding extender or Bind plugin, or
// the scheduler's own POST to the pod's binding subresource (with the
// pod's UID as precondition). A binding refused because the pod is bound
// already, or is another pod of that name, is looked at again from the
// informer's newer copy.
func (s *Scheduler) bind(ctx context.Context, pod *v1.Pod, res framework.ScheduleResult) error {
	key, node := v1.ObjectKey(pod), res.NodeName
	var err error
	if st := s.profile.RunBind(ctx, res.State, pod, node); st.Code() == framework.Skip {
		// The binding subresource, as Kubernetes' scheduler: a small
		// body, refused (409) when the pod is bound already or is
		// another pod of the same name.
		err = client.BindPod(ctx, s.c, pod.Namespace, pod.Name, pod.UID, node)
	} else if !st.IsSuccess() {
		err = statusErr(st, "bind", node)
	}
	if err != nil {
		s.undo(ctx, pod, res)
	}
	switch {
	case err == nil:
		s.succeeded(key)
		controller.LoggerFrom(ctx).Debug("bound pod", "node", node)
		if s.onBound != nil {
			s.onBound(pod, node)
		}
		return nil
	case v1.IsNotFound(err):
		s.succeeded(key)
		return nil
	case v1.IsConflict(err):
		return controller.RequeueAfter(conflictRetry)
	case ctx.Err() != nil:
		// Stopping: the binding may or may not have been written; the
		// next run reads which from its informer.
		return ctx.Err()
	}
	return fmt.Errorf("scheduler: bind pod %s to node %s: %w", key, node, err)
}

// failed tells the user why the pod fits no node, on its PodScheduled
// condition (written only when its words change) and in an event, and
// retries the pod after its back-off.
func (s *Scheduler) failed(ctx context.Context, pod *v1.Pod, fit *framework.FitError, moves uint64) error {
	key := v1.ObjectKey(pod)
	msg := fit.Error()
	controller.LoggerFrom(ctx).Debug("pod is unschedulable", "reason", msg)
	if err := s.notScheduled(ctx, pod, v1.PodReasonUnschedulable, msg); err != nil {
		switch {
		case v1.IsNotFound(err):
			s.succeeded(key)
			return nil
		case v1.IsConflict(err):
			// Decide again from the newer pod before saying anything.
			return controller.RequeueAfter(conflictRetry)
		case ctx.Err() != nil:
			return ctx.Err() // stopping
		default:
			return fmt.Errorf("scheduler: set PodScheduled=False on pod %s: %w", key, err)
		}
	}
	s.failedScheduling(ctx, pod, msg)
	return controller.RequeueAfter(s.noteFailure(key, moves))
}

// errored tells the user that the attempt to place pod failed (a plugin
// or an extender that is not ignorable failed), as Kubernetes does: the
// PodScheduled condition with reason SchedulerError and a
// FailedScheduling event carry the error. The pod is retried with
// back-off by the caller.
func (s *Scheduler) errored(ctx context.Context, pod *v1.Pod, err error) {
	if uerr := s.notScheduled(ctx, pod, ReasonSchedulerError, err.Error()); uerr != nil && !v1.IsConflict(uerr) && !v1.IsNotFound(uerr) {
		controller.LoggerFrom(ctx).Warn("cannot set PodScheduled=False", "err", uerr)
	}
	s.failedScheduling(ctx, pod, err.Error())
}

// notScheduled sets the pod's PodScheduled condition to False with reason
// and msg, writing only when its words change.
func (s *Scheduler) notScheduled(ctx context.Context, pod *v1.Pod, reason, msg string) error {
	cond := v1.PodCondition{Type: v1.PodScheduled, Status: v1.ConditionFalse, Reason: reason, Message: msg}
	updated := v1.Clone(pod)
	if !v1.SetPodCondition(&updated.Status, cond) {
		return nil
	}
	_, err := client.For[*v1.Pod](s.c, pod.Namespace).UpdateStatus(ctx, updated)
	return err
}

// ReasonSchedulerError is the PodScheduled reason of a pod whose
// placement failed for an error rather than for lack of a fitting node.
const ReasonSchedulerError = "SchedulerError"

// noteFailure counts a failed attempt and returns the back-off before the
// next: InitialBackoff doubled per failure in a row, at most MaxBackoff.
// When nodes or pods changed while the attempt ran (moves is the count it
// started with), the change's retry found no pod to wake yet: try again
// at once instead.
func (s *Scheduler) noteFailure(key string, moves uint64) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.unschedulable[key]
	s.unschedulable[key] = n + 1
	if s.moves != moves {
		return retryAfterMove
	}
	d := s.backoff[0]
	for range n {
		if d >= s.backoff[1]/2 {
			return s.backoff[1]
		}
		d *= 2
	}
	return min(d, s.backoff[1])
}

// retryAfterMove is the pause before a pod whose attempt raced a change
// of nodes or pods is tried again.
const retryAfterMove = 10 * time.Millisecond

// moveCount is how many times unschedulable pods have been woken.
func (s *Scheduler) moveCount() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.moves
}

// succeeded forgets the pod's failures: it is bound, gone, or not ours.
func (s *Scheduler) succeeded(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.unschedulable, key)
}

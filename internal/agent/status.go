package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/runtime"
)

// writeStatus writes the pod's status when it differs from what the API
// holds.
func (w *podWorker) writeStatus(ctx context.Context, pod *v1.Pod) error {
	st := w.buildStatus(pod)
	if jsonEqual(st, pod.Status) {
		return nil
	}
	pods := client.For[*v1.Pod](w.a.cfg.Client, pod.Namespace)
	p := v1.Clone(pod)
	p.Status = st
	_, err := pods.UpdateStatus(ctx, p)
	if v1.IsConflict(err) {
		// Someone else wrote the pod (the node lifecycle controller, a
		// label change): write over the latest.
		fresh, gerr := pods.Get(ctx, pod.Name)
		if gerr != nil {
			return gerr
		}
		if fresh.UID != pod.UID {
			return nil
		}
		fresh.Status = w.buildStatus(fresh)
		_, err = pods.UpdateStatus(ctx, fresh)
	}
	if v1.IsNotFound(err) {
		return nil
	}
	return err
}

func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// buildStatus is the pod's status as the agent sees it now. Condition
// transition times carry over from the current status when the condition
// does not change.
func (w *podWorker) buildStatus(pod *v1.Pod) v1.PodStatus {
	st := v1.PodStatus{
		Conditions: append([]v1.PodCondition(nil), pod.Status.Conditions...),
		HostIP:     w.a.cfg.NodeIP, HostIPs: []v1.HostIP{{IP: w.a.cfg.NodeIP}},
		StartTime: w.startTime, QOSClass: pod.Status.QOSClass,
		Phase: pod.Status.Phase, Reason: pod.Status.Reason, Message: pod.Status.Message,
	}
	if w.ip != "" {
		st.PodIP, st.PodIPs = w.ip, []v1.PodIP{{IP: w.ip}}
	}
	st.VolumeRestores = w.restoreStatuses(pod)
	var inits initState
	st.InitContainerStatuses, inits = w.initContainerStatuses(pod)
	pending := "ContainerCreating"
	if !inits.done() {
		pending = reasonPodInitializing
	}
	var unready []string
	phase := phaseTracker{policy: pod.Spec.RestartPolicy}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		cs := w.containerStatus(c, pending)
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
		if !cs.Ready {
			unready = append(unready, c.Name)
		}
		phase.add(cs)
	}
	switch {
	case isTerminal(st.Phase):
	case inits.failed:
		st.Phase = v1.PodFailed
	case !inits.done():
		st.Phase = v1.PodPending
	default:
		st.Phase = phase.phase()
	}
	now := v1.NewTime(w.a.cfg.Clock.Now())
	set := func(t v1.PodConditionType, ok bool, reason, msg string) {
		c := v1.PodCondition{Type: t, Status: v1.ConditionTrue, LastTransitionTime: now}
		if !ok {
			c.Status, c.Reason, c.Message = v1.ConditionFalse, reason, msg
		}
		v1.SetPodCondition(&st, c)
	}
	set(v1.PodScheduled, true, "", "")
	initOK, initReason, initMsg := inits.condition()
	set(v1.PodInitialized, initOK, initReason, initMsg)
	msg := fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " "))
	reason := "ContainersNotReady"
	if isTerminal(st.Phase) {
		reason = "PodCompleted"
	}
	set(v1.PodContainersReady, len(unready) == 0, reason, msg)
	set(v1.PodReady, len(unready) == 0, reason, msg)
	return st
}

// containerStatus reports one container in Kubernetes' terms; one not
// yet created waits with reason pending.
func (w *podWorker) containerStatus(c *v1.Container, pending string) v1.ContainerStatus {
	out := v1.ContainerStatus{Name: c.Name, Image: c.Image}
	cs := w.ctr(c.Name)
	cur, prev, err := w.a.rt.ContainerStatus(w.uid, c.Name)
	if err != nil {
		reason, msg := pending, ""
		if cs.configErr != "" {
			reason, msg = "CreateContainerConfigError", cs.configErr
		}
		out.State.Waiting = &v1.ContainerStateWaiting{Reason: reason, Message: msg}
		if cs.fenced {
			out.State.Waiting = w.fencedWaiting()
		}
		return out
	}
	out.RestartCount, out.ContainerID = int32(cur.Attempt), cur.ID
	if prev != nil {
		out.LastState.Terminated = w.terminated(*prev)
	}
	started := false
	switch {
	case cur.State == runtime.StateRunning:
		out.State.Running = &v1.ContainerStateRunning{StartedAt: v1.NewTime(cur.StartedAt)}
		if cs.probes != nil && cs.attempt == cur.Attempt {
			started, out.Ready = cs.probes.started(), cs.probes.ready() && !cs.killing
		}
	case cs.fenced:
		// Would restart, but may not before a renewal.
		out.LastState.Terminated = w.terminated(cur)
		out.State.Waiting = w.fencedWaiting()
	case cs.backingOff && cs.exitSeen == cur.Attempt:
		out.LastState.Terminated = w.terminated(cur)
		delay := time.Until(cs.restartAt).Round(time.Second)
		out.State.Waiting = &v1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
			Message: fmt.Sprintf("back-off %s restarting failed container=%s", max(delay, 0), c.Name)}
	default:
		out.State.Terminated = w.terminated(cur)
	}
	out.Started = &started
	return out
}

func terminated(s runtime.ContainerStatus) *v1.ContainerStateTerminated {
	t := &v1.ContainerStateTerminated{ExitCode: int32(s.ExitCode), Signal: int32(s.Signal), Reason: s.Reason,
		Message: s.Message, StartedAt: v1.NewTime(s.StartedAt), ContainerID: s.ID}
	if !s.FinishedAt.IsZero() {
		t.FinishedAt = v1.NewTime(s.FinishedAt)
	}
	return t
}

// phaseTracker derives the pod phase from its containers, as Kubernetes
// does: Pending until every container has started once; Succeeded or
// Failed when all have ended and none will restart; Running otherwise.
type phaseTracker struct {
	policy                                     v1.RestartPolicy
	waiting, running, succeeded, failed, total int
}

func (p *phaseTracker) add(cs v1.ContainerStatus) {
	p.total++
	switch {
	case cs.State.Running != nil:
		p.running++
	case cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0:
		p.succeeded++
	case cs.State.Terminated != nil:
		p.failed++
	case cs.LastState.Terminated != nil:
		p.running++ // restarting after a back-off
	default:
		p.waiting++
	}
}

func (p *phaseTracker) phase() v1.PodPhase {
	switch {
	case p.waiting > 0:
		return v1.PodPending
	case p.running > 0:
		return v1.PodRunning
	case p.policy == v1.RestartPolicyAlways:
		return v1.PodRunning // every container is about to restart
	case p.failed > 0 && p.policy == v1.RestartPolicyNever:
		return v1.PodFailed
	case p.failed > 0:
		return v1.PodRunning // OnFailure restarts the failed ones
	}
	return v1.PodSucceeded
}

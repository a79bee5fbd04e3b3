package agent

import (
	"context"
	"fmt"
	"slices"
	"syscall"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/fence"
	"github.com/kennel-dev/kennel/internal/runtime"
)

// reasonFenced is the reason of a container held back, or killed, because
// its pod's fencing deadline passed, and of the pod's Fenced event.
const reasonFenced = "Fenced"

// recordPoll is how often a worker looks for the watchdog's record of a
// fencing it expects (the record is written once the processes are dead,
// after the agent may have seen them exit).
const recordPoll = 250 * time.Millisecond

// podFence is what a worker knows of its pod's fencing.
type podFence struct {
	// record is the watchdog's last fencing of the pod (nil: none).
	record *fence.Record
	// deadline is the deadline that held the pod back last; reported
	// says its event was recorded.
	deadline time.Time
	reported bool
	// cgroups are the pod's cgroup directories, once known.
	cgroups []string
	// badPeriod is the last complaint about the period annotation.
	badPeriod string
	// removed says the fence file of a pod that needs none is gone.
	removed bool
}

// fencePeriod reports whether the pod is fenceable and its period; a bad
// period annotation is logged once.
func (w *podWorker) fencePeriod(pod *v1.Pod) (time.Duration, bool) {
	period, fenced, err := fence.PodPeriod(pod)
	if err != nil && err.Error() != w.fence.badPeriod {
		w.a.log.Warn("fenceable pod with a bad fencing period", "pod", v1.ObjectKey(pod), "err", err)
		w.fence.badPeriod = err.Error()
	}
	return period, fenced
}

// fenceBlocks reports whether the pod's containers must not start now:
// it is fenceable and its deadline has passed, or is not known yet (the
// fence ConfigMap not read yet; its arrival wakes the worker). The first
// block after a start is told in a Warning event.
func (w *podWorker) fenceBlocks(ctx context.Context, pod *v1.Pod) bool {
	period, ok := w.fencePeriod(pod)
	if !ok {
		return false
	}
	deadline, from, known := w.a.fence.deadline(pod, period)
	if known && w.a.cfg.Clock.Now().Before(deadline) {
		w.fence.reported = false
		return false
	}
	w.fence.deadline = deadline
	if known && !w.fence.reported {
		w.fence.reported = true
		w.a.log.Warn("fenced pod: its containers do not start", "pod", v1.ObjectKey(pod), "deadline", deadline)
		w.a.event(ctx, pod, v1.EventTypeWarning, reasonFenced, fmt.Sprintf("Not starting containers: the fencing deadline %s "+
			"(%s + %s) has passed; they start once the federation agent renews",
			deadline.UTC().Format(time.RFC3339), from, period))
	}
	return true
}

// syncFenceFile keeps the pod's fence file up to date — deadline, cgroups,
// the process groups of its running containers — so that the watchdog
// kills the pod at its deadline whatever becomes of the agent. A pod with
// nothing running past its deadline needs none: nothing of it starts;
// nor does a finished pod, or one no longer fenceable. It reads the
// watchdog's record of the pod's last fencing, and returns when to look
// again for one that is due.
func (w *podWorker) syncFenceFile(pod *v1.Pod) time.Time {
	if w.a.ownR == nil {
		return time.Time{} // another runtime's processes are not the watchdog's to know
	}
	period, ok := w.fencePeriod(pod)
	if !ok {
		return w.removeFenceFile(pod) // relabelled: an old file must not kill it
	}
	dir := w.a.fence.dir
	w.fence.record = nil
	if r, err := fence.ReadRecord(dir, w.uid); err == nil {
		w.fence.record = &r
	}
	deadline, _, known := w.a.fence.deadline(pod, period)
	if !known {
		return time.Time{}
	}
	now := w.a.cfg.Clock.Now()
	var next time.Time
	if !now.Before(deadline) && now.Before(deadline.Add(fence.GiveUp+2*time.Second)) &&
		(w.fence.record == nil || !w.fence.record.Deadline.Equal(deadline)) {
		next = now.Add(recordPoll) // the watchdog may be at work
	}
	if isTerminal(pod.Status.Phase) {
		return earliest(next, w.removeFenceFile(pod))
	}
	w.fence.removed = false
	if w.fence.cgroups == nil {
		w.fence.cgroups = w.a.podCgroups(w.uid)
	}
	f := fence.File{Deadline: deadline, Pod: v1.ObjectKey(pod), UID: w.uid, Cgroups: w.fence.cgroups}
	f.PGIDs, f.PGIDStarts = w.runningPGIDs(pod)
	if len(f.PGIDs) == 0 && !now.Before(deadline) {
		return next
	}
	if cur, err := fence.Read(dir, w.uid); err == nil && sameFenceFile(cur, f) {
		return next
	}
	if err := fence.Write(dir, f); err != nil {
		w.a.log.Error("cannot write a fence file: the pod is not killed at its deadline if the agent dies", "pod", f.Pod, "err", err)
		return now.Add(time.Second)
	}
	w.a.fence.ensureWatchdog()
	return next
}

// removeFenceFile removes the fence file of a pod that needs none, once.
func (w *podWorker) removeFenceFile(pod *v1.Pod) time.Time {
	if w.fence.removed {
		return time.Time{}
	}
	if err := fence.Remove(w.a.fence.dir, w.uid); err != nil {
		w.a.log.Warn("cannot remove a fence file", "pod", v1.ObjectKey(pod), "err", err)
		return w.a.cfg.Clock.Now().Add(time.Second)
	}
	w.fence.removed = true
	return time.Time{}
}

func sameFenceFile(a, b fence.File) bool {
	return a.Deadline.Equal(b.Deadline) && a.Pod == b.Pod && a.UID == b.UID &&
		slices.Equal(a.Cgroups, b.Cgroups) && slices.Equal(a.PGIDs, b.PGIDs) && slices.Equal(a.PGIDStarts, b.PGIDStarts)
}

// runningPGIDs are the process groups of the pod's running containers
// (the process runtime makes each container's pid its group's id), with
// their leaders' start times (0 for a leader already gone: its group, if
// any process is left in it, is still the pod's, and a process that gets
// its id later has a start time).
func (w *podWorker) runningPGIDs(pod *v1.Pod) (pgids []int, starts []uint64) {
	for _, c := range append(append([]v1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...) {
		cur, _, err := w.a.rt.ContainerStatus(w.uid, c.Name)
		if err != nil || cur.State != runtime.StateRunning || cur.Pid <= 0 {
			continue
		}
		start, _ := fence.StartTime(cur.Pid)
		pgids, starts = append(pgids, cur.Pid), append(starts, start)
	}
	return pgids, starts
}

// fencedWaiting is the state of a container held back by its pod's
// fencing.
func (w *podWorker) fencedWaiting() *v1.ContainerStateWaiting {
	return &v1.ContainerStateWaiting{Reason: reasonFenced, Message: fmt.Sprintf(
		"the pod's fencing deadline %s has passed; the container starts once the federation agent renews",
		w.fence.deadline.UTC().Format(time.RFC3339))}
}

// terminated reports an ended start, as the watchdog's kill when the
// record of the pod's last fencing says so: the start began before that
// kill, and ended after it by SIGKILL (or unseen, while the agent was
// down).
func (w *podWorker) terminated(s runtime.ContainerStatus) *v1.ContainerStateTerminated {
	t := terminated(s)
	r := w.fence.record
	if r == nil || s.State != runtime.StateExited || s.StartedAt.After(r.KilledAt) || s.FinishedAt.Before(r.KilledAt) ||
		(s.Signal != int(syscall.SIGKILL) && s.Reason != runtime.ReasonUnknown) {
		return t
	}
	t.Reason = reasonFenced
	if s.Reason == runtime.ReasonUnknown {
		// Seen dead by an agent that was not its parent: the record says
		// how it died.
		t.ExitCode, t.Signal = 128+int32(syscall.SIGKILL), int32(syscall.SIGKILL)
	}
	t.Message = fmt.Sprintf("killed by the fence watchdog at %s: the pod's fencing deadline %s had passed",
		r.KilledAt.UTC().Format(time.RFC3339Nano), r.Deadline.UTC().Format(time.RFC3339Nano))
	return t
}

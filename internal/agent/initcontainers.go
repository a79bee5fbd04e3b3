package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/runtime"
)

// Init containers run one at a time, in order, each to a successful exit,
// before any of the pod's containers starts. A failed one is restarted
// with the usual back-off unless the restart policy is Never, which fails
// the pod. One that completed is never run again: the runtime keeps its
// last exit, and that is what says it is done. Probes do not apply.

// reasonPodInitializing is the waiting reason of containers that wait for
// the pod's init containers.
const reasonPodInitializing = "PodInitializing"

// syncInitContainers advances the pod's initialization by one step: it
// starts the first init container that has not completed, or restarts it
// after a failure. It returns when it next needs to look (a back-off
// ending) and whether every init container has completed.
func (w *podWorker) syncInitContainers(ctx context.Context, pod *v1.Pod, now time.Time) (time.Time, bool) {
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cs := w.ctr(c.Name)
		cur, _, err := w.a.rt.ContainerStatus(w.uid, c.Name)
		switch {
		case errors.Is(err, runtime.ErrNotFound):
			w.start(ctx, pod, c, 0)
			return time.Time{}, false
		case err != nil:
			w.a.log.Warn("cannot read init container status", "pod", v1.ObjectKey(pod), "container", c.Name, "err", err)
			return now.Add(time.Second), false
		case cur.State == runtime.StateRunning:
			return time.Time{}, false // its exit wakes the worker
		case cur.ExitCode == 0:
			if cs.probes != nil {
				// start gives every running start a (here empty) probe set.
				cs.probes.stop()
				cs.probes = nil
			}
			cs.backingOff = false
			continue
		}
		// Failed. The restart policies that restart anything restart a
		// failed init container; Never leaves it, and the pod fails.
		return w.checkExited(ctx, pod, c, cs, cur, now), false
	}
	return time.Time{}, true
}

// initState is what the init containers' statuses say of the pod's
// initialization.
type initState struct {
	incomplete []string // init containers that have not exited 0
	failed     bool     // one failed and will not be restarted
}

func (s initState) done() bool { return len(s.incomplete) == 0 }

// initContainerStatuses reports the pod's init containers in Kubernetes'
// terms: ready once completed, PodInitializing while not yet started.
func (w *podWorker) initContainerStatuses(pod *v1.Pod) ([]v1.ContainerStatus, initState) {
	var out []v1.ContainerStatus
	var st initState
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cs := w.containerStatus(c, reasonPodInitializing)
		running := cs.State.Running != nil
		cs.Started = &running
		term := cs.State.Terminated
		cs.Ready = term != nil && term.ExitCode == 0
		if !cs.Ready {
			st.incomplete = append(st.incomplete, c.Name)
		}
		if term != nil && term.ExitCode != 0 && pod.Spec.RestartPolicy == v1.RestartPolicyNever {
			st.failed = true
		}
		out = append(out, cs)
	}
	return out, st
}

// initializedCondition is the pod's Initialized condition: True once every
// init container has completed.
func (s initState) condition() (ok bool, reason, msg string) {
	if s.done() {
		return true, "", ""
	}
	return false, "ContainersNotInitialized", fmt.Sprintf("containers with incomplete status: [%s]", strings.Join(s.incomplete, " "))
}

package agent

import (
	"context"
	"errors"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/agent/prober"
	"github.com/kennel-dev/kennel/internal/cgroups"
	"github.com/kennel-dev/kennel/internal/runtime"
)

// syncContainers runs the init containers to completion, then starts what
// has not started, restarts what ended (by the restart policy, after its
// back-off) and kills what failed its liveness or startup probe. It
// returns when it next needs to look (a back-off ending, a startup
// deadline), or zero.
func (w *podWorker) syncContainers(ctx context.Context, pod *v1.Pod) time.Time {
	now := w.a.cfg.Clock.Now()
	next, initialized := w.syncInitContainers(ctx, pod, now)
	if !initialized {
		return next
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		cs := w.ctr(c.Name)
		cur, _, err := w.a.rt.ContainerStatus(w.uid, c.Name)
		switch {
		case errors.Is(err, runtime.ErrNotFound):
			w.start(ctx, pod, c, 0)
		case err != nil:
			w.a.log.Warn("cannot read container status", "pod", v1.ObjectKey(pod), "container", c.Name, "err", err)
		case cur.State == runtime.StateRunning:
			next = earliest(next, w.checkRunning(ctx, pod, c, cs, cur))
		default:
			next = earliest(next, w.checkExited(ctx, pod, c, cs, cur, now))
		}
	}
	return next
}

// checkRunning makes sure the running start has its probes and kills it
// when liveness fails, or when its startup probe has not passed in time.
func (w *podWorker) checkRunning(ctx context.Context, pod *v1.Pod, c *v1.Container, cs *ctrState, cur runtime.ContainerStatus) time.Time {
	if cs.probes == nil || cs.attempt != cur.Attempt {
		if cs.probes != nil {
			cs.probes.stop()
		}
		cs.attempt, cs.killing = cur.Attempt, false
		cs.probes = w.startProbes(ctx, c, cur.StartedAt)
	}
	cs.probes.advance(ctx)
	if cs.killing {
		return time.Time{}
	}
	why := ""
	switch {
	case cs.probes.liveness != nil && cs.probes.liveness.Result() == prober.Failure:
		why = "liveness probe failed: " + cs.probes.liveness.Message()
	case cs.probes.startupFailed(w.a.cfg.Clock.Now()):
		why = "startup probe did not succeed in time: " + cs.probes.startup.Message()
	}
	if why == "" {
		if !cs.probes.started() {
			return cs.probes.startupDeadline
		}
		return time.Time{}
	}
	cs.killing = true
	w.a.log.Info("killing container", "pod", v1.ObjectKey(pod), "container", c.Name, "reason", why)
	w.a.event(ctx, pod, v1.EventTypeWarning, "Unhealthy", "Container "+c.Name+" "+why+"; it will be restarted")
	grace := terminationGrace(pod)
	name, attempt := c.Name, cur.Attempt
	w.a.wg.Go(func() {
		if err := w.a.rt.StopContainer(ctx, w.uid, name, grace); err != nil && ctx.Err() == nil {
			w.a.log.Warn("cannot kill container", "container", name, "attempt", attempt, "err", err)
		}
		w.wake()
	})
	return time.Time{}
}

// checkExited restarts an ended container when the restart policy says so,
// once its back-off has passed: the first restart is immediate, then 10 s,
// 20 s, … up to the maximum, reset after a run of twice the maximum.
func (w *podWorker) checkExited(ctx context.Context, pod *v1.Pod, c *v1.Container, cs *ctrState, cur runtime.ContainerStatus, now time.Time) time.Time {
	if cs.probes != nil {
		cs.probes.stop()
		cs.probes = nil
	}
	cs.killing = false
	if !shouldRestart(pod.Spec.RestartPolicy, cur) {
		cs.backingOff = false
		return time.Time{}
	}
	if cs.fenced = w.fenceBlocks(ctx, pod); cs.fenced {
		// No back-off runs meanwhile: a renewal wakes the worker.
		cs.backingOff = false
		return time.Time{}
	}
	if cs.exitSeen != cur.Attempt {
		cs.exitSeen = cur.Attempt
		var wait time.Duration
		wait, cs.delay = backoff(cs.delay, cur.FinishedAt.Sub(cur.StartedAt), w.a.cfg.BackoffBase, w.a.cfg.BackoffMax)
		cs.restartAt = cur.FinishedAt.Add(wait)
	}
	if now.Before(cs.restartAt) {
		cs.backingOff = true
		return cs.restartAt
	}
	cs.backingOff = false
	w.start(ctx, pod, c, cur.Attempt+1)
	return time.Time{}
}

// backoff returns how long to wait before restarting a container that ran
// for ran, given the delay the previous restart left, and the delay for
// the next one: 0, base, 2×base, … up to max; a run longer than twice max
// starts the sequence again.
func backoff(delay, ran, base, maxDelay time.Duration) (wait, next time.Duration) {
	if ran > 2*maxDelay {
		delay = 0
	}
	return delay, min(max(2*delay, base), maxDelay)
}

func shouldRestart(policy v1.RestartPolicy, st runtime.ContainerStatus) bool {
	switch policy {
	case v1.RestartPolicyNever:
		return false
	case v1.RestartPolicyOnFailure:
		return st.ExitCode != 0
	}
	return true
}

func terminationGrace(pod *v1.Pod) time.Duration {
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		return time.Duration(*g) * time.Second
	}
	return 30 * time.Second
}

// start starts one attempt of a container, with its environment and its
// $(VAR)-expanded command.
func (w *podWorker) start(ctx context.Context, pod *v1.Pod, c *v1.Container, attempt int) {
	cs := w.ctr(c.Name)
	if cs.fenced = w.fenceBlocks(ctx, pod); cs.fenced {
		return // a renewal wakes the worker
	}
	// Whatever stops the start below, look again soon: no event may come.
	w.retryAt = earliest(w.retryAt, w.a.cfg.Clock.Now().Add(startRetry))
	if w.pc == nil {
		cs.configErr = w.lastConfigErr
		return // a ConfigMap or Secret it needs is missing
	}
	env, vars, err := containerEnv(pod, c, w.ip, w.hostname, w.pc)
	var mounts []runtime.Mount
	if err == nil {
		var volEnv []string
		mounts, volEnv, err = w.containerMounts(pod, c)
		env = append(env, volEnv...)
	}
	if err != nil {
		cs.configErr = err.Error()
		w.a.event(ctx, pod, v1.EventTypeWarning, "Failed", "Error: "+err.Error())
		return
	}
	cs.configErr = ""
	argv := make([]string, 0, len(c.Command)+len(c.Args))
	for _, s := range append(append([]string(nil), c.Command...), c.Args...) {
		argv = append(argv, expand(s, vars))
	}
	if len(argv) == 0 {
		cs.configErr = "the container has no command, and the process runtime cannot run images"
		return
	}
	cfg := runtime.ContainerConfig{Name: c.Name, Attempt: attempt, Argv: argv, Env: env, WorkingDir: c.WorkingDir, Mounts: mounts}
	st, err := w.a.rt.StartContainer(ctx, w.uid, cfg)
	if err != nil {
		w.a.log.Warn("cannot start container", "pod", v1.ObjectKey(pod), "container", c.Name, "err", err)
		return
	}
	if st.State == runtime.StateRunning {
		cs.attempt, cs.killing = attempt, false
		if cs.probes != nil {
			cs.probes.stop()
		}
		cs.probes = w.startProbes(ctx, c, st.StartedAt)
	} else {
		w.a.event(ctx, pod, v1.EventTypeWarning, "Failed", "Error: "+st.Message)
	}
}

// startRetry is how soon a container that could not be started is tried
// again.
const startRetry = time.Second

// podResources sums the containers' limits and requests into the pod's
// cgroup settings, as Kubernetes sizes a pod-level cgroup. A resource
// some container leaves unlimited leaves the pod unlimited.
func podResources(pod *v1.Pod) cgroups.Resources {
	var r cgroups.Resources
	cpuLimited, memLimited := true, true
	for _, c := range pod.Spec.Containers {
		if q, ok := c.Resources.Limits[v1.ResourceCPU]; ok {
			r.CPULimitMillis += q.MilliValue()
		} else {
			cpuLimited = false
		}
		if q, ok := c.Resources.Limits[v1.ResourceMemory]; ok {
			r.MemoryLimitBytes += q.Value()
		} else {
			memLimited = false
		}
		if q, ok := c.Resources.Requests[v1.ResourceCPU]; ok {
			r.CPURequestMillis += q.MilliValue()
		}
	}
	// Init containers run alone, before the others: the pod needs the
	// larger of their largest limit and the sum, as in Kubernetes.
	for _, c := range pod.Spec.InitContainers {
		if q, ok := c.Resources.Limits[v1.ResourceCPU]; ok {
			r.CPULimitMillis = max(r.CPULimitMillis, q.MilliValue())
		} else {
			cpuLimited = false
		}
		if q, ok := c.Resources.Limits[v1.ResourceMemory]; ok {
			r.MemoryLimitBytes = max(r.MemoryLimitBytes, q.Value())
		} else {
			memLimited = false
		}
	}
	if !cpuLimited {
		r.CPULimitMillis = 0
	}
	if !memLimited {
		r.MemoryLimitBytes = 0
	}
	// A fork bomb in one pod must not take the node's pids with it.
	r.PidsLimit = 4096
	return r
}

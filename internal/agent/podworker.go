package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/agent/prober"
	"github.com/kennel-dev/kennel/internal/fence"
	"github.com/kennel-dev/kennel/internal/runtime"
)

// podWorker converges one pod. Its fields below mu are set by the pod
// informer; everything else belongs to the worker's goroutine.
type podWorker struct {
	a      *Agent
	uid    string
	wakeCh chan struct{}

	mu   sync.Mutex
	pod  *v1.Pod
	gone bool

	sandboxed bool
	ip        string
	hostname  string
	startTime *v1.Time
	ctrs      map[string]*ctrState
	// pc is what the pod's ConfigMaps and Secrets held at the last sync;
	// nil while something it needs is missing (nothing new starts then).
	pc            *podConfig
	lastConfigErr string
	// vols are the pod's set-up volumes other than projected ones;
	// sandbox is the sandbox as last created (its cgroup's I/O limits).
	vols    map[string]*podVolume
	sandbox runtime.SandboxConfig
	// retryAt is the latest time a sync should come again after a start
	// that did not take (zero: none pending).
	retryAt time.Time
	fence   podFence
	// restores say how far the restores of the pod's claims are, by
	// claim (restore.go).
	restores []v1.VolumeRestoreStatus
}

// ctrState is what the worker tracks of one container between syncs.
type ctrState struct {
	attempt   int // the start the probes belong to
	probes    *probeSet
	killing   bool   // a stop (liveness or startup failure) is under way
	configErr string // why the container cannot be started (bad env)
	fenced    bool   // held back: the pod's fencing deadline has passed
	// Back-off: delay before the next restart, and when the exit being
	// waited on may be restarted.
	delay      time.Duration
	exitSeen   int
	restartAt  time.Time
	backingOff bool
}

func newPodWorker(a *Agent, uid string) *podWorker {
	return &podWorker{a: a, uid: uid, wakeCh: make(chan struct{}, 1), ctrs: map[string]*ctrState{},
		vols: map[string]*podVolume{}}
}

// set records the pod as the informer now sees it; deleted means it is
// gone from the API.
func (w *podWorker) set(p *v1.Pod, deleted bool) {
	w.mu.Lock()
	if p != nil {
		w.pod = p
	}
	w.gone = w.gone || deleted
	w.mu.Unlock()
	w.wake()
}

func (w *podWorker) wake() {
	select {
	case w.wakeCh <- struct{}{}:
	default:
	}
}

func (w *podWorker) run(ctx context.Context) {
	defer w.stopProbes()
	clk := w.a.cfg.Clock
	for {
		next, done := w.sync(ctx)
		if done {
			w.a.workerDone(w.uid)
			return
		}
		var timeout <-chan time.Time
		stop := func() {}
		if !next.IsZero() {
			t := clk.NewTimer(max(next.Sub(clk.Now()), time.Millisecond))
			stop, timeout = func() { t.Stop() }, t.C()
		}
		select {
		case <-ctx.Done():
			stop()
			return // containers keep running; the next agent adopts them
		case <-w.wakeCh:
		case <-timeout:
		}
		stop()
	}
}

// sync converges once. It returns when to sync again at the latest (zero:
// only when woken) and whether the worker is finished.
func (w *podWorker) sync(ctx context.Context) (time.Time, bool) {
	w.mu.Lock()
	pod, gone := w.pod, w.gone
	w.mu.Unlock()
	now := w.a.cfg.Clock.Now()
	if gone || pod == nil {
		if err := w.teardown(ctx, 2*time.Second); err != nil {
			w.a.log.Warn("cannot remove pod", "uid", w.uid, "err", err)
			return now.Add(time.Second), false
		}
		if err := fence.Forget(w.a.fence.dir, w.uid); err != nil {
			w.a.log.Warn("cannot remove the fence file of a removed pod", "uid", w.uid, "err", err)
		}
		return time.Time{}, true
	}
	if pod.DeletionTimestamp != nil {
		return w.terminate(ctx, pod)
	}
	if !w.sandboxed {
		if err := w.ensureSandbox(ctx, pod); err != nil {
			w.a.log.Warn("cannot create pod sandbox", "pod", v1.ObjectKey(pod), "err", err)
			w.a.event(ctx, pod, v1.EventTypeWarning, "FailedCreatePodSandBox", "Failed to create pod sandbox: "+err.Error())
			return now.Add(2 * time.Second), false
		}
	}
	var next time.Time
	if !isTerminal(pod.Status.Phase) {
		next = w.syncConfig(ctx, pod)
		w.retryAt = time.Time{}
		// The fence file is written before anything starts, and again
		// (below) with the process groups of what started.
		w.syncFenceFile(pod)
		next = earliest(next, w.syncContainers(ctx, pod))
		if st := w.startedOK(pod); !st {
			next = earliest(next, w.retryAt)
		}
	}
	next = earliest(next, w.syncFenceFile(pod))
	if err := w.writeStatus(ctx, pod); err != nil && ctx.Err() == nil {
		w.a.log.Warn("cannot write pod status", "pod", v1.ObjectKey(pod), "err", err)
		next = earliest(next, now.Add(time.Second))
	}
	return next, false
}

// startedOK reports whether every container the pod needs now has a
// runtime status; a start that did not take leaves one without.
func (w *podWorker) startedOK(pod *v1.Pod) bool {
	for _, c := range pod.Spec.Containers {
		if _, _, err := w.a.rt.ContainerStatus(w.uid, c.Name); err != nil {
			return false
		}
	}
	return true
}

func isTerminal(p v1.PodPhase) bool { return p == v1.PodSucceeded || p == v1.PodFailed }

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// terminate stops a pod being deleted: probes, then every container with
// the pod's grace period (SIGTERM, then SIGKILL), then its sandbox; only
// then does it delete the pod object, so the object outlives its
// processes.
func (w *podWorker) terminate(ctx context.Context, pod *v1.Pod) (time.Time, bool) {
	grace := 30 * time.Second
	if pod.DeletionGracePeriodSeconds != nil {
		grace = time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	}
	if err := w.teardown(ctx, grace); err != nil {
		w.a.log.Warn("cannot stop pod", "pod", v1.ObjectKey(pod), "err", err)
		return w.a.cfg.Clock.Now().Add(time.Second), false
	}
	zero, uid := int64(0), string(pod.UID)
	_, err := client.For[*v1.Pod](w.a.cfg.Client, pod.Namespace).Delete(ctx, pod.Name,
		client.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &client.Preconditions{UID: &uid}})
	if err != nil && !v1.IsNotFound(err) && !v1.IsConflict(err) {
		w.a.log.Warn("cannot delete stopped pod", "pod", v1.ObjectKey(pod), "err", err)
		return w.a.cfg.Clock.Now().Add(time.Second), false
	}
	w.a.log.Info("pod stopped", "pod", v1.ObjectKey(pod))
	return time.Time{}, false // the informer's delete event finishes the worker
}

// teardown stops the pod's containers in parallel, each with grace, and
// removes its sandbox.
func (w *podWorker) teardown(ctx context.Context, grace time.Duration) error {
	w.stopProbes()
	if !w.hasSandbox() {
		return w.removeVolumes(ctx)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(w.containerNames()))
	for _, name := range w.containerNames() {
		wg.Go(func() {
			err := w.a.rt.StopContainer(ctx, w.uid, name, grace)
			if err != nil && !errors.Is(err, runtime.ErrNotFound) {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	if err := w.a.rt.RemoveSandbox(ctx, w.uid); err != nil {
		return err
	}
	w.a.ipam.release(w.uid)
	w.sandboxed = false
	return w.removeVolumes(ctx)
}

// removeVolumes tears the pod's volumes down, once its processes are
// gone, and removes its volume directory.
func (w *podWorker) removeVolumes(ctx context.Context) error {
	if err := w.tearDownVolumes(ctx); err != nil {
		return err
	}
	return os.RemoveAll(filepath.Dir(w.a.volumeDir(w.uid, "x")))
}

// applyIOLimits writes the QoS of the pod's volumes into its cgroup when
// they differ from what it has (the sandbox call is idempotent and
// refreshes the cgroup).
func (w *podWorker) applyIOLimits(ctx context.Context) error {
	io := ioLimits(w.vols)
	if !w.sandboxed || slices.Equal(io, w.sandbox.Resources.IO) {
		return nil
	}
	cfg := w.sandbox
	cfg.Resources.IO = io
	if err := w.a.rt.CreateSandbox(ctx, cfg); err != nil {
		return fmt.Errorf("agent: volume QoS: %w", err)
	}
	w.sandbox = cfg
	return nil
}

func (w *podWorker) hasSandbox() bool {
	for _, sb := range w.a.rt.Sandboxes() {
		if sb.UID == w.uid {
			return true
		}
	}
	return false
}

// containerNames are the containers the runtime may have for this pod:
// the spec's init containers and containers, or, for a pod no longer
// known, none beyond the sandbox's.
func (w *podWorker) containerNames() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pod == nil {
		return nil
	}
	names := make([]string, 0, len(w.pod.Spec.InitContainers)+len(w.pod.Spec.Containers))
	for _, c := range w.pod.Spec.InitContainers {
		names = append(names, c.Name)
	}
	for _, c := range w.pod.Spec.Containers {
		names = append(names, c.Name)
	}
	return names
}

// ensureSandbox gives the pod its address, hostname, hosts files and
// cgroup (the sums of its containers' limits and requests).
func (w *podWorker) ensureSandbox(ctx context.Context, pod *v1.Pod) error {
	ip, err := w.a.ipam.allocate(w.uid)
	if err != nil {
		return err
	}
	io := ioLimits(w.vols)
	for _, sb := range w.a.rt.Sandboxes() {
		if sb.UID == w.uid {
			// Adopted: keep the address it had, and its volumes' I/O
			// limits until the volumes are set up again.
			ip, io = sb.IP, sb.Resources.IO
		}
	}
	w.ip, w.hostname = ip, podHostname(pod)
	cfg := runtime.SandboxConfig{UID: w.uid, Namespace: pod.Namespace, Name: pod.Name, Hostname: w.hostname, IP: ip,
		Resources: podResources(pod), Hosts: w.hostsFile(pod), ResolvConf: w.a.resolvConf(pod)}
	cfg.Resources.IO = io
	if err := w.a.rt.CreateSandbox(ctx, cfg); err != nil {
		return err
	}
	w.sandboxed, w.sandbox = true, cfg
	if pod.Status.StartTime != nil {
		w.startTime = pod.Status.StartTime
	} else {
		w.startTime = v1.NewTime(w.a.cfg.Clock.Now())
	}
	return nil
}

// podHostname is spec.hostname, or the pod's name cut to a DNS label.
func podHostname(pod *v1.Pod) string {
	h := pod.Spec.Hostname
	if h == "" {
		h = pod.Name
	}
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-.")
	}
	return h
}

// hostsFile is the pod's /etc/hosts: localhost and the pod's own names,
// including its fully qualified name under a subdomain (a headless
// service, for pets).
func (w *podWorker) hostsFile(pod *v1.Pod) []byte {
	var b strings.Builder
	b.WriteString("# Kennel-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	names := w.hostname
	if pod.Spec.Subdomain != "" {
		names = fmt.Sprintf("%s.%s.%s.svc.%s\t%s", w.hostname, pod.Spec.Subdomain, pod.Namespace, w.a.cfg.ClusterDomain, w.hostname)
	}
	fmt.Fprintf(&b, "%s\t%s\n", w.ip, names)
	return []byte(b.String())
}

// resolvConf points the pod at the cluster DNS with Kubernetes' search
// path, or, without a cluster DNS, is empty so the host's is used.
func (a *Agent) resolvConf(pod *v1.Pod) []byte {
	if a.cfg.ClusterDNS == "" || pod.Spec.DNSPolicy == v1.DNSDefault {
		return nil
	}
	d := a.cfg.ClusterDomain
	return fmt.Appendf(nil, "nameserver %s\nsearch %s.svc.%s svc.%s %s\noptions ndots:5\n", a.cfg.ClusterDNS, pod.Namespace, d, d, d)
}

func (w *podWorker) stopProbes() {
	for _, cs := range w.ctrs {
		if cs.probes != nil {
			cs.probes.stop()
			cs.probes = nil
		}
	}
}

func (w *podWorker) ctr(name string) *ctrState {
	cs, ok := w.ctrs[name]
	if !ok {
		cs = &ctrState{exitSeen: -1}
		w.ctrs[name] = cs
	}
	return cs
}

// probeTarget is how probes reach a container: its pod's address, its
// named ports, and exec in its environment.
func (w *podWorker) probeTarget(c *v1.Container) prober.Target {
	ports := map[string]int32{}
	for _, p := range c.Ports {
		if p.Name != "" {
			ports[p.Name] = p.ContainerPort
		}
	}
	name := c.Name
	return prober.Target{PodIP: w.ip, Ports: ports, Exec: func(ctx context.Context, cmd []string) ([]byte, int, error) {
		var out limitedBuffer
		code, err := w.a.rt.Exec(ctx, w.uid, name, cmd, &out, &out)
		return out.b, code, err
	}}
}

// limitedBuffer keeps the first 10 KiB of a probe's output, as Kubernetes
// does.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 10<<10 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

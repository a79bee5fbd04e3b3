package agent

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/fence"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// A fenceable pod runs while the federation agent renews, is killed by the
// watchdog at its deadline once renewals stop, is not restarted (nor is a
// new fenceable pod started) while the deadline is past, and starts again
// after a renewal; one with restart policy Never ends, Failed. A pod
// without the label is never touched.
func TestFencedPodRunsOnlyWhileRenewed(t *testing.T) {
	const period = 3 * time.Second
	e := startEnv(t, inProcessWatchdog(t))
	dir := filepath.Join(e.dataDir, "fence")
	renewing := e.renewFence()
	pet := e.create(fencedPod("pet", period))
	once := fencedPod("once", period)
	once.Spec.RestartPolicy = v1.RestartPolicyNever
	e.create(once)
	plain := e.create(workloadPod("plain"))
	p := e.waitPod("pet", 60*time.Second, "Running", running)
	id, pid := p.Status.ContainerStatuses[0].ContainerID, containerPid(p)
	startedAt := p.Status.ContainerStatuses[0].State.Running.StartedAt.Time
	plainID := e.waitPod("plain", 60*time.Second, "Running", running).Status.ContainerStatuses[0].ContainerID

	// Renewals keep moving the deadline: the pet outlives two periods.
	var f fence.File
	testcluster.Eventually(t, 30*time.Second, "the fence file's deadline three periods past the start (two of them renewed)", func() bool {
		var err error
		f, err = fence.Read(dir, string(pet.UID))
		return err == nil && f.Deadline.After(startedAt.Add(3*period))
	})
	if !slices.Equal(f.PGIDs, []int{pid}) || f.Pod != "default/pet" || (e.agent.cg != nil && len(f.Cgroups) == 0) {
		t.Fatalf("fence file %+v: want the process group %d and, with cgroups, the pod's cgroup", f, pid)
	}
	if cs := e.get("pet").Status.ContainerStatuses[0]; cs.ContainerID != id || cs.RestartCount != 0 || cs.State.Running == nil {
		t.Fatalf("the renewed pet did not keep running: %+v", cs)
	}
	if _, err := fence.Read(dir, string(plain.UID)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a pod without the label has a fence file: %v", err)
	}

	// Renewals stop: the watchdog kills the pet at its deadline.
	e.waitFenced(pet, pid, renewing.stop().Add(period))
	p = e.waitPod("pet", 10*time.Second, "reported fenced", reportedFenced)
	if cs := p.Status.ContainerStatuses[0]; cs.RestartCount != 0 || cs.LastState.Terminated.ExitCode != 137 || p.Status.Phase != v1.PodRunning {
		t.Fatalf("fenced pet: %+v", cs)
	}
	e.waitPod("once", 10*time.Second, "Failed, fenced", func(p *v1.Pod) bool {
		if len(p.Status.ContainerStatuses) == 0 {
			return false
		}
		term := p.Status.ContainerStatuses[0].State.Terminated
		return p.Status.Phase == v1.PodFailed && term != nil && term.Reason == reasonFenced
	})

	// Past the deadline nothing fenceable starts: a new pet waits, and
	// the old one has still not been restarted once the new one says so.
	e.create(fencedPod("late", period))
	e.waitPod("late", 30*time.Second, "held back", func(p *v1.Pod) bool {
		return len(p.Status.ContainerStatuses) > 0 && waitsFenced(p.Status.ContainerStatuses[0])
	})
	if cur, _, err := e.agent.Runtime().ContainerStatus(string(pet.UID), "main"); err != nil || cur.Attempt != 0 || cur.State == "Running" {
		t.Fatalf("the fenced pet was restarted: %+v %v", cur, err)
	}
	if n := e.fencedEvents("pet"); n != 1 {
		t.Fatalf("%d Fenced events for the pet, want 1", n)
	}

	// A renewal lets both start.
	e.renewFence()
	e.waitPod("pet", 30*time.Second, "restarted after the renewal", func(p *v1.Pod) bool {
		return running(p) && p.Status.ContainerStatuses[0].RestartCount == 1
	})
	e.waitPod("late", 30*time.Second, "started after the renewal", running)
	if cs := e.get("plain").Status.ContainerStatuses[0]; cs.ContainerID != plainID || cs.RestartCount != 0 || cs.State.Running == nil {
		t.Fatalf("the pod without the label was touched: %+v", cs)
	}
}

// The watchdog fences a pod whose agent is down, and the agent started
// again reports the kill it did not see and does not restart the pod
// before a renewal.
func TestWatchdogFencesWhileTheAgentIsDown(t *testing.T) {
	const period = 2 * time.Second
	e := startEnv(t, inProcessWatchdog(t))
	renewing := e.renewFence()
	pet := e.create(fencedPod("pet", period))
	pid := containerPid(e.waitPod("pet", 60*time.Second, "Running", running))
	testcluster.Eventually(t, 10*time.Second, "the fence file, with a renewed deadline", func() bool {
		f, err := fence.Read(filepath.Join(e.dataDir, "fence"), string(pet.UID))
		return err == nil && slices.Contains(f.PGIDs, pid) && f.Deadline.After(pet.CreationTimestamp.Add(period))
	})
	renewing.stop()
	e.agent.Close()
	f, err := fence.Read(filepath.Join(e.dataDir, "fence"), string(pet.UID)) // the agent's last word
	if err != nil {
		t.Fatal(err)
	}
	e.waitFenced(pet, pid, f.Deadline)
	e.startAgent()
	p := e.waitPod("pet", 30*time.Second, "reported fenced by the new agent", reportedFenced)
	if cs := p.Status.ContainerStatuses[0]; cs.RestartCount != 0 {
		t.Fatalf("fenced pet: %+v", cs)
	}
	e.renewFence()
	e.waitPod("pet", 30*time.Second, "restarted after the renewal", func(p *v1.Pod) bool {
		return running(p) && p.Status.ContainerStatuses[0].RestartCount == 1
	})
}

// waitFenced waits for the watchdog to kill the pod's process pid, no
// later than 1 s after deadline, and for its record of it.
func (e *env) waitFenced(pod *v1.Pod, pid int, deadline time.Time) {
	e.t.Helper()
	testcluster.Eventually(e.t, time.Until(deadline)+10*time.Second, "pod "+pod.Name+" is killed", func() bool { return !alive(pid) })
	if now := time.Now(); now.After(deadline.Add(time.Second)) {
		e.t.Fatalf("pod %s died %v after its deadline, want within 1 s", pod.Name, now.Sub(deadline))
	}
	var rec fence.Record
	testcluster.Eventually(e.t, 10*time.Second, "the watchdog's record", func() bool {
		var err error
		rec, err = fence.ReadRecord(filepath.Join(e.dataDir, "fence"), string(pod.UID))
		return err == nil
	})
	if rec.KilledAt.Before(deadline) || rec.Killed < 1 {
		e.t.Fatalf("fencing record %+v: want a kill at or after %v", rec, deadline)
	}
}

// reportedFenced: the pod's container was killed by the watchdog and
// waits for a renewal to start again.
func reportedFenced(p *v1.Pod) bool {
	if len(p.Status.ContainerStatuses) == 0 {
		return false
	}
	cs := p.Status.ContainerStatuses[0]
	return waitsFenced(cs) && cs.LastState.Terminated != nil && cs.LastState.Terminated.Reason == reasonFenced
}

func waitsFenced(cs v1.ContainerStatus) bool {
	return cs.State.Waiting != nil && cs.State.Waiting.Reason == reasonFenced
}

// inProcessWatchdog makes the agent run its fence watchdog as a goroutine
// of the test (the test binary is not kennel), stopped when the test ends.
func inProcessWatchdog(t *testing.T) func(*Config) {
	return func(c *Config) {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		t.Cleanup(func() {
			cancel()
			wg.Wait()
		})
		log := c.Logger.With("component", "fence-watchdog")
		c.FenceWatchdog = func(dir string) error {
			wg.Go(func() { _ = fence.Watch(ctx, dir, log) })
			return nil
		}
	}
}

func fencedPod(name string, period time.Duration) *v1.Pod {
	p := workloadPod(name)
	p.Labels[fence.LabelFenced] = "true"
	p.Annotations = map[string]string{fence.AnnotationFencingPeriod: period.String()}
	return p
}

// renewal writes the fence ConfigMap's renewal time every 100 ms, as a
// federation agent in touch with its federation does, until stopped.
type renewal struct {
	quit, done chan struct{}
	last       time.Time // the last renewal written; read after done
}

func (e *env) renewFence() *renewal {
	r := &renewal{quit: make(chan struct{}), done: make(chan struct{})}
	renew := func() {
		if now := time.Now(); e.setRenewed(now) == nil {
			r.last = now
		}
	}
	renew()
	go func() {
		defer close(r.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-r.quit:
				return
			case <-t.C:
				renew()
			}
		}
	}()
	e.t.Cleanup(func() { r.stop() })
	return r
}

// stop ends the renewals and returns the last one written.
func (r *renewal) stop() time.Time {
	select {
	case <-r.quit:
	default:
		close(r.quit)
	}
	<-r.done
	return r.last
}

func (e *env) setRenewed(at time.Time) error {
	ctx := context.Background()
	cms := client.For[*v1.ConfigMap](e.tc.Admin, fence.ConfigMapNamespace)
	data := map[string]string{fence.KeyRenewed: fence.FormatRenewed(at)}
	cm, err := cms.Get(ctx, fence.ConfigMapName)
	if v1.IsNotFound(err) {
		_, err = cms.Create(ctx, &v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Name: fence.ConfigMapName, Namespace: fence.ConfigMapNamespace}, Data: data})
		return err
	}
	if err != nil {
		return err
	}
	cm.Data = data
	_, err = cms.Update(ctx, cm)
	return err
}

// fencedEvents sums the counts of the pod's Fenced events.
func (e *env) fencedEvents(pod string) int {
	evs, err := client.For[*v1.Event](e.tc.Admin, "default").List(context.Background(), client.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, ev := range evs.Items {
		if ev.InvolvedObject.Name == pod && ev.Reason == reasonFenced {
			n += int(max(ev.Count, 1))
		}
	}
	return n
}

func containerPid(p *v1.Pod) int {
	return atoi(strings.TrimPrefix(p.Status.ContainerStatuses[0].ContainerID, "process://"))
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	s, err := readProcStat("/proc", pid)
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z' && s[i+2] != 'X'
}

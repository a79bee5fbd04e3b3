package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/fence"
)

// Fencing (node side). A fenceable pod (label kennel.io/fenced=true, see
// package fence) may run only until its deadline: the federation agent's
// last renewal, read from ConfigMap kennel-system/kennel-federation-fence,
// plus the pod's fencing period. The agent never starts or restarts a
// container of such a pod past its deadline, and keeps for each of them a
// fence file that the fence watchdog — a process of its own, which
// outlives the agent — acts on: at the deadline it kills whatever of the
// pod still runs.

// watchdogCheck is how often the agent makes sure the fence watchdog runs
// while there are fence files.
const watchdogCheck = 2 * time.Second

// fencing is the agent's view of the fencing clock and its watchdog.
type fencing struct {
	dir    string
	log    *slog.Logger
	cms    *client.Informer[*v1.ConfigMap]
	launch func(dir string) error

	mu         sync.Mutex
	launchedAt time.Time
	lastErr    string
}

func newFencing(a *Agent) *fencing {
	launch := a.cfg.FenceWatchdog
	if launch == nil {
		launch = launchWatchdog
	}
	cms := client.NewInformer(client.For[*v1.ConfigMap](a.cfg.Client, fence.ConfigMapNamespace),
		client.ListOptions{FieldSelector: "metadata.name=" + fence.ConfigMapName}, a.log)
	return &fencing{dir: filepath.Join(a.cfg.DataDir, "fence"), log: a.log, cms: cms, launch: launch}
}

// launchWatchdog starts `kennel fence-watchdog --dir DIR` from this
// binary, detached. A test binary is not kennel: tests set
// Config.FenceWatchdog (agent tests run fence.Watch in-process).
func launchWatchdog(dir string) error {
	if testing.Testing() {
		return errors.New("agent: fence watchdog: not started from a test binary (set Config.FenceWatchdog)")
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("agent: fence watchdog: %w", err)
	}
	if err := fence.Launch(dir, exe, "fence-watchdog", "--dir", dir); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	return nil
}

// start watches the fence ConfigMap, waking the workers of fenceable pods
// whenever it changes and once it is first known, and keeps the watchdog
// running while fence files exist.
func (f *fencing) start(ctx context.Context, a *Agent) {
	wake := func(any) { a.wakeFenceable() }
	f.cms.AddHandler(client.HandlerFuncs{AddFunc: wake, UpdateFunc: func(_, o any) { wake(o) }, DeleteFunc: wake})
	a.wg.Go(func() { f.cms.Run(ctx) })
	a.wg.Go(func() {
		if f.cms.WaitForSync(ctx) {
			a.wakeFenceable() // a missing ConfigMap sends no event
		}
	})
	a.wg.Go(func() {
		t := time.NewTicker(watchdogCheck)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if fence.Pending(f.dir) {
				f.ensureWatchdog()
			}
		}
	})
}

// deadline is a fenceable pod's deadline and what it counts from; known
// is false until the fence ConfigMap has been read once.
func (f *fencing) deadline(pod *v1.Pod, period time.Duration) (deadline time.Time, from string, known bool) {
	if !f.cms.HasSynced() {
		return time.Time{}, "", false
	}
	cm, _ := f.cms.Get(fence.ConfigMapNamespace + "/" + fence.ConfigMapName)
	renewed, ok := fence.Renewed(cm)
	from = "the federation agent's last renewal"
	if !ok {
		from = "the pod's creation, no renewal being known"
	}
	return fence.Deadline(pod, period, renewed, ok), from, true
}

// ensureWatchdog starts the watchdog unless one holds the directory's
// lock, or one was started a moment ago (it may not hold the lock yet).
func (f *fencing) ensureWatchdog() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fence.Running(f.dir) || time.Since(f.launchedAt) < watchdogCheck {
		return
	}
	f.launchedAt = time.Now()
	if err := f.launch(f.dir); err != nil {
		if err.Error() != f.lastErr {
			f.log.Error("cannot start the fence watchdog: fenceable pods are not killed at their deadline if the agent dies", "err", err)
		}
		f.lastErr = err.Error()
		return
	}
	f.lastErr = ""
	f.log.Info("started the fence watchdog", "dir", f.dir)
}

// wakeFenceable wakes the workers of fenceable pods: their deadline may
// have moved.
func (a *Agent) wakeFenceable() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, w := range a.workers {
		w.mu.Lock()
		p := w.pod
		w.mu.Unlock()
		if p != nil && p.Labels[fence.LabelFenced] == "true" {
			w.wake()
		}
	}
}

// podCgroups are the directories of the pod's cgroup (one per hierarchy
// on v1), when the agent runs pods in cgroups.
func (a *Agent) podCgroups(uid string) []string {
	if a.cg == nil {
		return nil
	}
	return fence.CgroupDirs(cgroupRoot, filepath.Join(cgroupParent(a.cfg.NodeName), uid))
}

package process

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kennel-dev/kennel/internal/atomicfile"
	"github.com/kennel-dev/kennel/internal/cgroups"
	"github.com/kennel-dev/kennel/internal/runtime"
)

// record is what the runtime keeps on disk of one container: enough to
// adopt its process after a restart and to report its last two starts.
type record struct {
	Config  runtime.ContainerConfig `json:"config"`
	Current runtime.ContainerStatus `json:"current"`
	// StartTicks is the process's start time from /proc: with the pid it
	// tells this process from a later one that reuses the pid.
	StartTicks uint64 `json:"startTicks,omitempty"`
	// OOMKillsAtStart is the pod cgroup's OOM kill count when the process
	// started; more at its death by SIGKILL means the OOM killer did it.
	OOMKillsAtStart uint64                   `json:"oomKillsAtStart,omitempty"`
	Previous        *runtime.ContainerStatus `json:"previous,omitempty"`
}

func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := atomicfile.Write(path, data, mode); err != nil {
		return fmt.Errorf("process runtime: %w", err)
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("process runtime: encode %s: %w", filepath.Base(path), err)
	}
	return writeFile(path, b, 0o600)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("process runtime: decode %s: %w", path, err)
	}
	return nil
}

// recover loads every sandbox under the root. A container recorded as
// running whose process is still the same one is adopted and watched; one
// whose process is gone is recorded as exited with an unknown code.
func (r *Runtime) recover() error {
	entries, err := os.ReadDir(r.cfg.Root)
	if err != nil {
		return fmt.Errorf("process runtime: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		uid := e.Name()
		var cfg runtime.SandboxConfig
		if err := readJSON(filepath.Join(r.podDir(uid), "sandbox.json"), &cfg); err != nil {
			// A sandbox whose creation never finished has nothing to adopt.
			r.log.Warn("removing incomplete sandbox", "pod", uid, "err", err)
			_ = os.RemoveAll(r.podDir(uid))
			continue
		}
		p := &pod{cfg: cfg, containers: map[string]*container{}}
		if r.cfg.Cgroups != nil {
			g, err := r.cfg.Cgroups.Open(uid)
			if errors.Is(err, fs.ErrNotExist) {
				g, err = r.cfg.Cgroups.Create(uid, cfg.Resources)
			}
			if err != nil {
				return fmt.Errorf("process runtime: sandbox %s: %w", uid, err)
			}
			p.group = g
		}
		if err := r.recoverContainers(p); err != nil {
			return err
		}
		r.pods[uid] = p
	}
	return nil
}

func (r *Runtime) recoverContainers(p *pod) error {
	dir := filepath.Join(r.podDir(p.cfg.UID), "containers")
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("process runtime: %w", err)
	}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue // a temporary file of an interrupted write
		}
		c := &container{done: make(chan struct{})}
		if err := readJSON(filepath.Join(dir, e.Name()), &c.rec); err != nil {
			return err
		}
		p.containers[name] = c
		cur := c.rec.Current
		switch {
		case cur.State != runtime.StateRunning:
			close(c.done)
		case alive(r.procRoot, cur.Pid, c.rec.StartTicks):
			r.log.Info("adopted running container", "pod", p.cfg.Namespace+"/"+p.cfg.Name, "container", name, "pid", cur.Pid)
			r.wg.Go(func() { r.watchAdopted(p, name, c) })
		default:
			r.finish(p, name, c, r.lostExit(p, c))
		}
	}
	return nil
}

// watchAdopted waits for an adopted process to end. It is not this
// process's child, so it cannot be waited for; its /proc entry is polled.
func (r *Runtime) watchAdopted(p *pod, name string, c *container) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		if !alive(r.procRoot, c.rec.Current.Pid, c.rec.StartTicks) {
			r.finish(p, name, c, r.lostExit(p, c))
			return
		}
	}
}

// lostExit is the status of a process that ended while this runtime was
// not its parent: its exit code is lost, but the cgroup still tells an OOM
// kill.
func (r *Runtime) lostExit(p *pod, c *container) runtime.ContainerStatus {
	st := c.rec.Current
	st.State, st.FinishedAt = runtime.StateExited, time.Now()
	st.ExitCode, st.Reason = 255, runtime.ReasonUnknown
	st.Message = "the process ended while the agent was not its parent; its exit code is unknown"
	if p.group != nil {
		if s, err := p.group.Stats(); err == nil && s.OOMKills > c.rec.OOMKillsAtStart {
			st.ExitCode, st.Signal, st.Reason, st.Message = 137, 9, runtime.ReasonOOMKilled, ""
		}
	}
	return st
}

// finish records a container's end, wakes its waiters and tells OnExit.
func (r *Runtime) finish(p *pod, name string, c *container, st runtime.ContainerStatus) {
	select {
	case <-r.stop:
		// A closed runtime records nothing: the next one adopts.
		close(c.done)
		return
	default:
	}
	r.mu.Lock()
	c.rec.Current = st
	err := writeJSON(r.recordPath(p.cfg.UID, name), c.rec)
	// Closed under the lock, so that whoever sees the exit recorded also
	// finds the container done (and may start it again).
	close(c.done)
	r.mu.Unlock()
	if err != nil {
		r.log.Error("cannot record container exit", "pod", p.cfg.UID, "container", name, "err", err)
	}
	if r.cfg.OnExit != nil {
		r.cfg.OnExit(p.cfg.UID, name)
	}
}

// oomKills reads the pod cgroup's OOM kill count (0 without cgroups).
func oomKills(g *cgroups.Group) uint64 {
	if g == nil {
		return 0
	}
	s, err := g.Stats()
	if err != nil {
		return 0
	}
	return s.OOMKills
}

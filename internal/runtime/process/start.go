package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/kennel-dev/kennel/internal/runtime"
)

// StartContainer implements runtime.Runtime.
func (r *Runtime) StartContainer(ctx context.Context, uid string, cfg runtime.ContainerConfig) (runtime.ContainerStatus, error) {
	if len(cfg.Argv) == 0 {
		return runtime.ContainerStatus{}, fmt.Errorf("process runtime: container %q: argv is empty", cfg.Name)
	}
	r.mu.Lock()
	p, ok := r.pods[uid]
	var prev *container
	if ok {
		prev = p.containers[cfg.Name]
	}
	r.mu.Unlock()
	if !ok {
		return runtime.ContainerStatus{}, fmt.Errorf("process runtime: pod %s: %w", uid, runtime.ErrNotFound)
	}
	rec := record{Config: cfg}
	if prev != nil {
		select {
		case <-prev.done:
		default:
			return runtime.ContainerStatus{}, fmt.Errorf("process runtime: container %q of pod %s is still running", cfg.Name, uid)
		}
		last := prev.rec.Current
		rec.Previous = &last
	}
	c := &container{rec: rec, done: make(chan struct{})}
	st, cmd := r.launch(p, c)
	c.rec.Current = st
	r.mu.Lock()
	p.containers[cfg.Name] = c
	err := writeJSON(r.recordPath(uid, cfg.Name), c.rec)
	r.mu.Unlock()
	if cmd == nil {
		close(c.done)
		return st, err
	}
	// Not part of r.wg: the process may outlive Close, and is still
	// reaped then.
	go r.wait(p, cfg.Name, c, cmd)
	r.pruneLogs(uid, cfg.Name, cfg.Attempt)
	return st, err
}

// launch starts the process. With no process to wait for (the command
// could not be started) it returns a StartError status and a nil Cmd.
func (r *Runtime) launch(p *pod, c *container) (runtime.ContainerStatus, *exec.Cmd) {
	cfg := c.rec.Config
	st := runtime.ContainerStatus{Name: cfg.Name, Attempt: cfg.Attempt, StartedAt: time.Now()}
	startErr := func(err error) (runtime.ContainerStatus, *exec.Cmd) {
		st.State, st.FinishedAt = runtime.StateExited, time.Now()
		st.ExitCode, st.Reason, st.Message = 128, runtime.ReasonStartError, err.Error()
		return st, nil
	}
	path, err := lookPath(cfg.Argv[0], cfg.Env, cfg.WorkingDir)
	if err != nil {
		return startErr(err)
	}
	logFile, err := r.openLog(p.cfg.UID, cfg.Name, cfg.Attempt)
	if err != nil {
		return startErr(err)
	}
	defer logFile.Close()
	cmd := &exec.Cmd{Path: path, Args: cfg.Argv, Env: cfg.Env, Dir: cfg.WorkingDir,
		Stdout: logFile, Stderr: logFile, SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
	c.rec.OOMKillsAtStart = oomKills(p.group)
	b := r.birthplace(p)
	if b.newNS {
		for _, m := range cfg.Mounts {
			b.binds = append(b.binds, bind{Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly, Dir: true})
		}
	}
	if err := start(cmd, b); err != nil {
		return startErr(err)
	}
	pid := cmd.Process.Pid
	if ps, err := readProcStat(r.procRoot, pid); err == nil {
		c.rec.StartTicks = ps.StartTicks
	}
	st.Pid, st.State, st.ID = pid, runtime.StateRunning, "process://"+strconv.Itoa(pid)
	return st, cmd
}

// birthplace is where a pod's containers are born: its cgroup and, with
// namespaces on, new UTS and mount namespaces with its hostname and files.
func (r *Runtime) birthplace(p *pod) birthplace {
	b := birthplace{group: p.group}
	if r.cfg.Namespaces {
		b.newNS, b.hostname, b.binds = true, p.cfg.Hostname, r.binds(p.cfg.UID)
	}
	return b
}

// binds are the pod's files mounted over the host's in its namespace.
func (r *Runtime) binds(uid string) []bind {
	var out []bind
	for _, name := range []string{"hosts", "resolv.conf"} {
		src := filepath.Join(r.podDir(uid), name)
		if st, err := os.Stat(src); err != nil || st.Size() == 0 {
			continue
		}
		if _, err := os.Stat("/etc/" + name); err != nil {
			continue
		}
		out = append(out, bind{Source: src, Target: "/etc/" + name})
	}
	return out
}

// wait reaps the container's process and records how it ended.
func (r *Runtime) wait(p *pod, name string, c *container, cmd *exec.Cmd) {
	err := cmd.Wait()
	st := c.rec.Current
	st.State, st.FinishedAt = runtime.StateExited, time.Now()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		st.ExitCode, st.Reason, st.Message = 255, runtime.ReasonUnknown, err.Error()
		r.finish(p, name, c, st)
		return
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	st.ExitCode, st.Signal = exitStatus(ws)
	switch {
	case st.Signal == int(syscall.SIGKILL) && oomKills(p.group) > c.rec.OOMKillsAtStart:
		st.Reason = runtime.ReasonOOMKilled
	case st.ExitCode == 0:
		st.Reason = runtime.ReasonCompleted
	default:
		st.Reason = runtime.ReasonError
	}
	r.finish(p, name, c, st)
}

// checkNamespaces starts true once in new namespaces to learn whether
// this machine lets us create them.
func (r *Runtime) checkNamespaces() error {
	cmd := exec.Command("true")
	if err := start(cmd, birthplace{newNS: true, hostname: "kennel-check"}); err != nil {
		return fmt.Errorf("process runtime: namespaces: %w", err)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("process runtime: namespaces: %w", err)
	}
	return nil
}

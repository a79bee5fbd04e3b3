package process

import (
	"context"
	"encoding/json"
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
	cmd, goAhead, err := r.command(p, path, cfg, logFile)
	if err != nil {
		return startErr(err)
	}
	c.rec.OOMKillsAtStart = oomKills(p.group)
	if err := cmd.Start(); err != nil {
		closeFiles(goAhead, cmd.ExtraFiles)
		return startErr(err)
	}
	closeFiles(nil, cmd.ExtraFiles)
	pid := cmd.Process.Pid
	if goAhead != nil {
		// The init blocks until it is in the pod's cgroup, so nothing of
		// the container ever runs outside its limits.
		err := p.group.Join(pid)
		if err == nil {
			_, err = goAhead.Write([]byte{1})
		}
		goAhead.Close()
		if err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return startErr(fmt.Errorf("join the pod cgroup: %w", err))
		}
	}
	if ps, err := readProcStat(r.procRoot, pid); err == nil {
		c.rec.StartTicks = ps.StartTicks
	}
	st.Pid, st.State, st.ID = pid, runtime.StateRunning, "process://"+strconv.Itoa(pid)
	return st, cmd
}

// command builds the process: the container's command itself, or, when
// the pod has namespaces or a cgroup, the init that sets them up first.
// goAhead, when not nil, is the pipe end that releases the init once it is
// in the pod's cgroup.
func (r *Runtime) command(p *pod, path string, cfg runtime.ContainerConfig, logFile *os.File) (*exec.Cmd, *os.File, error) {
	attr := &syscall.SysProcAttr{Setpgid: true}
	if !r.useInit {
		cmd := &exec.Cmd{Path: path, Args: cfg.Argv, Env: cfg.Env, Dir: cfg.WorkingDir,
			Stdout: logFile, Stderr: logFile, SysProcAttr: attr}
		return cmd, nil, nil
	}
	// The init looks the command up again, from the working directory.
	ic := initConfig{Argv: cfg.Argv, Env: cfg.Env, Dir: cfg.WorkingDir}
	if r.cfg.Namespaces {
		attr.Cloneflags = syscall.CLONE_NEWUTS | syscall.CLONE_NEWNS
		ic.Hostname = p.cfg.Hostname
		ic.Binds = r.binds(p.cfg.UID)
	}
	cmd := &exec.Cmd{Path: r.cfg.InitPath, Args: []string{"kennel-init"},
		Stdout: logFile, Stderr: logFile, SysProcAttr: attr}
	var goAhead *os.File
	if p.group != nil {
		rd, wr, err := os.Pipe()
		if err != nil {
			return nil, nil, err
		}
		ic.Wait, goAhead = true, wr
		cmd.ExtraFiles = []*os.File{rd}
	}
	raw, err := json.Marshal(ic)
	if err != nil {
		closeFiles(goAhead, cmd.ExtraFiles)
		return nil, nil, err
	}
	cmd.Env = []string{initEnv + "=" + string(raw)}
	return cmd, goAhead, nil
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

func closeFiles(f *os.File, fs []*os.File) {
	if f != nil {
		f.Close()
	}
	for _, x := range fs {
		x.Close()
	}
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

// checkNamespaces starts the init once in new namespaces to learn whether
// this machine lets us create them.
func (r *Runtime) checkNamespaces() error {
	raw, _ := json.Marshal(initConfig{Check: true, Hostname: "kennel-check", Argv: []string{"true"}})
	cmd := &exec.Cmd{Path: r.cfg.InitPath, Args: []string{"kennel-init"},
		Env:         []string{initEnv + "=" + string(raw)},
		SysProcAttr: &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUTS | syscall.CLONE_NEWNS}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("process runtime: namespaces: %v: %s", err, out)
	}
	return nil
}

package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"syscall"
	"time"

	"github.com/kennel-dev/kennel/internal/runtime"
)

// Exec implements runtime.Runtime. The command gets the container's
// environment and working directory and is born in the pod's cgroup and,
// where pods have namespaces, in the container's UTS and mount
// namespaces. It is killed when ctx ends.
func (r *Runtime) Exec(ctx context.Context, uid, name string, cmdline []string, stdout, stderr io.Writer) (int, error) {
	if len(cmdline) == 0 {
		return -1, errors.New("process runtime: exec: command is empty")
	}
	r.mu.Lock()
	c, err := r.containerLocked(uid, name)
	var p *pod
	var cur runtime.ContainerStatus
	if err == nil {
		p, cur = r.pods[uid], c.rec.Current
	}
	r.mu.Unlock()
	if err != nil {
		return -1, err
	}
	if cur.State != runtime.StateRunning {
		return -1, fmt.Errorf("process runtime: exec: container %q is not running", name)
	}
	cfg := c.rec.Config
	path, err := lookPath(cmdline[0], cfg.Env, cfg.WorkingDir)
	if err != nil {
		return -1, fmt.Errorf("process runtime: exec: %w", err)
	}
	cmd := &exec.Cmd{Path: path, Args: cmdline, Env: cfg.Env, Dir: cfg.WorkingDir, Stdout: stdout, Stderr: stderr,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true}, WaitDelay: time.Second}
	b := birthplace{group: p.group}
	if r.cfg.Namespaces {
		b.enterPid = cur.Pid
	}
	if err := start(cmd, b); err != nil {
		return -1, fmt.Errorf("process runtime: exec: %w", err)
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		case <-done:
		}
	}()
	err = cmd.Wait()
	close(done)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return -1, fmt.Errorf("process runtime: exec: %w", err)
	}
	code, _ := exitStatus(cmd.ProcessState.Sys().(syscall.WaitStatus))
	return code, nil
}

package process

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/kennel-dev/kennel/internal/runtime"
)

// Exec implements runtime.Runtime. The command gets the container's
// environment and working directory, joins the pod's cgroup before it
// runs, and, where the pod has namespaces and nsenter is installed, enters
// the container's UTS and mount namespaces. It is killed when ctx ends.
func (r *Runtime) Exec(ctx context.Context, uid, name string, cmdline []string, stdout, stderr io.Writer) (int, error) {
	if len(cmdline) == 0 {
		return -1, errors.New("process runtime: exec: command is empty")
	}
	r.mu.Lock()
	c, err := r.containerLocked(uid, name)
	var p *pod
	if err == nil {
		p = r.pods[uid]
	}
	r.mu.Unlock()
	if err != nil {
		return -1, err
	}
	cur := c.rec.Current
	if cur.State != runtime.StateRunning {
		return -1, fmt.Errorf("process runtime: exec: container %q is not running", name)
	}
	cmd, goAhead, err := r.execCommand(p, c, cmdline)
	if err != nil {
		return -1, err
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		closeFiles(goAhead, cmd.ExtraFiles)
		return -1, fmt.Errorf("process runtime: exec: %w", err)
	}
	closeFiles(nil, cmd.ExtraFiles)
	if goAhead != nil {
		err := p.group.Join(cmd.Process.Pid)
		if err == nil {
			_, err = goAhead.Write([]byte{1})
		}
		goAhead.Close()
		if err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return -1, fmt.Errorf("process runtime: exec: join the pod cgroup: %w", err)
		}
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

func (r *Runtime) execCommand(p *pod, c *container, cmdline []string) (*exec.Cmd, *os.File, error) {
	cfg := c.rec.Config
	attr := &syscall.SysProcAttr{Setpgid: true}
	if !r.useInit {
		path, err := lookPath(cmdline[0], cfg.Env, cfg.WorkingDir)
		if err != nil {
			return nil, nil, fmt.Errorf("process runtime: exec: %w", err)
		}
		return &exec.Cmd{Path: path, Args: cmdline, Env: cfg.Env, Dir: cfg.WorkingDir, SysProcAttr: attr}, nil, nil
	}
	ic := initConfig{Argv: cmdline, Env: cfg.Env, Dir: cfg.WorkingDir}
	if r.cfg.Namespaces && r.nsenter != "" {
		argv := []string{r.nsenter, "--target", strconv.Itoa(c.rec.Current.Pid), "--uts", "--mount"}
		if cfg.WorkingDir != "" {
			argv = append(argv, "--wd="+cfg.WorkingDir)
		}
		ic.Argv = append(append(argv, "--"), cmdline...)
	}
	cmd := &exec.Cmd{Path: r.cfg.InitPath, Args: []string{"kennel-init"}, SysProcAttr: attr, WaitDelay: time.Second}
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

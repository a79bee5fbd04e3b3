package process

import (
	"context"
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// errClosed is returned by calls that wait on a closed runtime.
var errClosed = errors.New("process runtime: closed")

// StopContainer implements runtime.Runtime.
func (r *Runtime) StopContainer(ctx context.Context, uid, name string, grace time.Duration) error {
	r.mu.Lock()
	c, err := r.containerLocked(uid, name)
	var pid int
	var ticks uint64
	if err == nil {
		// finish rewrites Current under the lock.
		pid, ticks = c.rec.Current.Pid, c.rec.StartTicks
	}
	r.mu.Unlock()
	if err != nil {
		return err
	}
	if grace > 0 && r.signal(c, pid, ticks, unix.SIGTERM) {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-c.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-r.stop:
			return errClosed
		case <-t.C:
		}
	}
	r.signal(c, pid, ticks, unix.SIGKILL)
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-r.stop:
		// A closed runtime no longer watches adopted processes.
		return errClosed
	}
}

// signal sends sig to the container's process group (its pgid is its pid)
// and to the process itself, in case it left the group. It reports whether
// the process was still there to signal.
func (r *Runtime) signal(c *container, pid int, startTicks uint64, sig unix.Signal) bool {
	select {
	case <-c.done:
		return false
	default:
	}
	if pid <= 0 || (startTicks != 0 && !alive(r.procRoot, pid, startTicks)) {
		// Not yet reaped but already dead, or a pid now used by another
		// process: signal nothing.
		return false
	}
	errGroup := unix.Kill(-pid, sig)
	errProc := unix.Kill(pid, sig)
	return !errors.Is(errGroup, unix.ESRCH) || !errors.Is(errProc, unix.ESRCH)
}

package fence

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrAlreadyRunning is returned by Watch when another watchdog holds the
// directory's lock.
var ErrAlreadyRunning = errors.New("fence: another watchdog holds the directory")

const (
	lockName = "watchdog.lock"
	// LogName is the file, in the fence directory, that Launch sends the
	// watchdog's output to.
	LogName = "watchdog.log"
	// lockAttempts and lockPause: Running takes the lock (shared) for an
	// instant to test it, so a watchdog starting then tries a few times.
	lockAttempts = 5
	lockPause    = 20 * time.Millisecond
)

// lockDir takes dir's watchdog lock; it is held while the file stays open.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("fence: lock: %w", err)
	}
	for range lockAttempts {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("fence: lock %s: %w", f.Name(), err)
		}
		time.Sleep(lockPause)
	}
	f.Close()
	return nil, ErrAlreadyRunning
}

// Running reports whether a watchdog holds dir's lock.
func Running(dir string) bool {
	f, err := os.Open(filepath.Join(dir, lockName))
	if err != nil {
		return false
	}
	defer f.Close() // releases the test lock below
	err = unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
	return errors.Is(err, unix.EWOULDBLOCK)
}

// Launch starts name with args — the kennel binary's `fence-watchdog
// --dir DIR` — so that it outlives the caller: in a session of its own,
// stdin /dev/null, output appended to dir/LogName. It returns once the
// process has started, not once it holds the lock; a second watchdog
// started meanwhile exits by itself. While the caller lives, a goroutine
// waits for the process so that it leaves no zombie.
func Launch(dir, name string, args ...string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("fence: directory %s: %w", dir, err)
	}
	out, err := os.OpenFile(filepath.Join(dir, LogName), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("fence: watchdog log: %w", err)
	}
	defer out.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		return fmt.Errorf("fence: %w", err)
	}
	defer null.Close()
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Stdin, cmd.Stdout, cmd.Stderr = "/", null, out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("fence: start the watchdog: %w", err)
	}
	go func() { _ = cmd.Wait() }()
	return nil
}

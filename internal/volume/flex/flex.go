// Package flex runs FlexVolume driver executables for the agent
// (SPECS.md §4). It finds a driver in the plugin directory when a volume
// asks for it, so drivers installed or replaced while the agent runs are
// used without a restart; it speaks the call convention with a timeout on
// every call and remembers the calls a driver answered "Not supported";
// and it composes the calls in the kubelet's order to set up and tear
// down a pod's volume, with the agent's own mount and bind fallbacks.
package flex

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultDir is the kubelet's default FlexVolume plugin directory.
const DefaultDir = "/usr/libexec/kubernetes/kubelet-plugins/volume/exec/"

// DefaultTimeout bounds one driver call when Config.Timeout is zero.
const DefaultTimeout = 2 * time.Minute

// ErrDriverNotFound is matched (errors.Is) by the error of a volume whose
// driver has no executable in the plugin directory.
var ErrDriverNotFound = errors.New("flex: driver not found")

// Runner runs the executable at path with args and returns what it wrote
// to stdout and stderr together. An error with output (a non-zero exit)
// does not fail the call by itself: the JSON in the output decides. An
// error without output (the executable could not be started, the context
// ended) fails the call.
type Runner func(ctx context.Context, path string, args ...string) ([]byte, error)

// Config configures the drivers' runner.
type Config struct {
	// Dir is the plugin directory (DefaultDir when empty).
	Dir string
	// Timeout bounds every call, waitforattach included (DefaultTimeout
	// when zero).
	Timeout time.Duration
	// Run launches a driver; nil runs the executable, killing its whole
	// process group when the call times out.
	Run Runner
	// Logger receives debug lines per call and warnings about cleanups
	// that failed; nil discards them.
	Logger *slog.Logger
}

// Plugins finds and runs the FlexVolume drivers of one plugin directory.
// It is safe for concurrent use.
type Plugins struct {
	dir     string
	timeout time.Duration
	run     Runner
	log     *slog.Logger

	mu     sync.Mutex
	probes map[string]*probe // by executable path
}

// probe is the init of one version of a driver executable; done is closed
// once d or err is set.
type probe struct {
	mtime time.Time
	size  int64
	done  chan struct{}
	d     *Driver
	err   error
}

// NewPlugins returns the drivers of cfg.Dir. Nothing is read until a
// driver is asked for.
func NewPlugins(cfg Config) *Plugins {
	p := &Plugins{dir: cfg.Dir, timeout: cfg.Timeout, run: cfg.Run, log: cfg.Logger, probes: map[string]*probe{}}
	if p.dir == "" {
		p.dir = DefaultDir
	}
	if p.timeout <= 0 {
		p.timeout = DefaultTimeout
	}
	if p.run == nil {
		p.run = runExecutable
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p
}

// notFoundError is the error of a driver with no executable; it matches
// ErrDriverNotFound.
type notFoundError struct{ name, path string }

func (e *notFoundError) Error() string {
	return fmt.Sprintf("flex: driver %q not found: no executable at %s", e.name, e.path)
}

func (e *notFoundError) Is(target error) bool { return target == ErrDriverNotFound }

// Driver returns the driver named "vendor/driver", whose executable is
// <dir>/<vendor>~<driver>/<driver>. The executable is looked up on every
// call; init runs once per version of it (path, modification time and
// size), so a replaced driver is initialised again and starts with no
// remembered "Not supported" answers. A driver whose init failed is not
// used until its executable changes (touching it is enough); an init
// that timed out is tried again on the next call.
func (p *Plugins) Driver(ctx context.Context, name string) (*Driver, error) {
	path, err := p.executable(name)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(path)
	if err != nil || !isExecutable(fi) {
		p.forget(path, nil)
		return nil, &notFoundError{name: name, path: path}
	}
	pr, fresh := p.probeFor(path, fi)
	if fresh {
		pr.d, pr.err = p.initialize(ctx, name, path)
		close(pr.done)
		if errors.Is(pr.err, context.DeadlineExceeded) || errors.Is(pr.err, context.Canceled) {
			p.forget(path, pr)
		}
	}
	select {
	case <-pr.done:
		return pr.d, pr.err
	case <-ctx.Done():
		return nil, fmt.Errorf("flex: driver %q: waiting for init: %w", name, ctx.Err())
	}
}

// executable maps "vendor/driver" to its path.
func (p *Plugins) executable(name string) (string, error) {
	vendor, drv, ok := strings.Cut(name, "/")
	if !ok || vendor == "" || drv == "" || strings.Contains(drv, "/") ||
		vendor == ".." || drv == ".." || vendor == "." || drv == "." {
		return "", fmt.Errorf("flex: driver name %q: want \"<vendor>/<driver>\"", name)
	}
	return filepath.Join(p.dir, vendor+"~"+drv, drv), nil
}

func isExecutable(fi fs.FileInfo) bool {
	return fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// probeFor returns the probe of this version of path, and whether the
// caller made it and must run init.
func (p *Plugins) probeFor(path string, fi fs.FileInfo) (*probe, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pr, ok := p.probes[path]; ok && pr.mtime.Equal(fi.ModTime()) && pr.size == fi.Size() {
		return pr, false
	}
	pr := &probe{mtime: fi.ModTime(), size: fi.Size(), done: make(chan struct{})}
	p.probes[path] = pr
	return pr, true
}

// forget drops the probe of path (only pr, when pr is not nil).
func (p *Plugins) forget(path string, pr *probe) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pr == nil || p.probes[path] == pr {
		delete(p.probes, path)
	}
}

// initialize runs init; its error names the driver, the plugin path and
// the driver's message.
func (p *Plugins) initialize(ctx context.Context, name, path string) (*Driver, error) {
	d := &Driver{name: name, path: path, attach: true, timeout: p.timeout, run: p.run,
		log: p.log.With("driver", name), unsupported: map[string]bool{}}
	res, err := d.call(ctx, "init")
	if err != nil {
		return nil, fmt.Errorf("%w (plugin %s)", err, path)
	}
	if res.Capabilities != nil && res.Capabilities.Attach != nil {
		d.attach = *res.Capabilities.Attach
	}
	p.log.Info("flex: driver initialised", "driver", name, "path", path, "attach", d.attach)
	return d, nil
}

// List names the drivers ("vendor/driver") that have an executable in the
// plugin directory now, sorted. Their init has not necessarily been run.
func (p *Plugins) List() []string {
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		vendor, drv, ok := strings.Cut(e.Name(), "~")
		if !ok || strings.HasPrefix(e.Name(), ".") || vendor == "" || drv == "" {
			continue
		}
		fi, err := os.Stat(filepath.Join(p.dir, e.Name(), drv))
		if err == nil && isExecutable(fi) {
			out = append(out, vendor+"/"+drv)
		}
	}
	sort.Strings(out)
	return out
}

// runExecutable is the default Runner: the driver and anything it starts
// form one process group, killed as a whole when ctx ends, so a hung
// driver cannot outlive its timeout.
func runExecutable(ctx context.Context, path string, args ...string) ([]byte, error) {
	return retryBusy(ctx, func() ([]byte, error) { return runOnce(ctx, path, args...) }, pause)
}

// busyAttempts bounds the starts of a driver whose file is busy.
const busyAttempts = 5

// retryBusy calls run again while it fails with ETXTBSY ("text file
// busy"): the driver's file is open for writing somewhere, which is
// short-lived — a driver being installed or upgraded, or, for an
// instant, a descriptor that a process forked elsewhere in this one holds
// until its exec (golang.org/issue/22315). pause waits between attempts
// (20 ms, 40 ms …) and reports false when ctx ended first.
func retryBusy(ctx context.Context, run func() ([]byte, error), pause func(context.Context, time.Duration) bool) ([]byte, error) {
	for attempt := 1; ; attempt++ {
		out, err := run()
		if !errors.Is(err, syscall.ETXTBSY) || attempt == busyAttempts || !pause(ctx, time.Duration(attempt)*20*time.Millisecond) {
			return out, err
		}
	}
}

func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func runOnce(ctx context.Context, path string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A daemon started by the driver may hold the output pipe open; stop
	// waiting for it shortly after the driver itself has exited.
	cmd.WaitDelay = time.Second
	return cmd.CombinedOutput()
}

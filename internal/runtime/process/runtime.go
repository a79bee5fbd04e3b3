package process

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/kennel-dev/kennel/internal/cgroups"
	"github.com/kennel-dev/kennel/internal/runtime"
	"github.com/kennel-dev/kennel/internal/version"
)

// Config configures the process runtime.
type Config struct {
	// Root is the directory the runtime keeps its pods' state and logs in.
	Root string
	// Cgroups places each pod in a cgroup with its limits; nil runs pods
	// without cgroups (not root, or no usable hierarchy).
	Cgroups *cgroups.Manager
	// Namespaces gives each pod its own UTS and mount namespaces (needs
	// root). New checks that they work and turns them off, saying so
	// once, when they do not.
	Namespaces bool
	// OnExit is called (without locks held) when a container's process
	// ends.
	OnExit func(uid, container string)
	// LogMaxBytes is the size at which a container's log is rotated
	// (default 10 MiB); LogMaxFiles is how many rotated files are kept
	// (default 1).
	LogMaxBytes int64
	LogMaxFiles int
	// LogCheckInterval is how often log sizes are checked (default 10 s).
	LogCheckInterval time.Duration
	Logger           *slog.Logger
}

// Runtime is the process runtime.
type Runtime struct {
	cfg      Config
	log      *slog.Logger
	procRoot string

	mu   sync.Mutex
	pods map[string]*pod

	stop chan struct{}
	wg   sync.WaitGroup
}

var _ runtime.Runtime = (*Runtime)(nil)

type pod struct {
	cfg        runtime.SandboxConfig
	group      *cgroups.Group
	containers map[string]*container
}

type container struct {
	rec  record
	done chan struct{} // closed when rec.Current has exited
}

// New opens the runtime's root, adopting the sandboxes and processes a
// previous run left there.
func New(cfg Config) (*Runtime, error) {
	if cfg.Root == "" {
		return nil, errors.New("process runtime: root is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.LogMaxBytes <= 0 {
		cfg.LogMaxBytes = 10 << 20
	}
	if cfg.LogMaxFiles <= 0 {
		cfg.LogMaxFiles = 1
	}
	if cfg.LogCheckInterval <= 0 {
		cfg.LogCheckInterval = 10 * time.Second
	}
	if err := os.MkdirAll(cfg.Root, 0o700); err != nil {
		return nil, fmt.Errorf("process runtime: %w", err)
	}
	r := &Runtime{cfg: cfg, log: cfg.Logger.With("component", "runtime"), procRoot: "/proc",
		pods: map[string]*pod{}, stop: make(chan struct{})}
	if cfg.Namespaces {
		if err := r.checkNamespaces(); err != nil {
			r.log.Warn("pods run without their own UTS and mount namespaces", "err", err)
			r.cfg.Namespaces = false
		}
	}
	if err := r.recover(); err != nil {
		return nil, err
	}
	r.wg.Go(r.rotateLoop)
	return r, nil
}

// Close stops the runtime's background work. Containers keep running.
func (r *Runtime) Close() error {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	r.wg.Wait()
	return nil
}

// Name implements runtime.Runtime.
func (r *Runtime) Name() string { return "kennel-process://" + version.Get() }

// SupportsImages implements runtime.Runtime: processes have no images.
func (r *Runtime) SupportsImages() bool { return false }

// Namespaces reports whether pods get their own UTS and mount namespaces.
func (r *Runtime) Namespaces() bool { return r.cfg.Namespaces }

// Sandboxes implements runtime.Runtime.
func (r *Runtime) Sandboxes() []runtime.SandboxConfig {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]runtime.SandboxConfig, 0, len(r.pods))
	for _, p := range r.pods {
		out = append(out, p.cfg)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UID < out[j].UID })
	return out
}

// CreateSandbox implements runtime.Runtime.
func (r *Runtime) CreateSandbox(ctx context.Context, cfg runtime.SandboxConfig) error {
	if cfg.UID == "" || filepath.Base(cfg.UID) != cfg.UID {
		return fmt.Errorf("process runtime: sandbox uid %q is not a valid directory name", cfg.UID)
	}
	dir := r.podDir(cfg.UID)
	for _, d := range []string{dir, filepath.Join(dir, "containers"), filepath.Join(dir, "logs")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("process runtime: sandbox %s: %w", cfg.UID, err)
		}
	}
	if err := writeFile(filepath.Join(dir, "hosts"), cfg.Hosts, 0o644); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, "resolv.conf"), cfg.ResolvConf, 0o644); err != nil {
		return err
	}
	var group *cgroups.Group
	if r.cfg.Cgroups != nil {
		g, err := r.cfg.Cgroups.Create(cfg.UID, cfg.Resources)
		if err != nil {
			return fmt.Errorf("process runtime: sandbox %s: %w", cfg.UID, err)
		}
		group = g
	}
	if err := writeJSON(filepath.Join(dir, "sandbox.json"), cfg); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.pods[cfg.UID]; ok {
		// Known (adopted after a restart): its files and cgroup are
		// refreshed above; a pod's identity, address and cgroup do not
		// change, and running containers read them without the lock.
		return nil
	}
	r.pods[cfg.UID] = &pod{cfg: cfg, group: group, containers: map[string]*container{}}
	return nil
}

// RemoveSandbox implements runtime.Runtime.
func (r *Runtime) RemoveSandbox(ctx context.Context, uid string) error {
	r.mu.Lock()
	p := r.pods[uid]
	r.mu.Unlock()
	if p != nil {
		for _, name := range r.containerNames(p) {
			if err := r.StopContainer(ctx, uid, name, 0); err != nil {
				return err
			}
		}
		if p.group != nil {
			// Anything a container forked into the background goes too.
			if err := p.group.Kill(); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("process runtime: sandbox %s: %w", uid, err)
			}
			if err := p.group.Delete(); err != nil {
				return fmt.Errorf("process runtime: sandbox %s: %w", uid, err)
			}
		}
	}
	if err := os.RemoveAll(r.podDir(uid)); err != nil {
		return fmt.Errorf("process runtime: sandbox %s: %w", uid, err)
	}
	r.mu.Lock()
	delete(r.pods, uid)
	r.mu.Unlock()
	return nil
}

func (r *Runtime) containerNames(p *pod) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(p.containers))
	for n := range p.containers {
		names = append(names, n)
	}
	return names
}

// ContainerStatus implements runtime.Runtime.
func (r *Runtime) ContainerStatus(uid, name string) (runtime.ContainerStatus, *runtime.ContainerStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.containerLocked(uid, name)
	if err != nil {
		return runtime.ContainerStatus{}, nil, err
	}
	var prev *runtime.ContainerStatus
	if c.rec.Previous != nil {
		p := *c.rec.Previous
		prev = &p
	}
	return c.rec.Current, prev, nil
}

func (r *Runtime) containerLocked(uid, name string) (*container, error) {
	p, ok := r.pods[uid]
	if !ok {
		return nil, fmt.Errorf("process runtime: pod %s: %w", uid, runtime.ErrNotFound)
	}
	c, ok := p.containers[name]
	if !ok {
		return nil, fmt.Errorf("process runtime: container %q of pod %s: %w", name, uid, runtime.ErrNotFound)
	}
	return c, nil
}

func (r *Runtime) podDir(uid string) string { return filepath.Join(r.cfg.Root, uid) }

func (r *Runtime) recordPath(uid, name string) string {
	return filepath.Join(r.podDir(uid), "containers", name+".json")
}

func (r *Runtime) logPath(uid, name string, attempt int) string {
	return filepath.Join(r.podDir(uid), "logs", name, fmt.Sprintf("%d.log", attempt))
}

// exitStatus turns a wait status into exit code and signal the way
// Kubernetes reports them: a signal s gives exit code 128+s.
func exitStatus(ws syscall.WaitStatus) (code, signal int) {
	if ws.Signaled() {
		return 128 + int(ws.Signal()), int(ws.Signal())
	}
	return ws.ExitStatus(), 0
}

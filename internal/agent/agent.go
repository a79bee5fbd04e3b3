// Package agent is Kennel's node agent: it registers its Node with what
// the node offers, renews the node's Lease as its heartbeat, and converges
// the pods bound to the node — sandbox, containers started in order,
// probes, restarts with back-off, status, graceful stop — through a
// runtime. It serves the pods' logs and exec to the API server. A
// restarted agent adopts the processes it started and restarts none of
// its healthy pods.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/cgroups"
	"github.com/kennel-dev/kennel/internal/events"
	"github.com/kennel-dev/kennel/internal/runtime"
	"github.com/kennel-dev/kennel/internal/runtime/process"
	"github.com/kennel-dev/kennel/internal/volume/flex"
	"github.com/kennel-dev/kennel/internal/volume/local"
)

// Agent is one running node agent.
type Agent struct {
	cfg    Config
	log    *slog.Logger
	rt     runtime.Runtime
	ownR   *process.Runtime // the runtime the agent made itself, closed with it
	cg     *cgroups.Manager // its pods' cgroups, when the agent made the runtime
	ipam   *ipam
	pods   *client.Informer[*v1.Pod]
	srv    *server
	events *events.Recorder
	config *configSource
	fence  *fencing
	flex   *flex.Plugins
	prov   *local.Provisioner // nil without storage devices

	// vols knows which pods use each node-wide volume mount (local image
	// volumes by PV name, FlexVolume device mounts by "flex/<name>") and
	// serialises the work on each.
	vols *volumeUsers

	mu      sync.Mutex
	workers map[string]*podWorker // pod uid → worker

	cancel context.CancelFunc
	wg     sync.WaitGroup
	errc   chan error
	once   sync.Once
}

// Start registers the node and starts the agent's loops. It returns once
// the node is registered with its pod range and the agent serves; on error
// nothing is left running.
func Start(ctx context.Context, cfg Config) (a *Agent, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("agent: data dir: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	a = &Agent{cfg: cfg, log: cfg.Logger.With("component", "agent", "node", cfg.NodeName),
		workers: map[string]*podWorker{}, cancel: cancel, errc: make(chan error, 1), vols: newVolumeUsers()}
	a.config = newConfigSource(cfg.Client)
	a.events = &events.Recorder{Client: cfg.Client, Component: "agent", Instance: cfg.NodeName, Clock: cfg.Clock, Logger: a.log}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if a.rt = cfg.Runtime; a.rt == nil {
		if a.ownR, err = a.newProcessRuntime(); err != nil {
			return nil, err
		}
		a.rt = a.ownR
	}
	a.flex = flex.NewPlugins(flex.Config{Dir: cfg.VolumePluginDir, Timeout: cfg.FlexTimeout, Logger: a.log})
	if a.srv, err = a.startServer(); err != nil {
		return nil, err
	}
	cidr, err := a.register(ctx)
	if err != nil {
		return nil, err
	}
	if a.ipam, err = newIPAM(cidr); err != nil {
		return nil, err
	}
	for _, sb := range a.rt.Sandboxes() {
		a.ipam.reserve(sb.IP, sb.UID)
	}
	if err := a.renewLease(ctx); err != nil {
		return nil, fmt.Errorf("agent: node lease: %w", err)
	}
	if len(cfg.Storage) > 0 {
		a.prov, err = local.StartProvisioner(ctx, local.ProvisionerConfig{Client: cfg.Client, NodeName: cfg.NodeName,
			Devices: cfg.Storage, Recorder: a.events, Logger: a.log, Clock: cfg.Clock})
		if err != nil {
			return nil, fmt.Errorf("agent: local volume provisioner: %w", err)
		}
	}
	a.wg.Go(func() { a.heartbeat(ctx) })
	a.loadVolumeUsers()
	a.fence = newFencing(a)
	a.fence.start(ctx, a)
	a.startPodSync(ctx)
	a.log.Info("agent started", "podCIDR", cidr, "serving", a.srv.addr())
	return a, nil
}

// newProcessRuntime makes the default runtime: cgroups and namespaces as
// root, plain processes otherwise (said once in the log).
func (a *Agent) newProcessRuntime() (*process.Runtime, error) {
	cfg := process.Config{Root: filepath.Join(a.cfg.DataDir, "pods"), Logger: a.cfg.Logger,
		OnExit: func(uid, _ string) { a.wake(uid) }}
	if os.Geteuid() == 0 {
		mode := cgroups.Detect(cgroupRoot)
		if mode != cgroups.ModeNone {
			m, err := cgroups.NewManager(cgroupRoot, mode, cgroupParent(a.cfg.NodeName))
			if err != nil {
				return nil, fmt.Errorf("agent: %w", err)
			}
			cfg.Cgroups, a.cg = m, m
		} else {
			a.log.Warn("no writable cgroup hierarchy: pods run without CPU and memory limits")
		}
		cfg.Namespaces = true
	} else {
		a.log.Warn("not running as root: pods run without cgroup limits and without their own hostname, /etc/hosts and /etc/resolv.conf")
	}
	return process.New(cfg)
}

// cgroupVersion names the cgroup mode pods run under, for nodeInfo.
func (a *Agent) cgroupVersion() string {
	if a.ownR == nil || os.Geteuid() != 0 {
		return "none"
	}
	return cgroups.Detect(cgroupRoot).String()
}

// cgroupRoot is where the cgroup hierarchies are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// cgroupParent is the cgroup (below every hierarchy) that holds the
// node's pod cgroups, each named by its pod's UID.
func cgroupParent(node string) string { return "kennel/" + node }

// Runtime is the runtime the agent runs pods with.
func (a *Agent) Runtime() runtime.Runtime { return a.rt }

// NodeName is the agent's node.
func (a *Agent) NodeName() string { return a.cfg.NodeName }

// Err reports a fatal error of a loop.
func (a *Agent) Err() <-chan error { return a.errc }

// Close stops the agent. Pods keep running; a new agent on the same data
// dir adopts them. Close is idempotent.
func (a *Agent) Close() error {
	var err error
	a.once.Do(func() {
		a.cancel()
		if a.srv != nil {
			err = a.srv.close()
		}
		a.wg.Wait()
		if a.ownR != nil {
			err = errors.Join(err, a.ownR.Close())
		}
		if a.cg != nil {
			// A node with no pods left leaves no empty cgroup behind.
			if _, rerr := a.cg.RemoveParent(); rerr != nil {
				a.log.Warn("cannot remove the node's cgroup", "err", rerr)
			}
		}
	})
	return err
}

package controlplane

import (
	"context"
	"fmt"
	"os"
	"sync"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
	"github.com/kennel-dev/kennel/internal/controller/deployment"
	"github.com/kennel-dev/kennel/internal/controller/endpoints"
	"github.com/kennel-dev/kennel/internal/controller/garbagecollector"
	"github.com/kennel-dev/kennel/internal/controller/leaderelection"
	"github.com/kennel-dev/kennel/internal/controller/namespace"
	"github.com/kennel-dev/kennel/internal/controller/nodeipam"
	"github.com/kennel-dev/kennel/internal/controller/nodelifecycle"
	"github.com/kennel-dev/kennel/internal/controller/petset"
	"github.com/kennel-dev/kennel/internal/controller/volumebinding"
	"github.com/kennel-dev/kennel/internal/federation/member"
	"github.com/kennel-dev/kennel/internal/scheduler"
)

// leaseName is the Lease that elects the one control plane whose
// controllers run.
const leaseName = "kennel-controller-manager"

// startControllers runs the controllers while this control plane holds
// the controller-manager lease.
func (cp *ControlPlane) startControllers(ctx context.Context) error {
	c, err := cp.Client()
	if err != nil {
		return err
	}
	id := cp.cfg.Identity
	if id == "" {
		host, _ := os.Hostname()
		id = fmt.Sprintf("%s_%s_%d", host, cp.server.Addr(), os.Getpid())
	}
	le := leaderelection.Config{
		Lock:            client.For[*v1.Lease](c, v1.NamespaceSystem),
		Name:            leaseName,
		Identity:        id,
		Logger:          cp.cfg.Logger,
		ReleaseOnCancel: true,
	}
	if err := le.Validate(); err != nil {
		return err
	}
	cp.wg.Go(func() {
		// Losing the lease stops the controllers; this control plane then
		// stands for election again.
		for ctx.Err() == nil {
			err := leaderelection.Run(ctx, le, leaderelection.Callbacks{
				OnStartedLeading: func(ctx context.Context) { cp.runControllers(ctx, c) },
				OnStoppedLeading: func() { cp.cfg.Logger.Info("controllers stopped: leadership lost or released") },
			})
			if err != nil && ctx.Err() == nil {
				cp.cfg.Logger.Warn("leader election ended", "err", err)
			}
		}
	})
	return nil
}

// runner is a controller (or the scheduler) once built.
type runner interface{ Run(ctx context.Context) }

// runControllers runs the scheduler and every controller until ctx ends.
func (cp *ControlPlane) runControllers(ctx context.Context, c *client.Client) {
	log := cp.cfg.Logger
	if cp.cfg.Federation != nil {
		cp.runFederationControllers(ctx, c)
		return
	}
	builders := []builder{
		{"garbage collector", func() (runner, error) { return garbagecollector.New(c, log, controller.Options{Workers: 2}) }},
		{"namespace", func() (runner, error) { return namespace.New(c, log, controller.Options{}) }},
		{"node IPAM", func() (runner, error) { return nodeipam.New(c, log, controller.Options{}) }},
		{"node lifecycle", func() (runner, error) {
			return nodelifecycle.New(c, log, nodelifecycle.Config{GracePeriod: cp.cfg.NodeGracePeriod, EvictionTimeout: cp.cfg.PodEvictionTimeout})
		}},
		{"deployment", func() (runner, error) { return deployment.New(c, log, controller.Options{Workers: 2}) }},
		{"volume binding", func() (runner, error) { return volumebinding.New(c, log, controller.Options{Workers: 2}) }},
		{"endpoints", func() (runner, error) { return endpoints.New(c, log, controller.Options{Workers: 2}) }},
		{"petset", func() (runner, error) { return petset.New(c, log, controller.Options{Workers: 2}) }},
		// The federation agent runs while this cluster is a member of a
		// federation (kennel federation join); otherwise it only watches.
		{"federation agent", func() (runner, error) {
			return member.NewSupervisor(c, log, member.WithAgentConfig(func(mc *member.Config) { mc.APIEndpoint = cp.URL() })), nil
		}},
	}
	for _, cfg := range cp.schedulerConfigs() {
		builders = append(builders, builder{"scheduler " + cfg.Name, func() (runner, error) { return scheduler.New(c, log, cfg) }})
	}
	cp.runAll(ctx, builders)
}

// builder builds one controller.
type builder struct {
	name  string
	build func() (runner, error)
}

// runAll builds and runs the controllers until ctx ends; one that cannot
// be built is a fatal error of the control plane.
func (cp *ControlPlane) runAll(ctx context.Context, builders []builder) {
	var wg sync.WaitGroup
	for _, b := range builders {
		r, err := b.build()
		if err != nil {
			cp.errc <- fmt.Errorf("controlplane: %s: %w", b.name, err)
			break
		}
		wg.Go(func() { r.Run(ctx) })
	}
	wg.Wait()
}

// schedulerConfigs is one scheduler per profile of the configuration
// file, or Kennel's default scheduler without one.
func (cp *ControlPlane) schedulerConfigs() []scheduler.Config {
	sc := cp.cfg.SchedulerConfig
	if sc == nil {
		return []scheduler.Config{{Workers: schedulerWorkers}}
	}
	out := make([]scheduler.Config, 0, len(sc.Profiles))
	for i := range sc.Profiles {
		p := sc.Profiles[i]
		pct := 0
		if sc.PercentageOfNodesToScore != nil {
			pct = int(*sc.PercentageOfNodesToScore)
		}
		if p.PercentageOfNodesToScore != nil {
			pct = int(*p.PercentageOfNodesToScore)
		}
		out = append(out, scheduler.Config{Name: p.SchedulerName, Configured: &p, Workers: schedulerWorkers, PercentageOfNodesToScore: pct, Extenders: sc.Extenders})
	}
	return out
}

// schedulerWorkers is how many pods a scheduler has in flight: decisions
// are made one at a time, and bindings (API writes) overlap.
const schedulerWorkers = 16

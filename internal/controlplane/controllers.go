package controlplane

import (
	"context"
	"fmt"
	"os"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
	"github.com/kennel-dev/kennel/internal/controller/garbagecollector"
	"github.com/kennel-dev/kennel/internal/controller/leaderelection"
	"github.com/kennel-dev/kennel/internal/controller/namespace"
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

// runControllers runs every controller until ctx ends.
func (cp *ControlPlane) runControllers(ctx context.Context, c *client.Client) {
	log := cp.cfg.Logger
	gc, err := garbagecollector.New(c, log, controller.Options{Workers: 2})
	if err != nil {
		cp.errc <- err
		return
	}
	ns, err := namespace.New(c, log, controller.Options{})
	if err != nil {
		cp.errc <- err
		return
	}
	done := make(chan struct{}, 2)
	go func() { gc.Run(ctx); done <- struct{}{} }()
	go func() { ns.Run(ctx); done <- struct{}{} }()
	<-done
	<-done
}

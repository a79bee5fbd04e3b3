package agent

import (
	"context"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/agent/prober"
)

// probeSet runs one container start's probes: the startup probe first,
// then liveness and readiness once it has passed (at once when there is
// none).
type probeSet struct {
	w                            *podWorker
	c                            *v1.Container
	startup, liveness, readiness *prober.Worker
	// startupDeadline is when a startup probe that has not passed fails
	// the container: initialDelay + failureThreshold × period.
	startupDeadline time.Time
	startedOthers   bool
	cancel          context.CancelFunc
}

func (w *podWorker) startProbes(ctx context.Context, c *v1.Container, startedAt time.Time) *probeSet {
	ctx, cancel := context.WithCancel(ctx)
	ps := &probeSet{w: w, c: c, cancel: cancel}
	if p := c.StartupProbe; p != nil {
		ps.startup = prober.NewWorker(prober.Startup, p, w.probeTarget(c), w.a.cfg.Clock, func(prober.Result) { w.wake() })
		ps.startup.Start(ctx)
		period, threshold := int32OrDefault(p.PeriodSeconds, 10), int32OrDefault(p.FailureThreshold, 3)
		ps.startupDeadline = startedAt.Add(time.Duration(p.InitialDelaySeconds+period*threshold) * time.Second)
	}
	ps.advance(ctx)
	return ps
}

func int32OrDefault(v, d int32) int32 {
	if v <= 0 {
		return d
	}
	return v
}

// advance starts liveness and readiness once the container has started.
func (ps *probeSet) advance(ctx context.Context) {
	if ps.startedOthers || !ps.started() {
		return
	}
	ps.startedOthers = true
	wake := func(prober.Result) { ps.w.wake() }
	if p := ps.c.LivenessProbe; p != nil {
		ps.liveness = prober.NewWorker(prober.Liveness, p, ps.w.probeTarget(ps.c), ps.w.a.cfg.Clock, wake)
		ps.liveness.Start(ctx)
	}
	if p := ps.c.ReadinessProbe; p != nil {
		ps.readiness = prober.NewWorker(prober.Readiness, p, ps.w.probeTarget(ps.c), ps.w.a.cfg.Clock, wake)
		ps.readiness.Start(ctx)
	}
}

// started: the startup probe passed, or there is none.
func (ps *probeSet) started() bool {
	return ps.startup == nil || ps.startup.Result() == prober.Success
}

// ready: started, and the readiness probe passes (or there is none).
func (ps *probeSet) ready() bool {
	if !ps.started() {
		return false
	}
	return ps.readiness == nil || ps.readiness.Result() == prober.Success
}

func (ps *probeSet) startupFailed(now time.Time) bool {
	return ps.startup != nil && !ps.started() && !now.Before(ps.startupDeadline)
}

func (ps *probeSet) stop() {
	ps.cancel()
	for _, w := range []*prober.Worker{ps.startup, ps.liveness, ps.readiness} {
		if w != nil {
			w.Stop()
		}
	}
}

package member

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
	"github.com/kennel-dev/kennel/internal/controller/clock"
	"github.com/kennel-dev/kennel/internal/events"
)

// Back-off of the agent's retries: a failing step waits retryBase, then
// twice as long each time, at most retryMax.
const (
	retryBase = 100 * time.Millisecond
	retryMax  = 15 * time.Second
)

// agent is one run of the federation agent.
type agent struct {
	cfg Config
	log *slog.Logger
	fed *client.Client
	mem *client.Client
	reg *v1.Registry
	// clock is the time of renewals and fencing deadlines.
	clock  clock.Clock
	events *events.Recorder
	// fence is the agent's part of fenced failover; set before the
	// loops start.
	fence *fencing
	// federation and domain come from the federation's info ConfigMap;
	// they are set before anything else starts.
	federation string
	domain     string

	renewMu   sync.Mutex
	lastRenew *v1.MicroTime
}

// Run runs the federation agent until ctx ends: it registers the member,
// renews its membership Lease, reports its status, applies the Works the
// federation assigns it and mirrors the federation's FederatedEndpoints.
// Errors talking to either API are logged and retried with back-off; they
// never delete anything. Run returns an error only for an invalid
// configuration; otherwise nil once ctx ends.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	a := &agent{
		cfg:   cfg,
		log:   cfg.Logger.With("component", "federation-agent", "cluster", cfg.Cluster),
		fed:   cfg.Federation,
		mem:   cfg.Member,
		reg:   cfg.Member.Registry(),
		clock: cfg.Clock,
	}
	a.events = newRecorder(a)
	if !a.retry(ctx, "read the federation's description", a.readFederationInfo) {
		return nil
	}
	if !a.retry(ctx, "register the Cluster", a.register) {
		return nil
	}
	a.log.Info("member registered", "federation", a.federation, "domain", a.domain)
	w, err := newWorks(a)
	if err != nil {
		return err
	}
	m, err := newMirror(a)
	if err != nil {
		return err
	}
	a.fence = newFencing(a, w)
	if !a.retry(ctx, "read the fence ConfigMap", a.fence.load) {
		return nil
	}
	var wg sync.WaitGroup
	wg.Go(func() { a.fence.publishLoop(ctx) })
	wg.Go(func() { a.fence.fenceLoop(ctx) })
	wg.Go(func() { a.renewLoop(ctx) })
	wg.Go(func() { a.statusLoop(ctx) })
	wg.Go(func() { w.run(ctx) })
	wg.Go(func() { m.run(ctx) })
	wg.Wait()
	a.log.Info("federation agent stopped")
	return nil
}

// readFederationInfo reads the federation's name and domain.
func (a *agent) readFederationInfo(ctx context.Context) error {
	name, domain, err := federationInfo(ctx, a.fed)
	if err != nil {
		return err
	}
	a.federation, a.domain = name, domain
	return nil
}

// federationInfo reads the federation's name and domain from its info
// ConfigMap.
func federationInfo(ctx context.Context, fed *client.Client) (name, domain string, err error) {
	cm, err := client.For[*v1.ConfigMap](fed, v1.NamespaceSystem).Get(ctx, v1.FederationInfoConfigMap)
	if err != nil {
		return "", "", fmt.Errorf("member: read ConfigMap %s/%s on the federation: %w", v1.NamespaceSystem, v1.FederationInfoConfigMap, err)
	}
	name, domain = cm.Data[v1.FederationInfoName], cm.Data[v1.FederationInfoDomain]
	if name == "" || domain == "" {
		return "", "", fmt.Errorf("member: ConfigMap %s/%s on the federation: keys %q and %q are required",
			v1.NamespaceSystem, v1.FederationInfoConfigMap, v1.FederationInfoName, v1.FederationInfoDomain)
	}
	// The name is the value of the federation label on member objects.
	if msgs := validation.IsDNS1123Label(name); len(msgs) > 0 {
		return "", "", fmt.Errorf("member: ConfigMap %s/%s on the federation: key %q: %q: %s",
			v1.NamespaceSystem, v1.FederationInfoConfigMap, v1.FederationInfoName, name, msgs[0])
	}
	return name, domain, nil
}

// retry calls step until it succeeds, backing off between failures, and
// reports false if ctx ended first.
func (a *agent) retry(ctx context.Context, what string, step func(context.Context) error) bool {
	wait := retryBase
	for {
		err := step(ctx)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		a.log.Warn("cannot "+what+"; will retry", "err", err, "retryIn", wait)
		if !sleep(ctx, wait) {
			return false
		}
		wait = min(wait*2, retryMax)
	}
}

// every calls step at once and then every d until ctx ends; failures are
// logged, and the next tick tries again.
func (a *agent) every(ctx context.Context, d time.Duration, what string, step func(context.Context) error) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		if err := step(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("cannot "+what+"; will retry", "err", err, "retryIn", d)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// everyAdaptive is every with the interval asked anew after each step.
func (a *agent) everyAdaptive(ctx context.Context, interval func() time.Duration, what string, step func(context.Context) error) {
	for {
		d := interval()
		if err := step(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("cannot "+what+"; will retry", "err", err, "retryIn", d)
		}
		if !sleep(ctx, d) {
			return
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// newController builds a work-queue controller with the agent's back-off.
func (a *agent) newController(name string, sync controller.SyncFunc) (*controller.Controller, error) {
	c, err := controller.New(name, sync, controller.Options{
		Workers: 2,
		Backoff: controller.Backoff{Base: retryBase, Max: retryMax},
		Logger:  a.log,
	})
	if err != nil {
		return nil, fmt.Errorf("member: %w", err)
	}
	return c, nil
}

// ignoreNotFound is nil for a NotFound error, else err.
func ignoreNotFound(err error) error {
	if v1.IsNotFound(err) {
		return nil
	}
	return err
}

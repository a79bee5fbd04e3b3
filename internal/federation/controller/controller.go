// Package controller holds the federation control plane's controllers:
// cluster health from the members' membership Leases, propagation of
// placed objects to the members as Works (cluster choice, division of
// replicas, global PetSet ordinals, overrides), the status of federated
// objects summed from what members report, and the FederatedEndpoints
// that federated DNS answers from.
package controller

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
	"github.com/kennel-dev/kennel/internal/controller/clock"
	"github.com/kennel-dev/kennel/internal/events"
)

// DefaultClusterGracePeriod is how long a member's Lease may go unrenewed
// before the Cluster is NotReady.
const DefaultClusterGracePeriod = 20 * time.Second

// Config configures the federation controllers.
type Config struct {
	// Client is an admin client of the federation API.
	Client *client.Client
	// Federation and Domain name the federation (federated DNS names are
	// <service>.<namespace>.<Federation>.svc.<Domain>).
	Federation, Domain string
	// ClusterGracePeriod: see DefaultClusterGracePeriod.
	ClusterGracePeriod time.Duration
	// DriftMargin is added to a Placement's fencing period before a
	// silent member's pets are given to others: it covers the clocks'
	// drift and the member's time to stop them (default 5 s).
	DriftMargin time.Duration
	// MaxFailedShare: when more than this share of the members has failed
	// at once, nothing fails over (default 0.5).
	MaxFailedShare float64
	// AutomaticFailover enables Placements' failover policy Automatic;
	// without it they are treated as Never, with a FailoverBlocked
	// condition that says so (the feature is opt-in).
	AutomaticFailover bool
	// Clock is the time source; nil is the system clock.
	Clock  clock.Clock
	Logger *slog.Logger
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	if c.Client == nil {
		errs = append(errs, errors.New("federation controller: config.Client: required"))
	}
	if c.Federation == "" {
		errs = append(errs, errors.New("federation controller: config.Federation: required"))
	}
	if c.Domain == "" {
		errs = append(errs, errors.New("federation controller: config.Domain: required"))
	}
	if c.MaxFailedShare < 0 || c.MaxFailedShare > 1 {
		errs = append(errs, errors.New("federation controller: config.MaxFailedShare: must be between 0 and 1"))
	}
	if c.DriftMargin < 0 {
		errs = append(errs, errors.New("federation controller: config.DriftMargin: must not be negative"))
	}
	if c.ClusterGracePeriod < 0 {
		errs = append(errs, errors.New("federation controller: config.ClusterGracePeriod: must not be negative"))
	}
	return errors.Join(errs...)
}

// federatedKinds are the kinds a Placement may place. Each is watched.
var federatedKinds = []string{"PetSet", "Deployment", "Service", "ConfigMap", "Secret"}

// Controller runs the federation controllers.
type Controller struct {
	cfg    Config
	c      *client.Client
	log    *slog.Logger
	clock  clock.Clock
	events *events.Recorder

	clusters   *client.Informer[*v1.Cluster]
	leases     *client.Informer[*v1.Lease]
	placements *client.Informer[*v1.Placement]
	works      *client.Informer[*v1.Work]
	objects    map[string]*client.Informer[v1.Object] // by kind
	fedEps     *client.Informer[*v1.FederatedEndpoints]
	migrations *client.Informer[*v1.Migration]

	clusterQ   *controller.Controller
	placementQ *controller.Controller
	statusQ    *controller.Controller
	migrateQ   *controller.Controller

	// memberNS remembers the members whose namespace of Works exists.
	memberNS sync.Map
	// started is when Run started: a member's silence is counted from no
	// earlier than that.
	started time.Time
}

// Indexes of the Work informer.
const (
	bySource    = "source"    // Kind/namespace/name of the federated object
	byPlacement = "placement" // namespace/name of the Placement
	bySelector  = "selector"  // of a Placement: Kind/ns, Kind/ns/name or Kind/ns/* (label selector)
)

// New builds the federation controllers.
func New(cfg Config) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.ClusterGracePeriod == 0 {
		cfg.ClusterGracePeriod = DefaultClusterGracePeriod
	}
	if cfg.DriftMargin == 0 {
		cfg.DriftMargin = DefaultDriftMargin
	}
	if cfg.MaxFailedShare == 0 {
		cfg.MaxFailedShare = DefaultMaxFailedShare
	}
	log := cfg.Logger.With("component", "federation-controller")
	fc := &Controller{cfg: cfg, c: cfg.Client, log: log, clock: cfg.Clock, objects: map[string]*client.Informer[v1.Object]{},
		events: &events.Recorder{Client: cfg.Client, Component: "federation-controller", OffNode: true, Clock: cfg.Clock, Logger: log}}
	var err error
	if fc.clusterQ, err = controller.New("federation-cluster", fc.syncCluster, controller.Options{Logger: log, Clock: cfg.Clock}); err != nil {
		return nil, err
	}
	if fc.placementQ, err = controller.New("federation-placement", fc.syncPlacement, controller.Options{Workers: 4, Logger: log, Clock: cfg.Clock}); err != nil {
		return nil, err
	}
	if fc.statusQ, err = controller.New("federation-status", fc.syncStatus, controller.Options{Workers: 4, Logger: log, Clock: cfg.Clock}); err != nil {
		return nil, err
	}
	if fc.migrateQ, err = controller.New("federation-migration", fc.syncMigration, controller.Options{Logger: log, Clock: cfg.Clock}); err != nil {
		return nil, err
	}
	fc.newInformers()
	return fc, nil
}

func (fc *Controller) newInformers() {
	c, log := fc.c, fc.log
	fc.clusters = client.NewInformer(client.For[*v1.Cluster](c, ""), client.ListOptions{}, log)
	fc.leases = client.NewInformer(client.For[*v1.Lease](c, v1.NamespaceClusterLeases), client.ListOptions{}, log)
	fc.placements = client.NewInformer(client.For[*v1.Placement](c, ""), client.ListOptions{}, log)
	fc.works = client.NewInformer(client.For[*v1.Work](c, ""), client.ListOptions{}, log)
	fc.fedEps = client.NewInformer(client.For[*v1.FederatedEndpoints](c, v1.NamespaceFederation), client.ListOptions{}, log)
	fc.migrations = client.NewInformer(client.For[*v1.Migration](c, ""), client.ListOptions{}, log)
	fc.migrations.AddIndexer(bySet, func(m *v1.Migration) []string { return []string{m.Namespace + "/" + m.Spec.PetSet} })
	fc.works.AddIndexer(bySource, func(w *v1.Work) []string { return []string{sourceKey(w.Spec.Source)} })
	fc.works.AddIndexer(byPlacement, func(w *v1.Work) []string {
		return []string{w.Spec.Source.Namespace + "/" + w.Spec.Placement}
	})
	fc.placements.AddIndexer(bySelector, func(p *v1.Placement) []string {
		var out []string
		for _, rs := range p.Spec.ResourceSelectors {
			k, ok := c.Registry().Lookup(rs.Kind)
			if !ok {
				continue
			}
			out = append(out, k.Kind+"/"+p.Namespace)
			if rs.Name != "" {
				out = append(out, k.Kind+"/"+p.Namespace+"/"+rs.Name)
			} else {
				out = append(out, k.Kind+"/"+p.Namespace+"/*")
			}
		}
		return out
	})
	for _, kind := range federatedKinds {
		k, _ := c.Registry().ByKind(kind)
		fc.objects[kind] = client.NewInformer(client.ForKind(c, k, ""), client.ListOptions{}, log)
	}
	fc.wireHandlers()
}

// Run runs the controllers until ctx ends.
func (fc *Controller) Run(ctx context.Context) {
	fc.started = fc.clock.Now()
	var wg sync.WaitGroup
	infs := []interface {
		Run(context.Context)
		WaitForSync(context.Context) bool
	}{fc.clusters, fc.leases, fc.placements, fc.works, fc.fedEps, fc.migrations}
	for _, inf := range fc.objects {
		infs = append(infs, inf)
	}
	for _, inf := range infs {
		wg.Go(func() { inf.Run(ctx) })
	}
	for _, inf := range infs {
		if !inf.WaitForSync(ctx) {
			wg.Wait()
			return
		}
	}
	// Works of objects or placements deleted while no controller ran.
	for _, p := range fc.placements.List() {
		fc.placementQ.Enqueue(p.Namespace + "/" + p.Name)
	}
	for _, w := range fc.works.List() {
		fc.placementQ.Enqueue(w.Spec.Source.Namespace + "/" + w.Spec.Placement)
		fc.statusQ.Enqueue(sourceKey(w.Spec.Source))
	}
	for _, e := range fc.fedEps.List() {
		fc.statusQ.Enqueue(sourceKey(v1.ObjectReference{Kind: "Service", Namespace: e.Spec.Namespace, Name: e.Spec.Service}))
	}
	for _, m := range fc.migrations.List() {
		fc.migrateQ.Enqueue(v1.ObjectKey(m))
	}
	for _, q := range []*controller.Controller{fc.clusterQ, fc.placementQ, fc.statusQ, fc.migrateQ} {
		wg.Go(func() { _ = q.Run(ctx) })
	}
	wg.Wait()
}

// sourceKey is Kind/namespace/name.
func sourceKey(r v1.ObjectReference) string { return r.Kind + "/" + r.Namespace + "/" + r.Name }

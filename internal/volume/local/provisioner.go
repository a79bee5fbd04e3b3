package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
	"github.com/kennel-dev/kennel/internal/controller/clock"
	"github.com/kennel-dev/kennel/internal/events"
	"github.com/kennel-dev/kennel/internal/volume"
)

// ProvisionerConfig configures the local provisioner of one node.
type ProvisionerConfig struct {
	// Client reads claims, volumes and classes and writes volumes; in
	// the agent, the node's client.
	Client *client.Client
	// NodeName is the node whose claims are provisioned here.
	NodeName string
	// Devices are the node's storage devices: volumes are carved in
	// each one's Path, within its Capacity, IOPS and Bandwidth.
	Devices []v1.NodeStorageDevice
	// Recorder records the events on claims and volumes; nil records
	// them as component "local-provisioner" of the node.
	Recorder *events.Recorder
	// Logger is the provisioner's logger; nil discards.
	Logger *slog.Logger
	// Clock times retries; nil is the system clock.
	Clock clock.Clock
}

// Validate checks the configuration without side effects.
func (c ProvisionerConfig) Validate() error {
	switch {
	case c.Client == nil:
		return errors.New("local: provisioner: Client is required")
	case c.NodeName == "":
		return errors.New("local: provisioner: NodeName is required")
	}
	seen := map[string]bool{}
	for i, d := range c.Devices {
		switch {
		case d.Name == "":
			return fmt.Errorf("local: provisioner: Devices[%d].Name is required", i)
		case seen[d.Name]:
			return fmt.Errorf("local: provisioner: Devices[%d].Name: %q is listed twice", i, d.Name)
		case !filepath.IsAbs(d.Path):
			return fmt.Errorf("local: provisioner: Devices[%d].Path: %q must be an absolute path", i, d.Path)
		}
		seen[d.Name] = true
	}
	return nil
}

// Retry back-off of a claim that cannot be provisioned or a volume that
// cannot be deleted. A claim waiting for room is also retried at once
// when a volume of the node goes.
const (
	retryBase = time.Second
	retryMax  = 5 * time.Minute
)

// Queue keys: a claim to provision, a volume to delete, or the sweep of
// leftovers at start.
const (
	claimKeyPrefix  = "claim/"
	volumeKeyPrefix = "volume/"
	sweepKey        = "sweep"
)

// Provisioner is the local provisioner of one node. It provisions claims
// of kennel.io/local classes selected for the node, one at a time, and
// deletes the data and objects of the node's released volumes whose
// reclaim policy is Delete.
type Provisioner struct {
	cfg     ProvisionerConfig
	log     *slog.Logger
	rec     *events.Recorder
	ctrl    *controller.Controller
	claims  *client.Informer[*v1.PersistentVolumeClaim]
	volumes *client.Informer[*v1.PersistentVolume]
	classes *client.Informer[*v1.StorageClass]

	started atomic.Bool
	done    chan struct{} // closed when Run returns

	mu sync.Mutex
	// made holds the volumes created here that the informer has not
	// shown yet, by name, so that the next claim counts them.
	made map[string]*v1.PersistentVolume
}

// NewProvisioner builds the provisioner; Run starts it.
func NewProvisioner(cfg ProvisionerConfig) (*Provisioner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Devices = append([]v1.NodeStorageDevice(nil), cfg.Devices...)
	p := &Provisioner{cfg: cfg, log: cfg.Logger.With("component", "local-provisioner", "node", cfg.NodeName),
		rec: cfg.Recorder, done: make(chan struct{}), made: map[string]*v1.PersistentVolume{}}
	if p.rec == nil {
		p.rec = &events.Recorder{Client: cfg.Client, Component: "local-provisioner", Instance: cfg.NodeName,
			Clock: cfg.Clock, Logger: p.log}
	}
	ctrl, err := controller.New("local-provisioner", p.sync, controller.Options{
		Workers: 1, // one claim at a time: the fit check must see every volume made before it
		Backoff: controller.Backoff{Base: retryBase, Max: retryMax},
		Logger:  p.log, Clock: cfg.Clock,
	})
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	p.ctrl = ctrl
	p.claims = client.NewInformer(client.For[*v1.PersistentVolumeClaim](cfg.Client, ""), client.ListOptions{}, p.log)
	p.volumes = client.NewInformer(client.For[*v1.PersistentVolume](cfg.Client, ""), client.ListOptions{}, p.log)
	p.classes = client.NewInformer(client.For[*v1.StorageClass](cfg.Client, ""), client.ListOptions{}, p.log)
	p.claims.AddHandler(client.HandlerFuncs{
		AddFunc:    p.onClaim,
		UpdateFunc: func(_, obj any) { p.onClaim(obj) },
	})
	p.volumes.AddHandler(client.HandlerFuncs{
		AddFunc:    p.onVolume,
		UpdateFunc: func(_, obj any) { p.onVolume(obj) },
		DeleteFunc: p.onVolumeDeleted,
	})
	p.classes.AddHandler(client.HandlerFuncs{
		AddFunc:    p.onClass,
		UpdateFunc: func(_, obj any) { p.onClass(obj) },
	})
	return p, nil
}

// StartProvisioner builds the provisioner and runs it until ctx ends. It
// returns once the provisioner's caches are filled, so that Reservations
// is complete; Done says when it has stopped.
func StartProvisioner(ctx context.Context, cfg ProvisionerConfig) (*Provisioner, error) {
	p, err := NewProvisioner(cfg)
	if err != nil {
		return nil, err
	}
	go p.Run(ctx)
	if !p.WaitForSync(ctx) {
		<-p.done
		return nil, fmt.Errorf("local: provisioner: caches not filled: %w", context.Cause(ctx))
	}
	return p, nil
}

// Done is closed once Run has returned.
func (p *Provisioner) Done() <-chan struct{} { return p.done }

// Run runs the provisioner until ctx ends; it returns once everything it
// started has stopped. A provisioner runs once.
func (p *Provisioner) Run(ctx context.Context) {
	if !p.started.CompareAndSwap(false, true) {
		p.log.Error("provisioner: Run called twice; the second call does nothing")
		return
	}
	defer close(p.done)
	var wg sync.WaitGroup
	wg.Go(func() { p.claims.Run(ctx) })
	wg.Go(func() { p.volumes.Run(ctx) })
	wg.Go(func() { p.classes.Run(ctx) })
	if p.WaitForSync(ctx) {
		p.ctrl.Enqueue(sweepKey)
		_ = p.ctrl.Run(ctx) // it runs once, and this is that once
	}
	wg.Wait()
}

// WaitForSync blocks until the provisioner's caches are filled, or ctx
// ends; Reservations is complete only after that.
func (p *Provisioner) WaitForSync(ctx context.Context) bool {
	return p.claims.WaitForSync(ctx) && p.volumes.WaitForSync(ctx) && p.classes.WaitForSync(ctx)
}

// Reservations returns the node's devices with Reserved filled in: what
// the volumes carved from each device, and the claims selected for it
// that are not yet provisioned, hold of it (the scheduler's ledger).
func (p *Provisioner) Reservations() []v1.NodeStorageDevice {
	l := volume.BuildLedger(p.knownVolumes(), p.claims.List(), p.qosOf)
	return l.Reservations(p.cfg.NodeName, p.cfg.Devices)
}

// knownVolumes is what the informer shows, and the volumes created here
// that it does not show yet.
func (p *Provisioner) knownVolumes() []*v1.PersistentVolume {
	pvs := p.volumes.List()
	p.mu.Lock()
	defer p.mu.Unlock()
	for name, pv := range p.made {
		if _, ok := p.volumes.Get(name); ok {
			delete(p.made, name)
			continue
		}
		pvs = append(pvs, pv)
	}
	return pvs
}

// qosOf is a claim's QoS, from its class; a claim whose class is unknown
// or malformed reserves none.
func (p *Provisioner) qosOf(c *v1.PersistentVolumeClaim) volume.QoS {
	if c.Spec.StorageClassName == nil {
		return volume.QoS{}
	}
	class, ok := p.classes.Get(*c.Spec.StorageClassName)
	if !ok {
		return volume.QoS{}
	}
	q, _ := volume.ClassQoS(class)
	return q
}

// selected reports whether a claim waits for a volume of this node.
func (p *Provisioner) selected(c *v1.PersistentVolumeClaim) bool {
	// A claim with a selected node but no device goes to a pre-made
	// volume there, which the volume binding controller binds.
	return c.Annotations[v1.AnnotationSelectedNode] == p.cfg.NodeName && c.Annotations[v1.AnnotationSelectedDevice] != "" && c.Spec.VolumeName == "" &&
		c.DeletionTimestamp == nil && c.Spec.StorageClassName != nil && *c.Spec.StorageClassName != ""
}

// mine reports whether a volume was carved here.
func (p *Provisioner) mine(pv *v1.PersistentVolume) bool {
	return pv.Annotations[v1.AnnotationProvisionedBy] == v1.ProvisionerLocal &&
		pv.Annotations[v1.AnnotationVolumeNode] == p.cfg.NodeName
}

func (p *Provisioner) onClaim(obj any) {
	if c, ok := obj.(*v1.PersistentVolumeClaim); ok && p.selected(c) {
		p.ctrl.Enqueue(claimKeyPrefix + v1.ObjectKey(c))
	}
}

func (p *Provisioner) onVolume(obj any) {
	if pv, ok := obj.(*v1.PersistentVolume); ok && p.mine(pv) {
		p.ctrl.Enqueue(volumeKeyPrefix + pv.Name)
	}
}

// onVolumeDeleted frees a volume's room: the claims waiting for room on
// the node are looked at again.
func (p *Provisioner) onVolumeDeleted(obj any) {
	pv, ok := obj.(*v1.PersistentVolume)
	if !ok || !p.mine(pv) {
		return
	}
	p.mu.Lock()
	delete(p.made, pv.Name)
	p.mu.Unlock()
	p.enqueueClaims(func(*v1.PersistentVolumeClaim) bool { return true })
}

// onClass looks again at the claims of a class that may have appeared
// after them.
func (p *Provisioner) onClass(obj any) {
	if class, ok := obj.(*v1.StorageClass); ok {
		p.enqueueClaims(func(c *v1.PersistentVolumeClaim) bool { return *c.Spec.StorageClassName == class.Name })
	}
}

func (p *Provisioner) enqueueClaims(match func(*v1.PersistentVolumeClaim) bool) {
	for _, c := range p.claims.List() {
		if p.selected(c) && match(c) {
			p.ctrl.Enqueue(claimKeyPrefix + v1.ObjectKey(c))
		}
	}
}

func (p *Provisioner) sync(ctx context.Context, key string) error {
	switch {
	case strings.HasPrefix(key, claimKeyPrefix):
		return p.syncClaim(ctx, strings.TrimPrefix(key, claimKeyPrefix))
	case strings.HasPrefix(key, volumeKeyPrefix):
		return p.syncVolume(ctx, strings.TrimPrefix(key, volumeKeyPrefix))
	case key == sweepKey:
		return p.sweep(ctx)
	}
	return nil
}

// sweep removes the half-built volumes a crash left in the pools. It
// runs in the queue like the provisioning it cleans up after, so nothing
// is being built meanwhile. Complete volumes without an object are left
// alone: the object of a Retain volume may have been deleted on purpose.
func (p *Provisioner) sweep(ctx context.Context) error {
	var errs []error
	for _, d := range p.cfg.Devices {
		leftovers, err := filepath.Glob(filepath.Join(d.Path, VolumesDir, tmpPrefix+"*"))
		if err != nil {
			return fmt.Errorf("local: sweep %s: %w", d.Name, err)
		}
		for _, path := range leftovers {
			if err := Delete(ctx, path); err != nil {
				errs = append(errs, err)
				continue
			}
			p.log.Info("removed a half-built volume", "device", d.Name, "path", path)
		}
	}
	return errors.Join(errs...)
}

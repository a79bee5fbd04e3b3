// Package volumebinding is the volume binding controller: it binds
// PersistentVolumeClaims to PersistentVolumes, starts provisioning for
// claims no volume can serve, keeps the phases of both current, reclaims
// released volumes, and protects claims in use from deletion.
//
// One work queue carries two kinds of key, "claim:ns/name" and
// "volume:name"; informer handlers only enqueue them and the workers
// converge from the caches:
//
//	controller.go  informers, event handlers → keys, Run
//	claim.go       a claim: protection finalizer, binding, Lost
//	provision.go   a claim no volume serves: its class's provisioner
//	placement.go   Immediate kennel.io/local claims: choosing node + device
//	selected.go    kennel.io/local claims with a selected node: its device,
//	               or unselecting a node that is gone
//	match.go       which Available volume serves a claim (pure)
//	volume.go      a volume: phase and reclaim
//	events.go      Events on claims
//
// Who provisions: kennel.io/local volumes are carved by the agent of the
// claim's selected node (this controller selects the node and device of
// Immediate claims; the scheduler selects them for WaitForFirstConsumer
// ones); kennel.io/flexvolume volumes are made here, since FlexVolume has
// no provision call; any other provisioner is external and awaited.
// A WaitForFirstConsumer claim, of any class, waits for the scheduler to
// select its node; then it binds an Available volume whose node affinity
// admits that node, or is provisioned as above. A local claim whose node
// was selected without a device (for a volume made in advance that
// another claim took since) gets a device of that node here; one whose
// node is gone is unselected, so that a node is chosen again.
//
// A claim that names no class (nil or "") has none: the API server gives
// new claims the default class.
//
// Binding writes the volume's claimRef first, with the version read, so
// that two claims never take one volume, then the claim's volumeName and
// status. A crash between the writes is finished by the next sync, which
// finds the volume by its claimRef.
package volumebinding

import (
	"context"
	"log/slog"
	"reflect"
	"sync"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
	"github.com/kennel-dev/kennel/internal/controller/clock"
	"github.com/kennel-dev/kennel/internal/events"
)

// component names this controller in logs, errors and Events.
const component = "volumebinding"

// Key prefixes of the work queue.
const (
	claimPrefix  = "claim:"
	volumePrefix = "volume:"
)

// indexClaim finds volumes by their claimRef and pods by the claims their
// volumes name, as "namespace/name".
const indexClaim = "claim"

// Controller binds claims to volumes.
type Controller struct {
	log   *slog.Logger
	ctrl  *controller.Controller
	clock clock.Clock

	claimKind  *v1.Kind
	claimsAPI  *client.Resource[*v1.PersistentVolumeClaim]
	volumesAPI *client.Resource[*v1.PersistentVolume]
	podsAPI    *client.Resource[*v1.Pod]
	nodesAPI   *client.Resource[*v1.Node]
	classesAPI *client.Resource[*v1.StorageClass]

	claims  *client.Informer[*v1.PersistentVolumeClaim]
	volumes *client.Informer[*v1.PersistentVolume]
	classes *client.Informer[*v1.StorageClass]
	pods    *client.Informer[*v1.Pod]
	nodes   *client.Informer[*v1.Node]
	events  *events.Recorder

	// placeMu makes local placements one at a time, so that each sees
	// the ones before it (see assumed).
	placeMu sync.Mutex

	mu sync.Mutex
	// assumed holds the devices chosen for claims, by claim UID, until
	// the cache shows the claims with them.
	assumed map[string]assumption
	// reported is the last Event written about a claim, by claim UID, so
	// that a claim that waits is told why once, not on every sync.
	reported map[string]string
}

// New builds the volume binding controller over c; Run starts it. A nil
// log discards logs; opts.Logger is replaced by log, and opts.Clock (nil:
// the system clock) also stamps Events and volume phase transitions.
func New(c *client.Client, log *slog.Logger, opts controller.Options) (*Controller, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	vc := &Controller{log: log.With("component", component), clock: opts.Clock,
		assumed: map[string]assumption{}, reported: map[string]string{}}
	opts.Logger = vc.log
	ctrl, err := controller.New(component, vc.sync, opts)
	if err != nil {
		return nil, err
	}
	vc.ctrl = ctrl
	vc.claimsAPI = client.For[*v1.PersistentVolumeClaim](c, "")
	vc.claimKind = vc.claimsAPI.Kind()
	vc.volumesAPI = client.For[*v1.PersistentVolume](c, "")
	vc.podsAPI = client.For[*v1.Pod](c, "")
	vc.nodesAPI = client.For[*v1.Node](c, "")
	vc.classesAPI = client.For[*v1.StorageClass](c, "")
	vc.events = &events.Recorder{Client: c, Component: component, OffNode: true, Clock: opts.Clock, Logger: vc.log}
	vc.watch(c)
	return vc, nil
}

// watch builds the informers and their handlers.
func (vc *Controller) watch(c *client.Client) {
	vc.claims = client.NewInformer(vc.claimsAPI, client.ListOptions{}, vc.log)
	vc.claims.AddHandler(client.HandlerFuncs{
		AddFunc:    func(obj any) { vc.claimChanged(obj.(*v1.PersistentVolumeClaim)) },
		UpdateFunc: func(_, obj any) { vc.claimChanged(obj.(*v1.PersistentVolumeClaim)) },
		DeleteFunc: vc.claimDeleted,
	})
	vc.volumes = client.NewInformer(vc.volumesAPI, client.ListOptions{}, vc.log)
	vc.volumes.AddIndexer(indexClaim, func(pv *v1.PersistentVolume) []string {
		if r := pv.Spec.ClaimRef; r != nil {
			return []string{r.Namespace + "/" + r.Name}
		}
		return nil
	})
	vc.volumes.AddHandler(client.HandlerFuncs{
		AddFunc:    func(obj any) { vc.volumeChanged(nil, obj.(*v1.PersistentVolume)) },
		UpdateFunc: func(old, obj any) { vc.volumeChanged(old.(*v1.PersistentVolume), obj.(*v1.PersistentVolume)) },
		DeleteFunc: vc.volumeDeleted,
	})
	vc.classes = client.NewInformer(vc.classesAPI, client.ListOptions{}, vc.log)
	vc.classes.AddHandler(client.HandlerFuncs{
		AddFunc:    func(any) { vc.enqueueUnbound() },
		UpdateFunc: func(any, any) { vc.enqueueUnbound() },
		DeleteFunc: func(any) { vc.enqueueUnbound() },
	})
	vc.pods = client.NewInformer(vc.podsAPI, client.ListOptions{}, vc.log)
	vc.pods.AddIndexer(indexClaim, podClaims)
	vc.pods.AddHandler(client.HandlerFuncs{
		AddFunc:    vc.podChanged,
		UpdateFunc: func(_, obj any) { vc.podChanged(obj) },
		DeleteFunc: vc.podChanged,
	})
	vc.nodes = client.NewInformer(vc.nodesAPI, client.ListOptions{}, vc.log)
	vc.nodes.AddHandler(client.HandlerFuncs{
		AddFunc: func(any) { vc.enqueueUnbound() },
		UpdateFunc: func(old, obj any) {
			if placementChanged(old.(*v1.Node), obj.(*v1.Node)) {
				vc.enqueueUnbound()
			}
		},
		DeleteFunc: func(any) { vc.enqueueUnbound() },
	})
}

// Run runs the informers and the controller until ctx ends. A controller
// runs once.
func (vc *Controller) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { vc.claims.Run(ctx) })
	wg.Go(func() { vc.volumes.Run(ctx) })
	wg.Go(func() { vc.classes.Run(ctx) })
	wg.Go(func() { vc.pods.Run(ctx) })
	wg.Go(func() { vc.nodes.Run(ctx) })
	for _, synced := range []func(context.Context) bool{vc.claims.WaitForSync, vc.volumes.WaitForSync,
		vc.classes.WaitForSync, vc.pods.WaitForSync, vc.nodes.WaitForSync} {
		if !synced(ctx) {
			return
		}
	}
	if err := vc.ctrl.Run(ctx); err != nil {
		vc.log.Error("volume binding controller did not run", "err", err)
	}
}

// podClaims are the claims a pod's volumes name, as "namespace/name".
func podClaims(p *v1.Pod) []string {
	var out []string
	for _, vol := range p.Spec.Volumes {
		if s := vol.PersistentVolumeClaim; s != nil {
			out = append(out, p.Namespace+"/"+s.ClaimName)
		}
	}
	return out
}

func (vc *Controller) enqueueClaim(key string)   { vc.ctrl.Enqueue(claimPrefix + key) }
func (vc *Controller) enqueueVolume(name string) { vc.ctrl.Enqueue(volumePrefix + name) }

// enqueueUnbound enqueues every claim not yet bound: something that
// decides where they may go (a class, a node, a free volume) changed.
func (vc *Controller) enqueueUnbound() {
	for _, c := range vc.claims.List() {
		if c.Spec.VolumeName == "" {
			vc.enqueueClaim(v1.ObjectKey(c))
		}
	}
}

// claimChanged enqueues the claim and the volumes bound to it, whose
// phase follows the claim's existence and binding.
func (vc *Controller) claimChanged(c *v1.PersistentVolumeClaim) {
	key := v1.ObjectKey(c)
	vc.enqueueClaim(key)
	for _, pv := range vc.volumes.ByIndex(indexClaim, key) {
		vc.enqueueVolume(pv.Name)
	}
	if c.Spec.VolumeName != "" {
		vc.enqueueVolume(c.Spec.VolumeName)
	}
}

func (vc *Controller) claimDeleted(obj any) {
	c := obj.(*v1.PersistentVolumeClaim)
	vc.mu.Lock()
	delete(vc.reported, c.UID)
	delete(vc.assumed, c.UID)
	vc.mu.Unlock()
	vc.claimChanged(c)
	// What the claim held of a device is free again.
	if c.Annotations[v1.AnnotationSelectedNode] != "" {
		vc.enqueueUnbound()
	}
}

// volumeChanged enqueues the volume and its claim, and, when the volume
// is free (new, or unbound, or changed while free), the claims that may
// take it.
func (vc *Controller) volumeChanged(old, pv *v1.PersistentVolume) {
	vc.enqueueVolume(pv.Name)
	for _, v := range []*v1.PersistentVolume{old, pv} {
		if v != nil && v.Spec.ClaimRef != nil {
			vc.enqueueClaim(v.Spec.ClaimRef.Namespace + "/" + v.Spec.ClaimRef.Name)
		}
	}
	if pv.Spec.ClaimRef == nil && (old == nil || !reflect.DeepEqual(old.Spec, pv.Spec) || !reflect.DeepEqual(old.Labels, pv.Labels)) {
		vc.enqueueUnbound()
	}
}

func (vc *Controller) volumeDeleted(obj any) {
	pv := obj.(*v1.PersistentVolume)
	if r := pv.Spec.ClaimRef; r != nil {
		vc.enqueueClaim(r.Namespace + "/" + r.Name)
	}
	// A local volume's device has room again.
	if pv.Annotations[v1.AnnotationVolumeNode] != "" {
		vc.enqueueUnbound()
	}
}

// podChanged enqueues the claims the pod uses: a claim being deleted
// waits for its last pod.
func (vc *Controller) podChanged(obj any) {
	for _, key := range podClaims(obj.(*v1.Pod)) {
		vc.enqueueClaim(key)
	}
}

// placementChanged reports whether a node update matters to where local
// volumes may go: its labels, schedulability, readiness or devices (what
// the agent reports as reserved does not: the controller counts that
// itself).
func placementChanged(old, n *v1.Node) bool {
	devices := func(n *v1.Node) []v1.NodeStorageDevice {
		out := make([]v1.NodeStorageDevice, len(n.Status.Storage))
		for i, d := range n.Status.Storage {
			d.Reserved = nil
			out[i] = d
		}
		return out
	}
	return !reflect.DeepEqual(old.Labels, n.Labels) || old.Spec.Unschedulable != n.Spec.Unschedulable ||
		nodeReady(old) != nodeReady(n) || !reflect.DeepEqual(devices(old), devices(n))
}

// nodeReady reports whether the node's Ready condition is True.
func nodeReady(n *v1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == v1.NodeReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

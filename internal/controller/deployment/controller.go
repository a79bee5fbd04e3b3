// Package deployment is the Deployment controller: it keeps the number of
// interchangeable, stateless pods ("cattle") a Deployment asks for, and
// replaces them when its template changes, by rolling update or by
// recreation.
//
// Kennel has no ReplicaSet kind, so the controller owns pods directly. Each
// pod carries the pod-template-hash label of the template it was made
// from; pods of the current template are "updated", the others "old".
//
// The package is split as Kubernetes' StatefulSet controller is:
//
//	controller.go    informers, event handlers → work queue, Run
//	sync.go          one sync: read the caches, adopt and release pods,
//	                 carry out the plan, write the status
//	podcontrol.go    the plan's side effects: create and delete pods
//	rollout.go       the algorithm: deployment + pods → plan (pure)
//	status.go        status fields and conditions (pure)
//	pods.go          names, template hash, grouping, ranking (pure)
//	expectations.go  creations and deletions not yet seen by the cache
//	events.go        Events on the Deployment
package deployment

import (
	"context"
	"log/slog"
	"sync"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
	"github.com/kennel-dev/kennel/internal/controller/clock"
	"github.com/kennel-dev/kennel/internal/events"
)

// Indexes of the informers' caches.
const (
	// indexController finds pods by the UID of their controller.
	indexController = "controller"
	// indexNamespace finds pods and deployments by namespace.
	indexNamespace = "namespace"
)

// Controller runs Deployments.
type Controller struct {
	c           *client.Client
	log         *slog.Logger
	ctrl        *controller.Controller
	clock       clock.Clock
	kind        *v1.Kind
	deployments *client.Informer[*v1.Deployment]
	pods        *client.Informer[*v1.Pod]
	exp         *expectations
	events      *events.Recorder
}

// New builds the Deployment controller over c. A nil log discards logs;
// opts.Logger is replaced by log, and opts.Clock (nil: the system clock)
// also times pod availability and expectations.
func New(c *client.Client, log *slog.Logger, opts controller.Options) (*Controller, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	dc := &Controller{c: c, log: log.With("component", component), clock: opts.Clock}
	opts.Logger = dc.log
	ctrl, err := controller.New("deployment", dc.sync, opts)
	if err != nil {
		return nil, err
	}
	dc.ctrl = ctrl
	deployments := client.For[*v1.Deployment](c, "")
	dc.kind = deployments.Kind()
	dc.exp = newExpectations(opts.Clock)
	dc.events = &events.Recorder{Client: c, Component: component, OffNode: true, Clock: opts.Clock, Logger: dc.log}

	dc.deployments = client.NewInformer(deployments, client.ListOptions{}, dc.log)
	dc.deployments.AddIndexer(indexNamespace, func(d *v1.Deployment) []string { return []string{d.Namespace} })
	enqueue := ctrl.Handler(nil)
	dc.deployments.AddHandler(client.HandlerFuncs{
		AddFunc:    enqueue.OnAdd,
		UpdateFunc: enqueue.OnUpdate,
		DeleteFunc: func(obj any) {
			// A deployment recreated under the same name must not wait
			// for what its predecessor expected.
			dc.exp.forget(v1.ObjectKey(obj.(*v1.Deployment)))
			enqueue.OnDelete(obj)
		},
	})

	dc.pods = client.NewInformer(client.For[*v1.Pod](c, ""), client.ListOptions{}, dc.log)
	dc.pods.AddIndexer(indexNamespace, func(p *v1.Pod) []string { return []string{p.Namespace} })
	dc.pods.AddIndexer(indexController, func(p *v1.Pod) []string {
		if ref := v1.GetControllerOf(p); ref != nil {
			return []string{ref.UID}
		}
		return nil
	})
	dc.pods.AddHandler(client.HandlerFuncs{
		AddFunc:    dc.podAdded,
		UpdateFunc: dc.podUpdated,
		DeleteFunc: dc.podDeleted,
	})
	return dc, nil
}

// Run runs the informers and the controller until ctx ends. A controller
// runs once.
func (dc *Controller) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { dc.deployments.Run(ctx) })
	wg.Go(func() { dc.pods.Run(ctx) })
	if !dc.deployments.WaitForSync(ctx) || !dc.pods.WaitForSync(ctx) {
		return
	}
	if err := dc.ctrl.Run(ctx); err != nil {
		dc.log.Error("deployment controller did not run", "err", err)
	}
}

// owner is the key of the deployment in the cache that controls pod, if
// any.
func (dc *Controller) owner(pod *v1.Pod) (string, bool) {
	ref := v1.GetControllerOf(pod)
	if ref == nil || ref.Kind != dc.kind.Kind {
		return "", false
	}
	key := pod.Namespace + "/" + ref.Name
	d, ok := dc.deployments.Get(key)
	if !ok || d.UID != ref.UID {
		return "", false
	}
	return key, true
}

// enqueueOwners enqueues the pod's deployment, or, for a pod with no
// controller, every deployment that could adopt it.
func (dc *Controller) enqueueOwners(pod *v1.Pod) {
	if v1.GetControllerOf(pod) != nil {
		if key, ok := dc.owner(pod); ok {
			dc.ctrl.Enqueue(key)
		}
		return
	}
	for _, d := range dc.deployments.ByIndex(indexNamespace, pod.Namespace) {
		if d.Spec.Selector.Matches(pod.Labels) {
			dc.ctrl.Enqueue(v1.ObjectKey(d))
		}
	}
}

func (dc *Controller) podAdded(obj any) {
	pod := obj.(*v1.Pod)
	if pod.DeletionTimestamp != nil {
		// Seen first while being deleted (after a relist, say).
		dc.podDeleted(pod)
		return
	}
	if key, ok := dc.owner(pod); ok {
		dc.exp.creationObserved(key)
	}
	dc.enqueueOwners(pod)
}

func (dc *Controller) podUpdated(oldObj, newObj any) {
	old, pod := oldObj.(*v1.Pod), newObj.(*v1.Pod)
	if pod.DeletionTimestamp != nil && old.DeletionTimestamp == nil {
		// A pod being deleted no longer counts: that is the deletion the
		// sync waits for, not its final removal (which may never come on
		// a dead node).
		if key, ok := dc.owner(pod); ok {
			dc.exp.deletionObserved(key, v1.ObjectKey(pod))
		}
	}
	// A changed controller or labels may concern two deployments.
	if oldRef, ref := v1.GetControllerOf(old), v1.GetControllerOf(pod); oldRef != nil && (ref == nil || oldRef.UID != ref.UID) {
		dc.enqueueOwners(old)
	}
	dc.enqueueOwners(pod)
}

func (dc *Controller) podDeleted(obj any) {
	pod := obj.(*v1.Pod)
	if key, ok := dc.owner(pod); ok {
		dc.exp.deletionObserved(key, v1.ObjectKey(pod))
		dc.ctrl.Enqueue(key)
	}
}

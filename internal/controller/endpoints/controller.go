// Package endpoints is the Endpoints controller: for every Service with a
// selector it keeps an Endpoints object of the same name listing the pods
// the selector matches — ready ones in addresses, the others in
// notReadyAddresses — with their hostname (SPECS.md §2), node, pod
// reference and resolved ports. Kennel has no virtual IPs, so these
// Endpoints are what the cluster DNS answers with.
//
// It follows Kubernetes' endpoints controller: ExternalName services and
// services without a selector get nothing from it (their Endpoints, if
// any, are the user's); the Endpoints of a deleted service are deleted.
// Unlike Kubernetes it also deletes the Endpoints it wrote when their
// service loses its selector, telling them apart by LabelManagedBy.
//
//	controller.go  informers, event handlers → service keys, Run
//	sync.go        one sync: desired Endpoints vs the cache, one write
//	subsets.go     the pure part: pods → subsets, ports, addresses
package endpoints

import (
	"context"
	"log/slog"
	"maps"
	"sync"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
)

// component names the controller in logs.
const component = "endpoints-controller"

// indexNamespace finds services and pods by namespace.
const indexNamespace = "namespace"

// Controller keeps the Endpoints of services.
type Controller struct {
	c         *client.Client
	log       *slog.Logger
	ctrl      *controller.Controller
	services  *client.Informer[*v1.Service]
	pods      *client.Informer[*v1.Pod]
	endpoints *client.Informer[*v1.Endpoints]
}

// New builds the Endpoints controller over c. A nil log discards logs;
// opts.Logger is replaced by log.
func New(c *client.Client, log *slog.Logger, opts controller.Options) (*Controller, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ec := &Controller{c: c, log: log.With("component", component)}
	opts.Logger = ec.log
	ctrl, err := controller.New("endpoints", ec.sync, opts)
	if err != nil {
		return nil, err
	}
	ec.ctrl = ctrl
	byNamespace := func(o v1.Object) []string { return []string{o.GetObjectMeta().Namespace} }

	ec.services = client.NewInformer(client.For[*v1.Service](c, ""), client.ListOptions{}, ec.log)
	ec.services.AddIndexer(indexNamespace, func(s *v1.Service) []string { return byNamespace(s) })
	ec.services.AddHandler(ctrl.Handler(nil))

	ec.pods = client.NewInformer(client.For[*v1.Pod](c, ""), client.ListOptions{}, ec.log)
	ec.pods.AddIndexer(indexNamespace, func(p *v1.Pod) []string { return byNamespace(p) })
	ec.pods.AddHandler(client.HandlerFuncs{
		AddFunc:    func(obj any) { ec.enqueueServices(obj.(*v1.Pod)) },
		UpdateFunc: ec.podUpdated,
		DeleteFunc: func(obj any) { ec.enqueueServices(obj.(*v1.Pod)) },
	})

	// Endpoints changed or deleted by someone else are put back. Additions
	// are not watched, as in Kubernetes: a user may write the Endpoints of
	// a selector-less service before the service itself.
	ec.endpoints = client.NewInformer(client.For[*v1.Endpoints](c, ""), client.ListOptions{}, ec.log)
	enqueue := ctrl.Handler(nil)
	ec.endpoints.AddHandler(client.HandlerFuncs{UpdateFunc: enqueue.OnUpdate, DeleteFunc: enqueue.OnDelete})
	return ec, nil
}

// Run runs the informers and the controller until ctx ends. A controller
// runs once.
func (ec *Controller) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { ec.services.Run(ctx) })
	wg.Go(func() { ec.pods.Run(ctx) })
	wg.Go(func() { ec.endpoints.Run(ctx) })
	if !ec.services.WaitForSync(ctx) || !ec.pods.WaitForSync(ctx) || !ec.endpoints.WaitForSync(ctx) {
		return
	}
	// Endpoints whose service went while the controller was not running
	// are found by syncing every key once.
	for _, e := range ec.endpoints.List() {
		ec.ctrl.Enqueue(v1.ObjectKey(e))
	}
	if err := ec.ctrl.Run(ctx); err != nil {
		ec.log.Error("endpoints controller did not run", "err", err)
	}
}

// podUpdated enqueues the services that select the pod before or after
// the change, so a pod whose labels moved leaves one and joins another.
func (ec *Controller) podUpdated(oldObj, newObj any) {
	old, pod := oldObj.(*v1.Pod), newObj.(*v1.Pod)
	if old.ResourceVersion == pod.ResourceVersion {
		return
	}
	if !maps.Equal(old.Labels, pod.Labels) {
		ec.enqueueServices(old)
	}
	ec.enqueueServices(pod)
}

// enqueueServices enqueues every service in pod's namespace whose selector
// matches its labels.
func (ec *Controller) enqueueServices(pod *v1.Pod) {
	for _, svc := range ec.services.ByIndex(indexNamespace, pod.Namespace) {
		if managed(svc) && selects(svc, pod.Labels) {
			ec.ctrl.Enqueue(v1.ObjectKey(svc))
		}
	}
}

package petset

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
	// indexNamespace finds objects by namespace.
	indexNamespace = "namespace"
)

// Controller runs PetSets: it watches sets, pods, revisions and claims,
// and syncs a set whenever one of them changes.
type Controller struct {
	c       *client.Client
	log     *slog.Logger
	ctrl    *controller.Controller
	clock   clock.Clock
	kinds   kinds
	api     *apiControl
	control *petControl

	sets   *client.Informer[*v1.PetSet]
	pods   *client.Informer[*v1.Pod]
	revs   *client.Informer[*v1.ControllerRevision]
	claims *client.Informer[*v1.PersistentVolumeClaim]
}

// New builds the PetSet controller over c. A nil log discards logs;
// opts.Logger is replaced by log, and opts.Clock (nil: the system clock)
// also times minReadySeconds.
func New(c *client.Client, log *slog.Logger, opts controller.Options) (*Controller, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	pc := &Controller{c: c, log: log.With("component", component), clock: opts.Clock}
	opts.Logger = pc.log
	ctrl, err := controller.New("petset", pc.sync, opts)
	if err != nil {
		return nil, err
	}
	pc.ctrl = ctrl
	sets := client.For[*v1.PetSet](c, "")
	pods := client.For[*v1.Pod](c, "")
	pc.kinds = kinds{set: sets.Kind(), pod: pods.Kind()}
	pc.api = &apiControl{c: c, kind: pc.kinds.set,
		events: &events.Recorder{Client: c, Component: component, OffNode: true, Clock: opts.Clock, Logger: pc.log},
		pods:   newRecent[*v1.Pod](), claims: newRecent[*v1.PersistentVolumeClaim](),
		revs: newRecent[*v1.ControllerRevision](), sets: newRecent[*v1.PetSet]()}
	pc.control = &petControl{pods: pc.api, history: pc.api, events: pc.api, kinds: pc.kinds}

	byNamespace := func(o v1.Object) []string { return []string{o.GetObjectMeta().Namespace} }
	pc.sets = client.NewInformer(sets, client.ListOptions{}, pc.log)
	pc.sets.AddIndexer(indexNamespace, func(s *v1.PetSet) []string { return byNamespace(s) })
	pc.sets.AddHandler(ctrl.Handler(nil))

	pc.pods = client.NewInformer(pods, client.ListOptions{}, pc.log)
	pc.pods.AddIndexer(indexNamespace, func(p *v1.Pod) []string { return byNamespace(p) })
	pc.pods.AddHandler(pc.handler(func(o v1.Object) { pc.enqueuePod(o.(*v1.Pod)) }))

	pc.revs = client.NewInformer(client.For[*v1.ControllerRevision](c, ""), client.ListOptions{}, pc.log)
	pc.revs.AddIndexer(indexNamespace, func(r *v1.ControllerRevision) []string { return byNamespace(r) })
	pc.revs.AddHandler(pc.handler(func(o v1.Object) { pc.enqueueFor(o, false) }))

	pc.claims = client.NewInformer(client.For[*v1.PersistentVolumeClaim](c, ""), client.ListOptions{}, pc.log)
	pc.claims.AddIndexer(indexNamespace, func(c *v1.PersistentVolumeClaim) []string { return byNamespace(c) })
	pc.claims.AddHandler(pc.handler(func(o v1.Object) { pc.enqueueFor(o, true) }))
	return pc, nil
}

// Run runs the informers and the controller until ctx ends. A controller
// runs once.
func (pc *Controller) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { pc.sets.Run(ctx) })
	wg.Go(func() { pc.pods.Run(ctx) })
	wg.Go(func() { pc.revs.Run(ctx) })
	wg.Go(func() { pc.claims.Run(ctx) })
	for _, synced := range []func(context.Context) bool{pc.sets.WaitForSync, pc.pods.WaitForSync, pc.revs.WaitForSync, pc.claims.WaitForSync} {
		if !synced(ctx) {
			return
		}
	}
	if err := pc.ctrl.Run(ctx); err != nil {
		pc.log.Error("petset controller did not run", "err", err)
	}
}

// handler calls enqueue with the object of every event, and with the old
// object too when an update changed its controller or labels (it may
// concern two sets).
func (pc *Controller) handler(enqueue func(v1.Object)) client.EventHandler {
	return client.HandlerFuncs{
		AddFunc: func(obj any) { enqueue(obj.(v1.Object)) },
		UpdateFunc: func(oldObj, newObj any) {
			old, obj := oldObj.(v1.Object), newObj.(v1.Object)
			if !sameController(old, obj) || !sameLabels(old, obj) {
				enqueue(old)
			}
			enqueue(obj)
		},
		DeleteFunc: func(obj any) { enqueue(obj.(v1.Object)) },
	}
}

func sameController(a, b v1.Object) bool {
	ra, rb := v1.GetControllerOf(a), v1.GetControllerOf(b)
	return ra == nil && rb == nil || ra != nil && rb != nil && ra.UID == rb.UID
}

func sameLabels(a, b v1.Object) bool {
	la, lb := a.GetObjectMeta().Labels, b.GetObjectMeta().Labels
	if len(la) != len(lb) {
		return false
	}
	for k, v := range la {
		if w, ok := lb[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// enqueuePod enqueues the sets a pod concerns: the one controlling it or
// that may adopt it, and the one its name belongs to, which waits for a
// pod of that name to be gone before it creates its pet.
func (pc *Controller) enqueuePod(pod *v1.Pod) {
	pc.enqueueFor(pod, false)
	if parent, _, ok := v1.ParsePetName(pod.Name); ok {
		if _, exists := pc.sets.Get(pod.Namespace + "/" + parent); exists {
			pc.ctrl.Enqueue(pod.Namespace + "/" + parent)
		}
	}
}

// enqueueFor enqueues the set controlling o; or, when no set controls it
// (and also when something else does, if always is set), every set of
// its namespace whose selector matches its labels.
func (pc *Controller) enqueueFor(o v1.Object, always bool) {
	m := o.GetObjectMeta()
	if ref := v1.GetControllerOf(o); ref != nil {
		if ref.Kind == pc.kinds.set.Kind {
			key := m.Namespace + "/" + ref.Name
			if set, ok := pc.sets.Get(key); ok && set.UID == ref.UID {
				pc.ctrl.Enqueue(key)
			}
			return
		}
		if !always {
			return
		}
	}
	for _, set := range pc.sets.ByIndex(indexNamespace, m.Namespace) {
		if set.Spec.Selector.Matches(m.Labels) {
			pc.ctrl.Enqueue(v1.ObjectKey(set))
		}
	}
}

package member

import (
	"context"
	"sync"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
)

// indexTarget indexes Works by the member object they apply (objectRef).
const indexTarget = "target"

// works applies the member's Works and reports their status. Its keys
// are Work keys ("kennel-member-<cluster>/<name>").
type works struct {
	a    *agent
	ns   string
	ctrl *controller.Controller

	works       *client.Informer[*v1.Work]
	petsets     *client.Informer[*v1.PetSet]
	deployments *client.Informer[*v1.Deployment]
	endpoints   *client.Informer[*v1.Endpoints]

	mu sync.Mutex
	// applied is the member object each Work was last applied to; gone,
	// the object a deleted Work's last manifest named. Deleting a Work
	// deletes both (if they are still that Work's). After a restart they
	// are empty: the sweep finds what they would have.
	applied map[string]objectRef
	gone    map[string]objectRef
	// snap is the last list of the Works read by resync, until the
	// informer catches up with it; done, the resourceVersion of each
	// Work's last completed sync (removed: its objects were removed),
	// which progress announces to resync.
	snap     *snapshot
	done     map[string]int64
	progress chan struct{}
	// swept is closed after the first sweep.
	swept chan struct{}
}

func newWorks(a *agent) (*works, error) {
	w := &works{a: a, ns: v1.MemberNamespace(a.cfg.Cluster), applied: map[string]objectRef{}, gone: map[string]objectRef{},
		done: map[string]int64{}, progress: make(chan struct{}, 1), swept: make(chan struct{})}
	ctrl, err := a.newController("federation-works", w.sync)
	if err != nil {
		return nil, err
	}
	w.ctrl = ctrl
	w.works = client.NewInformer(client.For[*v1.Work](a.fed, w.ns), client.ListOptions{}, a.log)
	w.works.AddIndexer(indexTarget, func(work *v1.Work) []string {
		ref, err := targetOf(a.reg, work)
		if err != nil {
			return nil
		}
		return []string{ref.String()}
	})
	w.works.AddHandler(client.HandlerFuncs{
		AddFunc:    func(obj any) { w.enqueueWork(obj) },
		UpdateFunc: func(_, obj any) { w.enqueueWork(obj) },
		DeleteFunc: w.workDeleted,
	})
	ours := client.ListOptions{LabelSelector: v1.LabelFederation + "=" + a.federation}
	w.petsets = client.NewInformer(client.For[*v1.PetSet](a.mem, ""), ours, a.log)
	w.petsets.AddHandler(w.memberHandler("PetSet"))
	w.deployments = client.NewInformer(client.For[*v1.Deployment](a.mem, ""), ours, a.log)
	w.deployments.AddHandler(w.memberHandler("Deployment"))
	// The endpoints controller copies a Service's labels to its
	// Endpoints, so ours carry the federation label too.
	w.endpoints = client.NewInformer(client.For[*v1.Endpoints](a.mem, ""), ours, a.log)
	w.endpoints.AddHandler(w.memberHandler("Service"))
	return w, nil
}

// run syncs Works once every cache is filled, sweeps the member of
// objects whose Work is gone, and repeats both every Resync.
func (w *works) run(ctx context.Context) {
	go w.works.Run(ctx)
	go w.petsets.Run(ctx)
	go w.deployments.Run(ctx)
	go w.endpoints.Run(ctx)
	if !w.works.WaitForSync(ctx) || !w.petsets.WaitForSync(ctx) ||
		!w.deployments.WaitForSync(ctx) || !w.endpoints.WaitForSync(ctx) {
		return
	}
	go w.resyncLoop(ctx)
	if err := w.ctrl.Run(ctx); err != nil {
		w.a.log.Error("works controller failed", "err", err)
	}
}

// resyncLoop sweeps at once, then every Resync applies every Work again
// (a member object deleted or changed by hand is put back) and sweeps.
func (w *works) resyncLoop(ctx context.Context) {
	first := true
	w.a.every(ctx, w.a.cfg.Resync, "sweep the member of objects whose Work is gone", func(ctx context.Context) error {
		if !first {
			for _, work := range w.works.List() {
				w.ctrl.Enqueue(v1.ObjectKey(work))
			}
		}
		err := w.sweep(ctx)
		if first {
			close(w.swept)
		}
		first = false
		return err
	})
}

func (w *works) enqueueWork(obj any) {
	if key, ok := controller.KeyFunc(obj); ok {
		w.ctrl.Enqueue(key)
	}
}

// workDeleted remembers what the deleted Work applied, for sync.
func (w *works) workDeleted(obj any) {
	work, ok := obj.(*v1.Work)
	if !ok {
		return
	}
	key := v1.ObjectKey(work)
	if ref, err := targetOf(w.a.reg, work); err == nil {
		w.mu.Lock()
		w.gone[key] = ref
		w.mu.Unlock()
	}
	w.ctrl.Enqueue(key)
}

// memberHandler enqueues the Works that apply a changed member object of
// kind (a Service for its Endpoints), so their status follows it.
func (w *works) memberHandler(kind string) client.EventHandler {
	enqueue := func(obj any) {
		o, ok := obj.(v1.Object)
		if !ok {
			return
		}
		m := o.GetObjectMeta()
		ref := objectRef{Kind: kind, Namespace: m.Namespace, Name: m.Name}
		for _, work := range w.works.ByIndex(indexTarget, ref.String()) {
			w.ctrl.Enqueue(v1.ObjectKey(work))
		}
	}
	return client.HandlerFuncs{AddFunc: enqueue, UpdateFunc: func(_, obj any) { enqueue(obj) }, DeleteFunc: enqueue}
}

// sync applies one Work and reports its status, or deletes what a gone
// Work applied. The Work of a fenced workload counts as done only once
// its status (Fenced) is reported, so the federation hears of the fence
// before the fence is lifted.
func (w *works) sync(ctx context.Context, key string) error {
	work, ok, rv := w.current(key)
	if !ok || work.DeletionTimestamp != nil {
		w.goneFromList(key)
		if err := w.remove(ctx, key); err != nil {
			return err
		}
		w.markDone(key, removed)
		return nil
	}
	out := w.apply(ctx, work)
	switch {
	case isFenced(out.current):
		w.markUndone(key)
	case out.retry == nil:
		w.markDone(key, rv)
	}
	if err := w.report(ctx, work, out); err != nil {
		return err
	}
	if out.retry != nil {
		return out.retry
	}
	w.markDone(key, rv)
	if out.reason == ReasonConflict {
		// Nothing tells us when the other object goes; look again.
		return controller.RequeueAfter(min(w.a.cfg.Resync, time.Minute))
	}
	if out.requeue > 0 {
		return controller.RequeueAfter(out.requeue)
	}
	return nil
}

// remove deletes the member objects a gone Work applied.
func (w *works) remove(ctx context.Context, key string) error {
	w.mu.Lock()
	refs := map[objectRef]bool{}
	if ref, ok := w.applied[key]; ok {
		refs[ref] = true
	}
	if ref, ok := w.gone[key]; ok {
		refs[ref] = true
	}
	w.mu.Unlock()
	for ref := range refs {
		if err := w.deleteTarget(ctx, ref, key); err != nil {
			return err
		}
	}
	w.mu.Lock()
	delete(w.applied, key)
	delete(w.gone, key)
	w.mu.Unlock()
	return nil
}

// goneFromList remembers what a Work the cache still has applied, when
// a newer list says it is gone.
func (w *works) goneFromList(key string) {
	cached, ok := w.works.Get(key)
	if !ok {
		return
	}
	if ref, err := targetOf(w.a.reg, cached); err == nil {
		w.mu.Lock()
		w.gone[key] = ref
		w.mu.Unlock()
	}
}

func (w *works) setApplied(key string, ref objectRef) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.applied[key] = ref
	delete(w.gone, key)
}

func (w *works) appliedTo(key string) (objectRef, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ref, ok := w.applied[key]
	return ref, ok
}

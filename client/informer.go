package client

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// EventHandler receives an informer's changes, in order, from one
// goroutine. Handlers should only enqueue work (see internal/controller).
type EventHandler interface {
	OnAdd(obj any)
	OnUpdate(oldObj, newObj any)
	OnDelete(obj any)
}

// HandlerFuncs adapts functions to EventHandler; nil funcs are skipped.
type HandlerFuncs struct {
	AddFunc    func(obj any)
	UpdateFunc func(oldObj, newObj any)
	DeleteFunc func(obj any)
}

// OnAdd calls AddFunc.
func (h HandlerFuncs) OnAdd(obj any) {
	if h.AddFunc != nil {
		h.AddFunc(obj)
	}
}

// OnUpdate calls UpdateFunc.
func (h HandlerFuncs) OnUpdate(oldObj, newObj any) {
	if h.UpdateFunc != nil {
		h.UpdateFunc(oldObj, newObj)
	}
}

// OnDelete calls DeleteFunc.
func (h HandlerFuncs) OnDelete(obj any) {
	if h.DeleteFunc != nil {
		h.DeleteFunc(obj)
	}
}

// IndexFunc maps an object to the index values it is found under.
type IndexFunc[T v1.Object] func(obj T) []string

// Informer keeps a local cache of a kind in sync with the server through
// list and watch. After a cut watch it resumes from the last revision it
// saw; after 410 Gone it lists again and delivers the differences, so a
// handler sees every object's latest state and every deletion.
type Informer[T v1.Object] struct {
	res  *Resource[T]
	opts ListOptions
	log  *slog.Logger

	mu       sync.RWMutex
	items    map[string]T
	indexers map[string]IndexFunc[T]
	indices  map[string]map[string]map[string]struct{} // index → value → keys
	rv       string
	synced   chan struct{}
	syncOnce sync.Once

	hmu      sync.Mutex
	handlers []EventHandler
	relists  int

	// WatchTimeout ends each watch after this long so that it is resumed
	// (set before Run; default 5 minutes, as Kubernetes' reflector does).
	WatchTimeout time.Duration
}

// NewInformer builds an informer over res (its namespace scopes it)
// filtered by opts' selectors.
func NewInformer[T v1.Object](res *Resource[T], opts ListOptions, log *slog.Logger) *Informer[T] {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Informer[T]{
		res: res, opts: ListOptions{LabelSelector: opts.LabelSelector, FieldSelector: opts.FieldSelector},
		log:   log.With("informer", res.kind.Resource),
		items: map[string]T{}, indexers: map[string]IndexFunc[T]{}, indices: map[string]map[string]map[string]struct{}{},
		synced: make(chan struct{}),
	}
}

// AddHandler registers h; it first receives OnAdd for every cached object.
func (i *Informer[T]) AddHandler(h EventHandler) {
	i.hmu.Lock()
	defer i.hmu.Unlock()
	i.handlers = append(i.handlers, h)
	for _, obj := range i.List() {
		h.OnAdd(obj)
	}
}

// AddIndexer registers an index; call before Run.
func (i *Informer[T]) AddIndexer(name string, f IndexFunc[T]) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.indexers[name] = f
	i.indices[name] = map[string]map[string]struct{}{}
}

// Run lists and watches until ctx ends.
func (i *Informer[T]) Run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if err := i.relist(ctx); err != nil {
			i.log.Warn("list failed", "err", err)
			if !sleepCtx(ctx, backoff) {
				return
			}
			backoff = min(backoff*2, 10*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		i.watchUntilGone(ctx)
	}
}

// watchUntilGone watches from the cached revision, resuming after every
// cut, until the server says the revision is gone.
func (i *Informer[T]) watchUntilGone(ctx context.Context) {
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		opts := i.opts
		opts.ResourceVersion = i.ResourceVersion()
		opts.TimeoutSeconds = int(max(i.WatchTimeout, time.Second) / time.Second)
		if i.WatchTimeout == 0 {
			opts.TimeoutSeconds = 300
		}
		w, err := i.res.Watch(ctx, opts)
		if v1.IsGone(err) {
			return
		}
		if err != nil {
			i.log.Warn("watch failed", "err", err)
			if !sleepCtx(ctx, backoff) {
				return
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		for ev := range w.Events() {
			if ev.Type == Error {
				w.Stop()
				if v1.IsGone(ev.Err) {
					return
				}
				i.log.Warn("watch error", "err", ev.Err)
				break
			}
			i.apply(ev)
		}
	}
}

func (i *Informer[T]) relist(ctx context.Context) error {
	list, err := i.res.ListAll(ctx, ListOptions{LabelSelector: i.opts.LabelSelector, FieldSelector: i.opts.FieldSelector, Limit: 500})
	if err != nil {
		return err
	}
	fresh := make(map[string]T, len(list.Items))
	for _, obj := range list.Items {
		fresh[v1.ObjectKey(obj)] = obj
	}
	type change struct {
		old, new T
		hasOld   bool
		hasNew   bool
	}
	var changes []change
	i.mu.Lock()
	for k, old := range i.items {
		if _, ok := fresh[k]; !ok {
			changes = append(changes, change{old: old, hasOld: true})
			i.unindex(k, old)
			delete(i.items, k)
		}
	}
	keys := make([]string, 0, len(fresh))
	for k := range fresh {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		obj := fresh[k]
		old, had := i.items[k]
		if had && old.GetObjectMeta().ResourceVersion == obj.GetObjectMeta().ResourceVersion {
			continue
		}
		if had {
			i.unindex(k, old)
		}
		i.items[k] = obj
		i.index(k, obj)
		changes = append(changes, change{old: old, new: obj, hasOld: had, hasNew: true})
	}
	i.rv = list.ResourceVersion
	i.relists++
	i.mu.Unlock()
	for _, c := range changes {
		switch {
		case c.hasOld && c.hasNew:
			i.dispatch(func(h EventHandler) { h.OnUpdate(c.old, c.new) })
		case c.hasNew:
			i.dispatch(func(h EventHandler) { h.OnAdd(c.new) })
		default:
			i.dispatch(func(h EventHandler) { h.OnDelete(c.old) })
		}
	}
	i.syncOnce.Do(func() { close(i.synced) })
	return nil
}

func (i *Informer[T]) apply(ev Event[T]) {
	k := v1.ObjectKey(ev.Object)
	i.mu.Lock()
	old, had := i.items[k]
	if had {
		i.unindex(k, old)
	}
	if ev.Type == Deleted {
		delete(i.items, k)
	} else {
		i.items[k] = ev.Object
		i.index(k, ev.Object)
	}
	i.rv = ev.Object.GetObjectMeta().ResourceVersion
	i.mu.Unlock()
	switch {
	case ev.Type == Deleted:
		i.dispatch(func(h EventHandler) { h.OnDelete(ev.Object) })
	case had:
		i.dispatch(func(h EventHandler) { h.OnUpdate(old, ev.Object) })
	default:
		i.dispatch(func(h EventHandler) { h.OnAdd(ev.Object) })
	}
}

func (i *Informer[T]) dispatch(f func(EventHandler)) {
	i.hmu.Lock()
	defer i.hmu.Unlock()
	for _, h := range i.handlers {
		f(h)
	}
}

func (i *Informer[T]) index(key string, obj T) {
	for name, f := range i.indexers {
		for _, v := range f(obj) {
			set := i.indices[name][v]
			if set == nil {
				set = map[string]struct{}{}
				i.indices[name][v] = set
			}
			set[key] = struct{}{}
		}
	}
}

func (i *Informer[T]) unindex(key string, obj T) {
	for name, f := range i.indexers {
		for _, v := range f(obj) {
			delete(i.indices[name][v], key)
			if len(i.indices[name][v]) == 0 {
				delete(i.indices[name], v)
			}
		}
	}
}

// WaitForSync blocks until the first list is cached or ctx ends.
func (i *Informer[T]) WaitForSync(ctx context.Context) bool {
	select {
	case <-i.synced:
		return true
	case <-ctx.Done():
		return false
	}
}

// HasSynced reports whether the first list is cached.
func (i *Informer[T]) HasSynced() bool {
	select {
	case <-i.synced:
		return true
	default:
		return false
	}
}

// Get returns the cached object with key "ns/name" (or "name").
func (i *Informer[T]) Get(key string) (T, bool) {
	i.mu.RLock()
	defer i.mu.RUnlock()
	obj, ok := i.items[key]
	return obj, ok
}

// List returns every cached object, sorted by key.
func (i *Informer[T]) List() []T {
	i.mu.RLock()
	defer i.mu.RUnlock()
	keys := make([]string, 0, len(i.items))
	for k := range i.items {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]T, len(keys))
	for n, k := range keys {
		out[n] = i.items[k]
	}
	return out
}

// ByIndex returns the cached objects found under value in index name.
func (i *Informer[T]) ByIndex(name, value string) []T {
	i.mu.RLock()
	defer i.mu.RUnlock()
	var out []T
	for k := range i.indices[name][value] {
		out = append(out, i.items[k])
	}
	sort.Slice(out, func(a, b int) bool { return v1.ObjectKey(out[a]) < v1.ObjectKey(out[b]) })
	return out
}

// ResourceVersion is the revision the cache reflects.
func (i *Informer[T]) ResourceVersion() string {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return i.rv
}

// Relists counts full lists (1 after start; more after 410 Gone).
func (i *Informer[T]) Relists() int {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return i.relists
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

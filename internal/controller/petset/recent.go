package petset

import (
	"strconv"
	"sync"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// recent remembers the objects of one kind that this controller wrote, as
// the API server returned them, until the informer's cache has caught up
// with each write. A sync reads the cache through it, so that it never
// acts on a cache older than its own writes: it would try to create a pod
// it has just created, or delete one twice. It is Kubernetes' mutation
// cache, reduced to what the controller needs; it errs only towards
// caution (an object shown as it was written, while the cache may already
// know it changed, is at worst waited for again).
type recent[T v1.Object] struct {
	mu   sync.Mutex
	objs map[string]write[T] // by "namespace/name"
}

// write is one remembered write: the object as written, or its removal.
type write[T v1.Object] struct {
	obj  T
	gone bool
	rev  int64
}

func newRecent[T v1.Object]() *recent[T] { return &recent[T]{objs: map[string]write[T]{}} }

// wrote remembers obj as the server returned it from a create, update or
// deletion that left it in place (its resourceVersion is the write's).
func (r *recent[T]) wrote(obj T) { r.put(obj, false) }

// removed remembers that obj, as returned by its deletion, is gone.
func (r *recent[T]) removed(obj T) { r.put(obj, true) }

func (r *recent[T]) put(obj T, gone bool) {
	rev, err := strconv.ParseInt(obj.GetObjectMeta().ResourceVersion, 10, 64)
	if err != nil {
		return // without a revision the write cannot be matched; the cache will do
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	key := v1.ObjectKey(obj)
	if old, ok := r.objs[key]; ok && old.rev > rev {
		return
	}
	r.objs[key] = write[T]{obj: obj, gone: gone, rev: rev}
}

// pending returns the writes a cache at revision cacheRV does not show
// yet, and forgets the others. Call it before reading the cache: a write
// the informer reports in between is then in both, never in neither.
func (r *recent[T]) pending(cacheRV string) map[string]write[T] {
	seen, err := strconv.ParseInt(cacheRV, 10, 64)
	if err != nil {
		seen = 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]write[T]{}
	for k, w := range r.objs {
		if w.rev <= seen {
			delete(r.objs, k)
			continue
		}
		out[k] = w
	}
	return out
}

// overlay returns cached with the pending writes applied: an object
// written is shown as written (added if the cache lacks it), one removed
// is left out. mine selects the written objects that belong in the list
// (same namespace, same owner); one that no longer does replaces nothing
// and is left out.
func overlay[T v1.Object](cached []T, pending map[string]write[T], mine func(T) bool) []T {
	if len(pending) == 0 {
		return cached
	}
	out := make([]T, 0, len(cached))
	done := map[string]bool{}
	for _, obj := range cached {
		key := v1.ObjectKey(obj)
		w, ok := pending[key]
		switch {
		case !ok:
			out = append(out, obj)
		case !w.gone && mine(w.obj):
			out = append(out, w.obj)
		}
		done[key] = true
	}
	for key, w := range pending {
		if !done[key] && !w.gone && mine(w.obj) {
			out = append(out, w.obj)
		}
	}
	return out
}

package apiserver

import (
	"container/list"
	"sync"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/store"
)

// recent remembers, decoded, the objects this server last wrote, so that
// an update naming the resourceVersion it read (the usual read-modify-write)
// neither reads nor decodes the object again. It is only a shortcut: a
// revision identifies one version of one key, and the compare-and-swap
// still decides whether the write lands. The least recently written
// entries are dropped first, to stay within max entries and maxBytes of
// encoded objects (a decoded object takes a few times that).
type recent struct {
	mu       sync.Mutex
	max      int
	maxBytes int
	bytes    int
	m        map[string]*list.Element
	order    *list.List // front: most recently written
}

type recentEntry struct {
	key string
	kv  *store.KV
	obj v1.Object // read-only once cached
}

func newRecent(max, maxBytes int) *recent {
	return &recent{max: max, maxBytes: maxBytes, m: make(map[string]*list.Element, max), order: list.New()}
}

// get returns the cached object at exactly revision rev.
func (r *recent) get(key string, rev int64) (*recentEntry, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	el, ok := r.m[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*recentEntry)
	if e.kv.Revision != rev {
		return nil, false
	}
	return e, true
}

// latest returns the newest cached version of key, whatever its
// revision: a guess at the current object, for writes whose
// compare-and-swap then tells whether it was right.
func (r *recent) latest(key string) (*recentEntry, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	el, ok := r.m[key]
	if !ok {
		return nil, false
	}
	return el.Value.(*recentEntry), true
}

func (r *recent) put(key string, value []byte, rev int64, obj v1.Object) {
	obj.GetObjectMeta().ResourceVersion = formatRV(rev)
	e := &recentEntry{key: key, kv: &store.KV{Key: key, Value: value, Revision: rev}, obj: obj}
	r.mu.Lock()
	defer r.mu.Unlock()
	if el, ok := r.m[key]; ok {
		r.bytes -= len(el.Value.(*recentEntry).kv.Value)
		el.Value = e
		r.order.MoveToFront(el)
	} else {
		r.m[key] = r.order.PushFront(e)
	}
	r.bytes += len(value)
	for r.order.Len() > r.max || (r.bytes > r.maxBytes && r.order.Len() > 0) {
		r.remove(r.order.Back())
	}
}

func (r *recent) remove(el *list.Element) {
	e := el.Value.(*recentEntry)
	r.order.Remove(el)
	delete(r.m, e.key)
	r.bytes -= len(e.kv.Value)
}

func (r *recent) drop(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if el, ok := r.m[key]; ok {
		r.remove(el)
	}
}

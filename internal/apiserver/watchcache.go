package apiserver

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/kennel-dev/kennel/internal/store"
)

// watchCache fans one etcd watch per resource out to every API watch of
// that resource, and keeps the latest events so that a watch resuming from
// a recent resourceVersion is served from memory. A watch from before the
// kept window goes to etcd directly (which answers 410 when compacted).
//
//	etcd ──watch──▶ watchCache(resource) ──▶ subscriber ──▶ HTTP watch
//	                     │ ring of the last events         ├▶ subscriber ──▶ …
type watchCache struct {
	st       *store.Store
	prefix   string
	capacity int
	buffer   int // per subscriber
	log      *slog.Logger

	mu        sync.Mutex
	running   bool
	ring      []store.Event // in revision order
	ringBytes int
	// window is the first revision from which every event is in ring.
	window int64
	subs   map[*subscriber]struct{}

	// budget is how long dispatching may wait, in all, for watchers whose
	// buffer is full; it is used only by the dispatching goroutine.
	budget *timeBudget
}

// subscriber is one API watch: events under prefix from revision from on.
// Only the dispatching goroutine sends on ch and closes it; the watch
// ends its interest by closing done.
type subscriber struct {
	ch       chan store.Event
	prefix   string
	from     int64
	closed   bool // ch closed; owned by the dispatching goroutine
	done     chan struct{}
	doneOnce sync.Once
}

func newWatchCache(st *store.Store, prefix string, capacity, buffer int, log *slog.Logger) *watchCache {
	return &watchCache{st: st, prefix: prefix, capacity: capacity, buffer: buffer, log: log, subs: map[*subscriber]struct{}{},
		budget: newTimeBudget(time.Now())}
}

// subscribe returns the events under prefix from revision from on, or
// ok=false when from is older than the cache's window. cancel must be
// called when the watch ends.
func (c *watchCache) subscribe(ctx, stop context.Context, prefix string, from int64) (events <-chan store.Event, cancel func(), ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		if err := c.start(stop); err != nil {
			return nil, nil, false
		}
	}
	if from < c.window {
		return nil, nil, false
	}
	var replay []store.Event
	for _, ev := range c.ring {
		if ev.KV.Revision >= from && strings.HasPrefix(ev.KV.Key, prefix) {
			replay = append(replay, ev)
		}
	}
	s := &subscriber{ch: make(chan store.Event, c.buffer+len(replay)), prefix: prefix, from: from, done: make(chan struct{})}
	for _, ev := range replay {
		s.ch <- ev
	}
	c.subs[s] = struct{}{}
	return s.ch, func() { c.unsubscribe(s) }, true
}

// unsubscribe ends a watch's interest; a dispatch waiting to give it an
// event stops waiting.
func (c *watchCache) unsubscribe(s *subscriber) {
	c.mu.Lock()
	delete(c.subs, s)
	c.mu.Unlock()
	s.doneOnce.Do(func() { close(s.done) })
}

// start begins the etcd watch from the current revision; c.mu is held.
func (c *watchCache) start(stop context.Context) error {
	ctx, cancel := context.WithTimeout(stop, 5*time.Second)
	rev, err := c.st.CurrentRevision(ctx)
	cancel()
	if err != nil {
		return err
	}
	c.running, c.window, c.ring, c.ringBytes = true, rev+1, nil, 0
	go c.run(stop, c.st.Watch(stop, c.prefix, rev+1))
	return nil
}

// run dispatches etcd events until the watch ends; then it cuts every
// subscriber off (they resume from their last revision) and lets the next
// subscribe start afresh.
func (c *watchCache) run(ctx context.Context, events <-chan store.Event) {
	for ev := range events {
		if ev.Err != nil {
			if !errors.Is(ev.Err, context.Canceled) && ctx.Err() == nil {
				c.log.Warn("watch cache: etcd watch ended", "prefix", c.prefix, "err", ev.Err)
			}
			break
		}
		c.dispatch(ev)
	}
	c.mu.Lock()
	c.running = false
	subs := c.subs
	c.subs = map[*subscriber]struct{}{}
	c.mu.Unlock()
	for s := range subs {
		s.cutOff()
	}
}

// cutOff ends a subscriber's stream; only the dispatching goroutine calls
// it.
func (s *subscriber) cutOff() {
	if !s.closed {
		s.closed = true
		close(s.ch)
	}
}

// dispatch keeps ev in the ring and gives it to every subscriber that
// wants it. A subscriber whose buffer is full is waited for, out of a
// small time budget shared by all (a watcher busy for an instant, as on a
// loaded machine, keeps up); once the budget is spent it is cut off (it
// resumes from where it was) rather than holding up the others.
func (c *watchCache) dispatch(ev store.Event) {
	blocked := c.offer(ev)
	if len(blocked) == 0 {
		return
	}
	start := time.Now()
	wait := c.budget.take(start)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	expired := false
	for _, s := range blocked {
		if !expired {
			select {
			case s.ch <- ev:
				continue
			case <-s.done:
				continue
			case <-timer.C:
				expired = true
			}
		}
		select { // the budget is spent: a last chance, then cut off
		case s.ch <- ev:
		case <-s.done:
		default:
			c.mu.Lock()
			delete(c.subs, s)
			c.mu.Unlock()
			s.cutOff()
		}
	}
	c.budget.giveBack(wait-time.Since(start), time.Now())
}

// offer keeps ev and hands it to every subscriber with room; it returns
// those without.
func (c *watchCache) offer(ev store.Event) (blocked []*subscriber) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ring = append(c.ring, ev)
	c.ringBytes += eventBytes(ev)
	for len(c.ring) > 0 && (len(c.ring) > c.capacity || c.ringBytes > watchCacheBytes) {
		c.window = c.ring[0].KV.Revision + 1
		c.ringBytes -= eventBytes(c.ring[0])
		c.ring = c.ring[1:]
	}
	for s := range c.subs {
		if ev.KV.Revision < s.from || !strings.HasPrefix(ev.KV.Key, s.prefix) {
			continue
		}
		select {
		case s.ch <- ev:
		default:
			blocked = append(blocked, s)
		}
	}
	return blocked
}

// timeBudget is time that refills at refillPerSecond up to maxBudget, as
// in Kubernetes' watch cache: a watcher that falls behind for an instant
// is waited for, a stalled one costs the others at most maxBudget before
// it is cut off.
type timeBudget struct {
	left time.Duration
	at   time.Time
}

const (
	maxBudget       = 100 * time.Millisecond
	refillPerSecond = 50 * time.Millisecond
)

func newTimeBudget(now time.Time) *timeBudget { return &timeBudget{left: maxBudget, at: now} }

// take returns all the budget there is at now.
func (b *timeBudget) take(now time.Time) time.Duration {
	b.refill(now)
	d := b.left
	b.left = 0
	return d
}

// giveBack returns what a wait did not use.
func (b *timeBudget) giveBack(d time.Duration, now time.Time) {
	b.refill(now)
	if d > 0 {
		b.left = min(b.left+d, maxBudget)
	}
}

func (b *timeBudget) refill(now time.Time) {
	if el := now.Sub(b.at); el > 0 {
		b.left = min(b.left+time.Duration(float64(refillPerSecond)*el.Seconds()), maxBudget)
	}
	b.at = now
}

// watchCaches holds one cache per resource prefix, created on first use.
type watchCaches struct {
	st     *store.Store
	log    *slog.Logger
	buffer int
	mu     sync.Mutex
	m      map[string]*watchCache
}

func (w *watchCaches) get(prefix string) *watchCache {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.m[prefix]
	if !ok {
		c = newWatchCache(w.st, prefix, watchCacheEvents, w.buffer, w.log)
		w.m[prefix] = c
	}
	return c
}

// Each resource keeps at most watchCacheEvents recent events and
// watchCacheBytes of their values.
const (
	watchCacheEvents = 256
	watchCacheBytes  = 16 << 20
)

func eventBytes(ev store.Event) int {
	n := len(ev.KV.Value)
	if ev.PrevKV != nil {
		n += len(ev.PrevKV.Value)
	}
	return n
}

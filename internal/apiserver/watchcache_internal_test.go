package apiserver

import (
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kennel-dev/kennel/internal/store"
)

// cacheWith returns a running-looking watch cache (no etcd watch) with
// one subscriber per buffer size given, each from revision 1.
func cacheWith(buffers ...int) (*watchCache, []*subscriber) {
	c := newWatchCache(nil, "/p/", 16, 0, slog.New(slog.DiscardHandler))
	var subs []*subscriber
	for _, b := range buffers {
		s := &subscriber{ch: make(chan store.Event, b), prefix: "/p/", from: 1, done: make(chan struct{})}
		c.subs[s] = struct{}{}
		subs = append(subs, s)
	}
	return c, subs
}

func putEvent(rev int64) store.Event {
	return store.Event{Type: store.Put, KV: &store.KV{Key: "/p/x", Revision: rev}}
}

// A watcher whose buffer is full for an instant (its reader busy, as on a
// loaded machine) is waited for, not cut off. The tests run in a synctest
// bubble: synctest.Wait returns once the dispatch is blocked waiting, and
// the budget's timer runs on the bubble's clock.
func TestWatcherBusyForAnInstantIsNotCutOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, subs := cacheWith(1)
		s := subs[0]
		c.dispatch(putEvent(1)) // fills the buffer
		done := make(chan struct{})
		go func() { c.dispatch(putEvent(2)); close(done) }()
		synctest.Wait() // the dispatch waits for the watcher
		if s.closed {
			t.Fatal("a watcher whose buffer was full for an instant was cut off")
		}
		var revs []int64
		for range 2 {
			revs = append(revs, (<-s.ch).KV.Revision)
		}
		<-done
		if revs[0] != 1 || revs[1] != 2 || s.closed {
			t.Fatalf("watcher got revisions %v (closed %v), want [1 2], open", revs, s.closed)
		}
		if _, ok := c.subs[s]; !ok {
			t.Fatal("the watcher was dropped from the subscribers")
		}
	})
}

// A stalled watcher costs the others the budget, then is cut off; the
// others get every event; the budget is spent.
func TestStalledWatcherIsCutOffWithinTheBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, subs := cacheWith(1, 64)
		stalled, live := subs[0], subs[1]
		c.dispatch(putEvent(1))
		start := time.Now()
		c.dispatch(putEvent(2))
		if took := time.Since(start); took != maxBudget {
			t.Fatalf("the stalled watcher was cut off after %v, want after the budget (%v)", took, maxBudget)
		}
		if !stalled.closed {
			t.Fatal("a stalled watcher was not cut off")
		}
		if _, ok := c.subs[stalled]; ok {
			t.Fatal("a cut-off watcher is still subscribed")
		}
		if len(live.ch) != 2 || live.closed {
			t.Fatalf("the live watcher has %d events (closed %v), want 2", len(live.ch), live.closed)
		}
		// All of it was spent; what is there is the refill over the wait.
		if left, want := c.budget.take(time.Now()), refillPerSecond*maxBudget/time.Second; left != want {
			t.Fatalf("budget left after a stalled watcher spent it: %v, want %v", left, want)
		}
	})
}

// A watch that ends while a dispatch waits for it releases the dispatch.
func TestUnsubscribeReleasesAWaitingDispatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, subs := cacheWith(1)
		s := subs[0]
		c.dispatch(putEvent(1))
		done := make(chan struct{})
		go func() { c.dispatch(putEvent(2)); close(done) }()
		synctest.Wait() // the dispatch waits for the watcher
		start := time.Now()
		c.unsubscribe(s)
		<-done
		if took := time.Since(start); took != 0 || s.closed {
			t.Fatalf("dispatch ended %v after the unsubscribe (closed %v), want at once, not cut off", took, s.closed)
		}
	})
}

func TestTimeBudget(t *testing.T) {
	t0 := time.Unix(1000, 0)
	b := newTimeBudget(t0)
	if d := b.take(t0); d != maxBudget {
		t.Fatalf("first take = %v, want %v", d, maxBudget)
	}
	if d := b.take(t0); d != 0 {
		t.Fatalf("take right after = %v, want 0", d)
	}
	b.giveBack(30*time.Millisecond, t0)
	if d := b.take(t0.Add(time.Second)); d != 30*time.Millisecond+refillPerSecond {
		t.Fatalf("take a second after giving 30 ms back = %v, want %v", d, 30*time.Millisecond+refillPerSecond)
	}
	if d := b.take(t0.Add(time.Hour)); d != maxBudget {
		t.Fatalf("budget refilled past its cap: %v", d)
	}
	b.giveBack(-time.Second, t0.Add(time.Hour)) // a wait longer than its budget
	if d := b.take(t0.Add(time.Hour)); d != 0 {
		t.Fatalf("giving back a negative amount left %v", d)
	}
}

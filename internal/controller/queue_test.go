package controller

import (
	"sync"
	"testing"
	"time"

	"github.com/kennel-dev/kennel/internal/controller/clock"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

var epoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// waitFor waits for cond with a deadline, failing the test after it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testcluster.Eventually(t, 10*time.Second, what, cond)
}

// inFlight is the number of keys handed out and not Done.
func (q *Queue) inFlight() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.processing)
}

// qop is one step of a scripted queue test.
type qop struct {
	do   string // add, get, done, len, shutdown
	key  string // for add, done; the wanted key for get
	want int    // for len
}

func TestQueueSemantics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ops  []qop
	}{
		{"duplicates collapse", []qop{
			{do: "add", key: "a"}, {do: "add", key: "a"}, {do: "add", key: "b"}, {do: "add", key: "a"},
			{do: "len", want: 2}, {do: "get", key: "a"}, {do: "get", key: "b"}, {do: "len", want: 0},
		}},
		{"first in first out", []qop{
			{do: "add", key: "c"}, {do: "add", key: "a"}, {do: "add", key: "b"},
			{do: "get", key: "c"}, {do: "get", key: "a"}, {do: "get", key: "b"},
		}},
		{"re-add while processing waits for Done", []qop{
			{do: "add", key: "a"}, {do: "get", key: "a"}, {do: "add", key: "a"}, {do: "add", key: "a"},
			{do: "len", want: 0}, {do: "done", key: "a"}, {do: "len", want: 1}, {do: "get", key: "a"},
			{do: "done", key: "a"}, {do: "len", want: 0},
		}},
		{"done without re-add drops the key", []qop{
			{do: "add", key: "a"}, {do: "get", key: "a"}, {do: "done", key: "a"}, {do: "len", want: 0},
		}},
		{"other keys are not held up by one processing", []qop{
			{do: "add", key: "a"}, {do: "get", key: "a"}, {do: "add", key: "b"}, {do: "get", key: "b"},
		}},
		{"shutdown hands out what is queued, then reports shutdown", []qop{
			{do: "add", key: "a"}, {do: "add", key: "b"}, {do: "shutdown"}, {do: "add", key: "c"},
			{do: "len", want: 2}, {do: "get", key: "a"}, {do: "get", key: "b"}, {do: "get", key: ""},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q := NewQueue(QueueConfig{Clock: clock.NewFake(epoch)})
			defer q.ShutDown()
			for i, op := range tc.ops {
				runQop(t, q, i, op)
			}
		})
	}
}

func runQop(t *testing.T, q *Queue, i int, op qop) {
	t.Helper()
	switch op.do {
	case "add":
		q.Add(op.key)
	case "done":
		q.Done(op.key)
	case "shutdown":
		q.ShutDown()
	case "len":
		if got := q.Len(); got != op.want {
			t.Fatalf("step %d: Len() = %d, want %d", i, got, op.want)
		}
	case "get":
		key, shutdown := q.Get()
		if key != op.key || shutdown != (op.key == "") {
			t.Fatalf("step %d: Get() = %q, %v; want %q, %v", i, key, shutdown, op.key, op.key == "")
		}
	default:
		t.Fatalf("step %d: unknown op %q", i, op.do)
	}
}

func TestBackoffDelay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		b    Backoff
		n    int
		want time.Duration
	}{
		{Backoff{}, 0, 5 * time.Millisecond},
		{Backoff{}, 1, 10 * time.Millisecond},
		{Backoff{}, 3, 40 * time.Millisecond},
		{Backoff{}, 17, 655360 * time.Millisecond},
		{Backoff{}, 18, 1000 * time.Second},
		{Backoff{}, 1 << 20, 1000 * time.Second},
		{Backoff{Base: time.Second, Max: 10 * time.Second}, 3, 8 * time.Second},
		{Backoff{Base: time.Second, Max: 10 * time.Second}, 4, 10 * time.Second},
		{Backoff{Base: time.Second, Max: 500 * time.Millisecond}, 0, 500 * time.Millisecond},
	}
	for _, tc := range tests {
		if got := tc.b.withDefaults().delay(tc.n); got != tc.want {
			t.Errorf("%+v.delay(%d) = %s, want %s", tc.b, tc.n, got, tc.want)
		}
	}
}

// TestQueueBackoffGrowthAndForget drives AddRateLimited with a fake clock:
// each failure doubles the wait, and Forget starts over.
func TestQueueBackoffGrowthAndForget(t *testing.T) {
	t.Parallel()
	fake := clock.NewFake(epoch)
	q := NewQueue(QueueConfig{Clock: fake, Backoff: Backoff{Base: 10 * time.Millisecond, Max: 40 * time.Millisecond}})
	defer q.ShutDown()

	fail := func(wantDelay time.Duration) {
		t.Helper()
		q.AddRateLimited("a")
		waitFor(t, "the delay timer", func() bool { return fake.Waiters() == 1 })
		fake.Advance(wantDelay - time.Nanosecond)
		if q.Len() != 0 {
			t.Fatalf("key ready before its delay of %s", wantDelay)
		}
		fake.Advance(time.Nanosecond)
		waitFor(t, "the key after "+wantDelay.String(), func() bool { return q.Len() == 1 })
		if key, _ := q.Get(); key != "a" {
			t.Fatalf("Get() = %q, want a", key)
		}
		q.Done("a")
	}
	for i, d := range []time.Duration{10, 20, 40, 40} {
		fail(d * time.Millisecond)
		if got := q.NumRequeues("a"); got != i+1 {
			t.Fatalf("NumRequeues = %d, want %d", got, i+1)
		}
	}
	q.Forget("a")
	if got := q.NumRequeues("a"); got != 0 {
		t.Fatalf("NumRequeues after Forget = %d, want 0", got)
	}
	fail(10 * time.Millisecond)
}

func TestDelayedKeepsEarliestDeadline(t *testing.T) {
	t.Parallel()
	d := delayed{index: map[string]int{}}
	d.push("a", epoch.Add(10*time.Second))
	d.push("b", epoch.Add(5*time.Second))
	d.push("a", epoch.Add(2*time.Second))  // earlier: wins
	d.push("b", epoch.Add(20*time.Second)) // later: ignored
	d.push("c", epoch.Add(7*time.Second))
	if got := d.popDue(epoch.Add(time.Second)); len(got) != 0 {
		t.Fatalf("popDue(+1s) = %v, want none", got)
	}
	if got := d.popDue(epoch.Add(6 * time.Second)); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("popDue(+6s) = %v, want [a b]", got)
	}
	if next, ok := d.earliest(); !ok || !next.Equal(epoch.Add(7*time.Second)) {
		t.Fatalf("earliest() = %v, %v; want +7s", next, ok)
	}
}

func TestQueueShutDownWithDrain(t *testing.T) {
	t.Parallel()
	q := NewQueue(QueueConfig{Clock: clock.NewFake(epoch)})
	q.Add("a")
	q.Add("b")
	if key, _ := q.Get(); key != "a" {
		t.Fatalf("Get() = %q, want a", key)
	}
	drained := make(chan struct{})
	go func() {
		q.ShutDownWithDrain()
		close(drained)
	}()
	waitFor(t, "shutdown", q.ShuttingDown)
	q.Add("c") // ignored after shutdown
	select {
	case <-drained:
		t.Fatal("ShutDownWithDrain returned while a is processing")
	default:
	}
	// Queued keys are still handed out while draining.
	if key, shutdown := q.Get(); key != "b" || shutdown {
		t.Fatalf("Get() = %q, %v; want b, false", key, shutdown)
	}
	q.Done("a")
	q.Done("b")
	<-drained
	if key, shutdown := q.Get(); !shutdown {
		t.Fatalf("Get() after drain = %q, want shutdown", key)
	}
}

func TestQueueGetBlocksUntilAdd(t *testing.T) {
	t.Parallel()
	q := NewQueue(QueueConfig{})
	defer q.ShutDown()
	var wg sync.WaitGroup
	got := make(chan string, 1)
	wg.Go(func() {
		key, _ := q.Get()
		got <- key
	})
	q.Add("a")
	wg.Wait()
	if key := <-got; key != "a" {
		t.Fatalf("Get() = %q, want a", key)
	}
}

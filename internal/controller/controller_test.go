package controller

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/controller/clock"
)

// logBuffer collects log output from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLogger(b *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// metricValue reads a counter or gauge of controller name from reg.
func metricValue(t *testing.T, reg *prometheus.Registry, metric, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != metric {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" && l.GetValue() == name {
					if m.Counter != nil {
						return m.GetCounter().GetValue()
					}
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return 0
}

// startController runs c until the test ends and checks that Run returns.
func startController(t *testing.T, c *Controller) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// syncResultCase is a sync whose first call returns first(); later calls
// succeed.
type syncResultCase struct {
	name         string
	first        func() error
	retryAfter   time.Duration // 0: the key is not retried
	wantErrors   float64
	wantRequeues float64
	wantLog      string
}

// TestControllerSyncResults checks what each kind of sync result does to
// the key, the metrics and the logs.
func TestControllerSyncResults(t *testing.T) {
	t.Parallel()
	tests := []syncResultCase{
		{name: "success forgets", first: func() error { return nil }},
		{name: "error retries with back-off", first: func() error { return errors.New("boom") },
			retryAfter: DefaultBackoffBase, wantErrors: 1, wantRequeues: 1, wantLog: "sync failed"},
		{name: "conflict retries without an error log", first: func() error {
			return fmt.Errorf("update: %w", v1.NewError(v1.ReasonConflict, "the object has been modified"))
		}, retryAfter: DefaultBackoffBase, wantErrors: 1, wantRequeues: 1, wantLog: "level=INFO msg=\"sync met a newer version; retrying\""},
		{name: "panic is recovered as an error", first: func() error { panic("kaboom") },
			retryAfter: DefaultBackoffBase, wantErrors: 1, wantRequeues: 1, wantLog: "sync panicked"},
		{name: "requeue after is not a failure", first: func() error { return RequeueAfter(30 * time.Second) },
			retryAfter: 30 * time.Second, wantRequeues: 1, wantLog: "requeue requested"},
		{name: "wrapped requeue", first: func() error { return fmt.Errorf("waiting: %w", Requeue{After: time.Minute}) },
			retryAfter: time.Minute, wantRequeues: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runSyncResultCase(t, tc)
		})
	}
}

func runSyncResultCase(t *testing.T, tc syncResultCase) {
	fake := clock.NewFake(epoch)
	reg := prometheus.NewRegistry()
	var logs logBuffer
	var calls atomic.Int32
	sync := func(ctx context.Context, key string) error {
		if calls.Add(1) == 1 {
			return tc.first()
		}
		return nil
	}
	c, err := New("test", sync, Options{Clock: fake, Metrics: reg, Logger: newLogger(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	startController(t, c)
	c.Enqueue("ns/a")
	waitFor(t, "the first sync to finish", func() bool { return calls.Load() == 1 && c.queue.inFlight() == 0 })

	wantSyncs := 1.0
	if tc.retryAfter > 0 {
		wantSyncs = 2
		waitFor(t, "the retry timer", func() bool { return fake.Waiters() == 1 })
		fake.Advance(tc.retryAfter - time.Nanosecond)
		if n := calls.Load(); n != 1 {
			t.Fatalf("synced %d times before the retry delay passed", n)
		}
		fake.Advance(time.Nanosecond)
		waitFor(t, "the retry", func() bool { return calls.Load() == 2 && c.queue.inFlight() == 0 })
	}
	if got := c.queue.NumRequeues("ns/a"); got != 0 {
		t.Errorf("NumRequeues after success = %d, want 0", got)
	}
	if fake.Waiters() != 0 || c.queue.Len() != 0 {
		t.Errorf("key still queued or held back after success")
	}
	for metric, want := range map[string]float64{
		"kennel_controller_syncs_total":       wantSyncs,
		"kennel_controller_sync_errors_total": tc.wantErrors,
		"kennel_controller_requeues_total":    tc.wantRequeues,
		"kennel_controller_queue_depth":       0,
	} {
		if got := metricValue(t, reg, metric, "test"); got != want {
			t.Errorf("%s = %v, want %v", metric, got, want)
		}
	}
	if out := logs.String(); tc.wantLog != "" && !strings.Contains(out, tc.wantLog) || !strings.Contains(out, "controller=test") {
		t.Errorf("log lacks %q or the controller attribute:\n%s", tc.wantLog, out)
	}
}

// TestControllerNeverSyncsOneKeyTwiceAtOnce hammers a few keys with many
// workers while syncs re-add their own key.
func TestControllerNeverSyncsOneKeyTwiceAtOnce(t *testing.T) {
	t.Parallel()
	const keys, workers, total = 4, 8, 4000
	var inFlight [keys]atomic.Int32
	var violations, syncs, parallel atomic.Int32
	var running atomic.Int32
	var c *Controller
	sync := func(ctx context.Context, key string) error {
		var i int
		fmt.Sscanf(key, "k%d", &i)
		if inFlight[i].Add(1) > 1 {
			violations.Add(1)
		}
		if running.Add(1) > 1 {
			parallel.Add(1)
		}
		if syncs.Add(1) < total {
			c.Enqueue(key) // re-added while processing
		}
		runtime.Gosched()
		running.Add(-1)
		inFlight[i].Add(-1)
		return nil
	}
	var err error
	c, err = New("hammer", sync, Options{Workers: workers, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	startController(t, c)
	for i := range keys {
		c.Enqueue(fmt.Sprintf("k%d", i))
	}
	waitFor(t, "all syncs", func() bool { return syncs.Load() >= total })
	if v := violations.Load(); v != 0 {
		t.Fatalf("%d syncs ran while the same key was in flight", v)
	}
	t.Logf("%d of %d syncs overlapped another key", parallel.Load(), syncs.Load())
}

func TestControllerRunStopsAndWaitsForSyncs(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	started := make(chan struct{})
	var returned atomic.Bool
	sync := func(ctx context.Context, key string) error {
		close(started)
		<-ctx.Done()
		returned.Store(true)
		return ctx.Err()
	}
	c, err := New("stop", sync, Options{Metrics: reg, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	c.Enqueue("a")
	<-started
	c.Enqueue("b") // still queued at shutdown: dropped, not synced
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !returned.Load() {
		t.Fatal("Run returned before the sync in progress")
	}
	if got := metricValue(t, reg, "kennel_controller_sync_errors_total", "stop"); got != 0 {
		t.Errorf("a sync cut short by shutdown counted as %v errors", got)
	}
	if err := c.Run(context.Background()); err == nil {
		t.Error("second Run succeeded")
	}
}

func TestControllerUsesContextLogger(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	seen := make(chan string, 1)
	sync := func(ctx context.Context, key string) error {
		LoggerFrom(ctx).Info("hello from sync")
		seen <- key
		return nil
	}
	c, err := New("ctxlog", sync, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(WithLogger(t.Context(), newLogger(&logs)))
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	c.Enqueue("ns/a")
	<-seen
	cancel()
	<-done
	out := logs.String()
	if !strings.Contains(out, `msg="hello from sync" controller=ctxlog key=ns/a`) {
		t.Errorf("sync log lacks controller and key:\n%s", out)
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	ok := func(context.Context, string) error { return nil }
	tests := []struct {
		name, ctrl string
		sync       SyncFunc
		opts       Options
		wantErr    string
	}{
		{"no name", "", ok, Options{}, "controller: name is required"},
		{"no sync", "x", nil, Options{}, "controller: x: sync function is required"},
		{"negative workers", "x", ok, Options{Workers: -1}, "controller: x: Workers: must not be negative"},
		{"valid", "x", ok, Options{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tc.ctrl, tc.sync, tc.opts)
			if (err == nil) != (tc.wantErr == "") || err != nil && !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Fatalf("New() error = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestControllersShareARegistry(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	ok := func(context.Context, string) error { return nil }
	for _, name := range []string{"a", "b", "a"} {
		if _, err := New(name, ok, Options{Metrics: reg}); err != nil {
			t.Fatalf("New(%q): %v", name, err)
		}
	}
}

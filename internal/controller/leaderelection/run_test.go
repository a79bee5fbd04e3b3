package leaderelection

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kennel-dev/kennel/internal/controller/clock"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// waitFor waits for cond with a deadline, failing the test after it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testcluster.Eventually(t, 10*time.Second, what, cond)
}

// events records callbacks in order.
type events struct {
	mu  sync.Mutex
	log []string
}

func (ev *events) add(s string) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	ev.log = append(ev.log, s)
}

func (ev *events) list() []string {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return slices.Clone(ev.log)
}

// running is an Elector.Run in a goroutine.
type running struct {
	e      *Elector
	net    *netClient
	cancel context.CancelFunc
	done   chan error
}

// startRun runs a candidate whose callbacks record into ev; OnStartedLeading
// also records the lease holder it sees once its context ends.
func startRun(t *testing.T, clk *clock.Fake, leases *memLeases, id string, release bool, ev *events) *running {
	t.Helper()
	net := &netClient{leases: leases}
	cb := Callbacks{
		OnStartedLeading: func(ctx context.Context) {
			ev.add(id + " started")
			<-ctx.Done()
			holder, _, _ := leases.state(leaseName)
			ev.add(id + " ctx done, holder " + holder)
		},
		OnStoppedLeading: func() { ev.add(id + " stopped") },
		OnNewLeader:      func(l string) { ev.add(id + " sees " + l) },
	}
	e, err := New(Config{Lock: net, Name: leaseName, Identity: id, ReleaseOnCancel: release, Clock: clk,
		Logger: slog.New(slog.DiscardHandler)}, cb)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	r := &running{e: e, net: net, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- e.Run(ctx) }()
	t.Cleanup(cancel)
	return r
}

// tick waits until n loops sleep on the fake clock, then advances it by d.
func tick(t *testing.T, clk *clock.Fake, n int, d time.Duration) {
	t.Helper()
	waitFor(t, "candidates to sleep", func() bool { return clk.Waiters() == n })
	clk.Advance(d)
}

func TestRunReleaseOnCancel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		release  bool
		takeover time.Duration // after a's exit
	}{
		{release: true, takeover: DefaultRetryPeriod},
		{release: false, takeover: 8 * DefaultRetryPeriod}, // first retry ≥ LeaseDuration
	}
	for _, tc := range tests {
		name := "keep"
		if tc.release {
			name = "release"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clk := clock.NewFake(epoch)
			leases := newMemLeases(clk)
			var ev events
			a := startRun(t, clk, leases, "a", tc.release, &ev)
			waitFor(t, "a to start leading", func() bool { return len(ev.list()) == 2 })
			b := startRun(t, clk, leases, "b", tc.release, &ev)
			waitFor(t, "b to see a", func() bool { return b.e.Leader() == "a" })

			a.cancel()
			if err := <-a.done; err != nil {
				t.Fatalf("a's Run: %v", err)
			}
			if holder, _, _ := leases.state(leaseName); a.e.IsLeader() || (holder == "") != tc.release {
				t.Fatalf("after a stopped: a leads %v, lease holder %q", a.e.IsLeader(), holder)
			}
			exited := clk.Now()
			for !b.e.IsLeader() {
				if clk.Now().Sub(exited) > time.Minute {
					t.Fatal("b never took over")
				}
				tick(t, clk, 1, DefaultRetryPeriod)
				waitFor(t, "b's attempt", func() bool { return clk.Waiters() == 1 })
			}
			if got := clk.Now().Sub(exited); got != tc.takeover {
				t.Errorf("b took over %s after a stopped, want %s", got, tc.takeover)
			}
			want := []string{"a sees a", "a started", "b sees a", "a ctx done, holder a", "a stopped", "b sees b", "b started"}
			waitFor(t, "b to start leading", func() bool { return len(ev.list()) == len(want) })
			if got := ev.list(); !slices.Equal(got, want) {
				t.Errorf("callbacks:\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestRunStopsLeadingWhenRenewalFails(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(epoch)
	leases := newMemLeases(clk)
	var ev events
	a := startRun(t, clk, leases, "a", true, &ev)
	waitFor(t, "a to lead", a.e.IsLeader)
	tick(t, clk, 1, DefaultRetryPeriod) // one good renewal
	waitFor(t, "a to sleep", func() bool { return clk.Waiters() == 1 })
	_, renewed, _ := leases.state(leaseName)
	a.net.down.Store(true)

	var err error
	for stopped := false; !stopped; {
		tick(t, clk, 1, time.Second)
		waitFor(t, "a's attempt", func() bool {
			select {
			case err = <-a.done:
				stopped = true
				return true
			default:
				return clk.Waiters() == 1
			}
		})
	}
	if !errors.Is(err, ErrLeaseLost) || !strings.Contains(err.Error(), "not renewed within 10s") {
		t.Fatalf("Run = %v, want ErrLeaseLost after the renew deadline", err)
	}
	if got := clk.Now().Sub(renewed); got != DefaultRenewDeadline {
		t.Errorf("stopped leading %s after the last renewal, want %s", got, DefaultRenewDeadline)
	}
	want := []string{"a sees a", "a started", "a ctx done, holder a", "a stopped"}
	if got := ev.list(); !slices.Equal(got, want) {
		t.Errorf("callbacks:\n got %q\nwant %q", got, want)
	}
	if a.e.IsLeader() {
		t.Error("IsLeader after losing the lease")
	}
}

func TestRunTwice(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(epoch)
	e, err := New(Config{Lock: newMemLeases(clk), Name: leaseName, Identity: "a", Clock: clk},
		Callbacks{OnStartedLeading: func(context.Context) {}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := e.Run(ctx); err != nil {
		t.Fatalf("Run with a cancelled context: %v", err)
	}
	if err := e.Run(ctx); err == nil {
		t.Fatal("second Run succeeded")
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	valid := Config{Lock: newMemLeases(clock.Real{}), Name: "l", Identity: "a"}
	tests := []struct {
		name   string
		modify func(*Config)
		want   string // substring of the error; "" for valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"explicit timings", func(c *Config) {
			c.LeaseDuration, c.RenewDeadline, c.RetryPeriod = 3*time.Second, 2*time.Second, time.Second
		}, ""},
		{"no lock", func(c *Config) { c.Lock = nil }, "leaderelection: Lock is required"},
		{"no name", func(c *Config) { c.Name = "" }, "leaderelection: Name is required"},
		{"no identity", func(c *Config) { c.Identity = "" }, "leaderelection: Identity is required"},
		{"negative", func(c *Config) { c.RetryPeriod = -time.Second }, "leaderelection: RetryPeriod: must not be negative"},
		{"renew deadline not below lease duration", func(c *Config) { c.LeaseDuration = 10 * time.Second },
			"leaderelection: RenewDeadline: must be less than LeaseDuration (10s), got 10s"},
		{"retry period not below renew deadline", func(c *Config) { c.RetryPeriod = 12 * time.Second },
			"leaderelection: RetryPeriod: must be less than RenewDeadline (10s), got 12s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid
			tc.modify(&cfg)
			err := cfg.Validate()
			if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := New(valid, Callbacks{}); err == nil || !strings.Contains(err.Error(), "OnStartedLeading is required") {
		t.Fatalf("New without OnStartedLeading = %v", err)
	}
}

package prober

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/controller/clock"
)

// fakeExec is the process-launch seam: each call is counted and exits with
// the code the test last set.
type fakeExec struct {
	calls atomic.Int64
	code  atomic.Int64
}

func (f *fakeExec) target() Target {
	return Target{Exec: func(context.Context, []string) ([]byte, int, error) {
		defer f.calls.Add(1)
		return nil, int(f.code.Load()), nil
	}}
}

// harness runs a Worker on a fake clock and records its changes.
type harness struct {
	t       *testing.T
	clk     *clock.Fake
	exec    *fakeExec
	w       *Worker
	changes chan Result
}

func newHarness(t *testing.T, kind Kind, p *v1.Probe) *harness {
	t.Helper()
	h := &harness{t: t, clk: clock.NewFake(time.Unix(1_700_000_000, 0)), exec: &fakeExec{}, changes: make(chan Result, 100)}
	p.Exec = &v1.ExecAction{Command: []string{"check"}}
	h.w = NewWorker(kind, p, h.exec.target(), h.clk, func(r Result) { h.changes <- r })
	return h
}

// start starts the Worker and waits until it waits on its clock.
func (h *harness) start() {
	h.t.Helper()
	h.w.Start(context.Background())
	h.t.Cleanup(h.w.Stop)
	h.settle(0)
}

// settle waits until the Worker has run calls probes in total and is
// parked on its next timer, so the test can advance the clock.
func (h *harness) settle(calls int64) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	poll := time.NewTicker(time.Millisecond)
	defer poll.Stop()
	for h.exec.calls.Load() != calls || h.clk.Waiters() != 1 {
		if time.Now().After(deadline) {
			h.t.Fatalf("worker did not settle: %d probes (want %d), %d timers (want 1)", h.exec.calls.Load(), calls, h.clk.Waiters())
		}
		<-poll.C
	}
}

// advance moves the clock and waits for the probes that should follow.
func (h *harness) advance(d time.Duration, calls int64) {
	h.t.Helper()
	h.clk.Advance(d)
	h.settle(calls)
}

// expectChanges checks the changes reported since the last call.
func (h *harness) expectChanges(want ...Result) {
	h.t.Helper()
	var got []Result
	for len(h.changes) > 0 {
		got = append(got, <-h.changes)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		h.t.Errorf("changes = %v, want %v", got, want)
	}
}

func (h *harness) expectResult(want Result) {
	h.t.Helper()
	if got := h.w.Result(); got != want {
		h.t.Errorf("Result() = %v, want %v", got, want)
	}
}

func TestWorkerInitialResults(t *testing.T) {
	t.Parallel()
	for kind, want := range map[Kind]Result{Liveness: Success, Readiness: Failure, Startup: Failure} {
		w := NewWorker(kind, &v1.Probe{}, Target{}, clock.NewFake(time.Now()), nil)
		if got := w.Result(); got != want {
			t.Errorf("%v worker starts at %v, want %v", kind, got, want)
		}
	}
}

// TestWorkerThresholds walks a readiness probe with successThreshold 2 and
// failureThreshold 3 through every transition.
func TestWorkerThresholds(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Readiness, &v1.Probe{InitialDelaySeconds: 5, PeriodSeconds: 10, SuccessThreshold: 2, FailureThreshold: 3})
	h.start()
	h.advance(4*time.Second, 0) // still within the initial delay
	h.advance(time.Second, 1)   // first probe at 5s: one success of two
	h.expectResult(Failure)
	h.advance(9*time.Second, 1) // period not over yet
	h.advance(time.Second, 2)   // second success: ready
	h.expectResult(Success)
	h.expectChanges(Success)

	h.exec.code.Store(1)
	h.advance(10*time.Second, 3)
	h.advance(10*time.Second, 4)
	h.expectResult(Success) // two failures of three
	if msg := h.w.Message(); msg == "" {
		t.Error("Message() is empty after a failed probe")
	}
	h.advance(10*time.Second, 5)
	h.expectResult(Failure)
	h.expectChanges(Failure)

	// A success between failures resets the count, and vice versa.
	h.exec.code.Store(0)
	h.advance(10*time.Second, 6)
	h.exec.code.Store(1)
	h.advance(10*time.Second, 7)
	h.exec.code.Store(0)
	h.advance(10*time.Second, 8)
	h.expectResult(Failure)
	h.advance(10*time.Second, 9)
	h.expectResult(Success)
	h.expectChanges(Success)
	if msg := h.w.Message(); msg != "" {
		t.Errorf("Message() = %q after a success, want empty", msg)
	}
}

// TestWorkerLivenessDefaults checks the defaults: no initial delay, a 10 s
// period, failure after 3 failures.
func TestWorkerLivenessDefaults(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Liveness, &v1.Probe{})
	h.exec.code.Store(1)
	h.w.Start(context.Background())
	t.Cleanup(h.w.Stop)
	h.settle(1) // probed at once
	h.advance(9*time.Second, 1)
	h.advance(time.Second, 2)
	h.expectResult(Success)
	h.advance(10*time.Second, 3)
	h.expectResult(Failure)
	h.expectChanges(Failure)
}

func TestWorkerStop(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Readiness, &v1.Probe{PeriodSeconds: 1})
	h.w.Start(context.Background())
	h.settle(1)
	h.w.Stop()
	if n := h.clk.Waiters(); n != 0 {
		t.Errorf("%d timers pending after Stop, want 0", n)
	}
	h.clk.Advance(time.Hour)
	h.w.Stop() // idempotent
	h.w.Start(context.Background())
	if n := h.exec.calls.Load(); n != 1 {
		t.Errorf("%d probes after Stop, want 1 (the one before)", n)
	}

	// Cancelling the context stops a worker as well.
	h2 := newHarness(t, Readiness, &v1.Probe{PeriodSeconds: 1})
	ctx, cancel := context.WithCancel(context.Background())
	h2.w.Start(ctx)
	h2.settle(1)
	cancel()
	h2.w.Stop()
	if n := h2.clk.Waiters(); n != 0 {
		t.Errorf("%d timers pending after the context ended, want 0", n)
	}
}

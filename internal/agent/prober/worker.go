package prober

import (
	"cmp"
	"context"
	"sync"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/controller/clock"
)

// Kind is what a probe decides about its container.
type Kind int

// The kinds of probe.
const (
	// Liveness failures make the agent restart the container.
	Liveness Kind = iota
	// Readiness decides whether the pod receives traffic (is Ready).
	Readiness
	// Startup holds off liveness and readiness until the container has
	// started.
	Startup
)

// String returns "liveness", "readiness" or "startup".
func (k Kind) String() string {
	switch k {
	case Liveness:
		return "liveness"
	case Readiness:
		return "readiness"
	default:
		return "startup"
	}
}

// Worker probes one container periodically. It waits initialDelaySeconds,
// then probes every periodSeconds (default 10); the thresholded result turns
// Success after successThreshold (default 1) consecutive successes and
// Failure after failureThreshold (default 3) consecutive failures, as
// Kubernetes' prober does. A liveness Worker starts at Success, readiness
// and startup Workers at Failure.
//
// A Worker keeps probing after its result turns Failure; the agent stops
// it when it restarts the container and starts a new one for the new
// process.
type Worker struct {
	kind     Kind
	probe    *v1.Probe
	target   Target
	clk      clock.Clock
	onChange func(Result)

	mu      sync.Mutex
	result  Result // the thresholded result
	message string // why the latest probe failed
	last    Result // the latest raw result
	run     int    // how many raw results in a row equal last
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// NewWorker returns a Worker for probe p of kind against t; onChange, which
// may be nil, is called from the Worker's goroutine each time the
// thresholded result changes. p must not be modified afterwards.
func NewWorker(kind Kind, p *v1.Probe, t Target, clk clock.Clock, onChange func(Result)) *Worker {
	initial := Failure
	if kind == Liveness {
		initial = Success
	}
	if onChange == nil {
		onChange = func(Result) {}
	}
	return &Worker{kind: kind, probe: p, target: t, clk: clk, onChange: onChange, result: initial, done: make(chan struct{})}
}

// Start starts probing in a goroutine until ctx ends or Stop is called.
// Only the first call has an effect.
func (w *Worker) Start(ctx context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return
	}
	w.started = true
	ctx, w.cancel = context.WithCancel(ctx)
	go w.loop(ctx)
}

// Stop stops probing and waits for a probe in flight to be abandoned. It
// may be called more than once, and before Start.
func (w *Worker) Stop() {
	w.mu.Lock()
	w.started = true // a later Start must not run
	cancel := w.cancel
	w.mu.Unlock()
	if cancel != nil {
		cancel()
		<-w.done
	}
}

// Result is the thresholded result.
func (w *Worker) Result() Result {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.result
}

// Message says why the latest probe failed; it is empty after a success.
func (w *Worker) Message() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.message
}

func (w *Worker) loop(ctx context.Context) {
	defer close(w.done)
	if !w.wait(ctx, seconds(w.probe.InitialDelaySeconds, 0)) {
		return
	}
	period := seconds(w.probe.PeriodSeconds, defaultPeriod)
	for {
		res, msg := Run(ctx, w.probe, w.target)
		if ctx.Err() != nil {
			return
		}
		w.record(res, msg)
		if !w.wait(ctx, period) {
			return
		}
	}
}

// wait waits d on the Worker's clock; false means ctx ended first.
func (w *Worker) wait(ctx context.Context, d time.Duration) bool {
	t := w.clk.NewTimer(d)
	select {
	case <-t.C():
		return true
	case <-ctx.Done():
		t.Stop()
		return false
	}
}

// record counts a raw result and applies the thresholds.
func (w *Worker) record(res Result, msg string) {
	w.mu.Lock()
	w.message = msg
	if res == w.last {
		w.run++
	} else {
		w.last, w.run = res, 1
	}
	threshold := defaultSuccessThreshold
	if res == Failure {
		threshold = int(cmp.Or(w.probe.FailureThreshold, defaultFailureThreshold))
	} else if res == Success {
		threshold = int(cmp.Or(w.probe.SuccessThreshold, defaultSuccessThreshold))
	}
	changed := res != Unknown && w.run >= threshold && res != w.result
	if changed {
		w.result = res
	}
	w.mu.Unlock()
	if changed {
		w.onChange(res)
	}
}

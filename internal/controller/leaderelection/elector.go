package leaderelection

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// ErrLeaseLost is returned by Run when leadership ended because the Lease
// could not be renewed within RenewDeadline or another candidate holds it.
var ErrLeaseLost = errors.New("leaderelection: lost lease")

// Elector is one candidate in an election. Run it once.
type Elector struct {
	cfg Config
	cb  Callbacks
	log *slog.Logger
	ran atomic.Bool

	// Owned by the Run goroutine.
	observed     *v1.Lease // the Lease as last read or written
	observedTime time.Time // local time observed last changed
	lastRenew    time.Time // local time before our last successful write
	reported     string    // last identity given to OnNewLeader

	mu      sync.Mutex // guards leading and leader, read by IsLeader and Leader
	leading bool
	leader  string
}

// New validates cfg and returns a candidate.
func New(cfg Config, cb Callbacks) (*Elector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cb.OnStartedLeading == nil {
		return nil, errors.New("leaderelection: Callbacks.OnStartedLeading is required")
	}
	cfg = cfg.withDefaults()
	return &Elector{
		cfg: cfg,
		cb:  cb,
		log: cfg.Logger.With("lease", cfg.Name, "identity", cfg.Identity),
	}, nil
}

// Run is New followed by Elector.Run.
func Run(ctx context.Context, cfg Config, cb Callbacks) error {
	e, err := New(cfg, cb)
	if err != nil {
		return err
	}
	return e.Run(ctx)
}

// IsLeader reports whether this candidate holds the Lease and is leading.
func (e *Elector) IsLeader() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leading
}

// Leader is the holder of the Lease as last observed, or "" if none.
func (e *Elector) Leader() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leader
}

// Run campaigns until this candidate leads, leads until ctx ends or the
// Lease is lost, and returns. It returns nil when ctx ended (and, with
// ReleaseOnCancel, the Lease was released), an error wrapping ErrLeaseLost
// when leadership was lost, or the error of a failed release. Like
// client-go's, Run does not campaign again after losing: the caller decides
// whether to restart or exit.
func (e *Elector) Run(ctx context.Context) error {
	if !e.ran.CompareAndSwap(false, true) {
		return errors.New("leaderelection: Run called twice")
	}
	var lead *leadership
	for {
		tr, err := e.step(ctx)
		switch tr {
		case started:
			lead = e.startLeading(ctx)
		case lost:
			lead.stop()
			e.stoppedLeading()
			return err
		}
		if !e.sleep(ctx, e.nextWait()) {
			break
		}
	}
	if lead == nil {
		return nil
	}
	lead.stop()
	var err error
	if e.cfg.ReleaseOnCancel {
		err = e.release(ctx)
	}
	e.setLeading(false)
	e.stoppedLeading()
	return err
}

// leadership is a running OnStartedLeading.
type leadership struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (e *Elector) startLeading(ctx context.Context) *leadership {
	lctx, cancel := context.WithCancel(ctx)
	l := &leadership{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		e.cb.OnStartedLeading(lctx)
	}()
	return l
}

// stop cancels the leader's context and waits for OnStartedLeading to
// return, so that nothing this candidate started outlives its leadership.
func (l *leadership) stop() {
	if l == nil {
		return
	}
	l.cancel()
	<-l.done
}

func (e *Elector) stoppedLeading() {
	e.log.Info("stopped leading")
	if e.cb.OnStoppedLeading != nil {
		e.cb.OnStoppedLeading()
	}
}

// transition is what a step did to leadership.
type transition int

const (
	unchanged transition = iota
	started
	lost
)

// step makes one attempt to acquire or renew the Lease.
func (e *Elector) step(ctx context.Context) (transition, error) {
	if !e.IsLeader() {
		if e.tryAcquireOrRenew(ctx) != held {
			return unchanged, nil
		}
		e.setLeading(true)
		e.log.Info("started leading")
		return started, nil
	}
	if e.sinceRenew() >= e.cfg.RenewDeadline {
		return e.lose(fmt.Errorf("%w %q: not renewed within %s", ErrLeaseLost, e.cfg.Name, e.cfg.RenewDeadline))
	}
	switch e.tryAcquireOrRenew(ctx) {
	case held:
		return unchanged, nil
	case heldByOther:
		return e.lose(fmt.Errorf("%w %q: now held by %q", ErrLeaseLost, e.cfg.Name, e.Leader()))
	}
	if e.sinceRenew() >= e.cfg.RenewDeadline {
		return e.lose(fmt.Errorf("%w %q: not renewed within %s", ErrLeaseLost, e.cfg.Name, e.cfg.RenewDeadline))
	}
	return unchanged, nil
}

func (e *Elector) lose(err error) (transition, error) {
	e.setLeading(false)
	return lost, err
}

// nextWait is the time until the next attempt: RetryPeriod, shortened for a
// leader so that it notices the renew deadline passing exactly when it does.
func (e *Elector) nextWait() time.Duration {
	if !e.IsLeader() {
		return e.cfg.RetryPeriod
	}
	left := e.cfg.RenewDeadline - e.sinceRenew()
	return max(0, min(e.cfg.RetryPeriod, left))
}

func (e *Elector) sinceRenew() time.Duration {
	return e.cfg.Clock.Now().Sub(e.lastRenew)
}

// sleep waits d on the configured clock; false if ctx ended first.
func (e *Elector) sleep(ctx context.Context, d time.Duration) bool {
	t := e.cfg.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

func (e *Elector) setLeading(v bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.leading = v
}

// setLeader records the observed holder and reports a new one.
func (e *Elector) setLeader(id string) {
	e.mu.Lock()
	e.leader = id
	e.mu.Unlock()
	if id == "" || id == e.reported {
		return
	}
	e.reported = id
	e.log.Info("new leader observed", "leader", id)
	if e.cb.OnNewLeader != nil {
		e.cb.OnNewLeader(id)
	}
}

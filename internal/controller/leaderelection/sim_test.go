package leaderelection

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/kennel-dev/kennel/internal/controller/clock"
)

var epoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

const leaseName = "kennel-controller-manager"

// sim runs candidates' election loops as a discrete-event simulation on a
// fake clock: each candidate steps when its next attempt is due, exactly as
// Run would, and the safety invariant is checked after every step.
type sim struct {
	t      *testing.T
	ctx    context.Context
	clk    *clock.Fake
	leases *memLeases
	cands  []*candidate
	rng    *rand.Rand
	jitter time.Duration // a step may run up to this late
	trace  []string
}

type candidate struct {
	id      string
	e       *Elector
	net     *netClient
	due     time.Time
	crashed bool
	started []time.Time // when it started leading
	lost    []time.Time // when it stopped leading
}

func newSim(t *testing.T, seed uint64, ids ...string) *sim {
	t.Helper()
	clk := clock.NewFake(epoch)
	s := &sim{t: t, ctx: t.Context(), clk: clk, leases: newMemLeases(clk), rng: rand.New(rand.NewPCG(seed, seed))}
	for i, id := range ids {
		c := &candidate{id: id, net: &netClient{leases: s.leases}, due: epoch.Add(time.Duration(i) * time.Millisecond)}
		c.e = s.newElector(c)
		s.cands = append(s.cands, c)
	}
	return s
}

func (s *sim) newElector(c *candidate) *Elector {
	s.t.Helper()
	e, err := New(Config{Lock: c.net, Name: leaseName, Identity: c.id, Clock: s.clk, Logger: slog.New(slog.DiscardHandler)},
		Callbacks{OnStartedLeading: func(context.Context) {}})
	if err != nil {
		s.t.Fatal(err)
	}
	return e
}

func (s *sim) cand(id string) *candidate {
	for _, c := range s.cands {
		if c.id == id {
			return c
		}
	}
	s.t.Fatalf("no candidate %q", id)
	return nil
}

// crash stops c's loop for good; restart replaces it with a fresh process.
func (s *sim) crash(c *candidate) {
	c.crashed = true
	s.tracef("%s crashes", c.id)
}

func (s *sim) restart(c *candidate) {
	c.crashed = false
	c.e = s.newElector(c)
	c.due = s.clk.Now()
	s.tracef("%s restarts", c.id)
}

// next is the live candidate whose attempt is due first.
func (s *sim) next() *candidate {
	var n *candidate
	for _, c := range s.cands {
		if !c.crashed && (n == nil || c.due.Before(n.due)) {
			n = c
		}
	}
	return n
}

// step advances the clock to the next due attempt and makes it.
func (s *sim) step() {
	s.t.Helper()
	c := s.next()
	if c == nil {
		s.t.Fatal("no live candidate")
	}
	if d := c.due.Sub(s.clk.Now()); d > 0 {
		s.clk.Advance(d)
	}
	s.stepNow(c)
}

// stepNow makes c's attempt at once, due or not, and schedules its next.
func (s *sim) stepNow(c *candidate) {
	s.t.Helper()
	prevHolder, prevWrite, _ := s.leases.state(leaseName)
	tr, err := c.e.step(s.ctx)
	now := s.clk.Now()
	switch tr {
	case started:
		c.started = append(c.started, now)
		s.tracef("%s starts leading", c.id)
		if prevHolder != "" && prevHolder != c.id && now.Sub(prevWrite) < c.e.cfg.LeaseDuration {
			s.fail("%s took the lease from %s %s after its last change, before LeaseDuration", c.id, prevHolder, now.Sub(prevWrite))
		}
	case lost:
		c.lost = append(c.lost, now)
		s.tracef("%s stops leading: %v", c.id, err)
		if !errors.Is(err, ErrLeaseLost) {
			s.fail("lost leadership with %v, want ErrLeaseLost", err)
		}
	}
	c.due = now.Add(c.e.nextWait())
	if s.jitter > 0 {
		c.due = c.due.Add(time.Duration(s.rng.Int64N(int64(s.jitter))))
	}
	s.check()
}

// check is the safety invariant: at most one live candidate leads, and a
// leader is the holder recorded in the Lease.
func (s *sim) check() {
	s.t.Helper()
	var leaders []string
	for _, c := range s.cands {
		if !c.crashed && c.e.IsLeader() {
			leaders = append(leaders, c.id)
		}
	}
	if len(leaders) > 1 {
		s.fail("several leaders at once: %v", leaders)
	}
	if holder, _, _ := s.leases.state(leaseName); len(leaders) == 1 && holder != leaders[0] {
		s.fail("%s leads but the lease names %q", leaders[0], holder)
	}
}

// leaders is the live candidates that lead.
func (s *sim) leaders() []string {
	var out []string
	for _, c := range s.cands {
		if !c.crashed && c.e.IsLeader() {
			out = append(out, c.id)
		}
	}
	return out
}

// runFor steps until d of simulated time has passed.
func (s *sim) runFor(d time.Duration) {
	s.t.Helper()
	end := s.clk.Now().Add(d)
	for n := s.next(); n != nil && !n.due.After(end); n = s.next() {
		s.step()
	}
	if now := s.clk.Now(); now.Before(end) {
		s.clk.Advance(end.Sub(now))
	}
}

// runUntil steps until cond holds, at most d of simulated time.
func (s *sim) runUntil(d time.Duration, what string, cond func() bool) {
	s.t.Helper()
	end := s.clk.Now().Add(d)
	for !cond() {
		if s.clk.Now().After(end) {
			s.fail("%s did not happen within %s", what, d)
		}
		s.step()
	}
}

func (s *sim) tracef(format string, args ...any) {
	s.trace = append(s.trace, fmt.Sprintf("%8s  ", s.clk.Now().Sub(epoch))+fmt.Sprintf(format, args...))
}

func (s *sim) fail(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("at %s: %s\ntrace:\n%s", s.clk.Now().Sub(epoch), fmt.Sprintf(format, args...), strings.Join(s.trace, "\n"))
}

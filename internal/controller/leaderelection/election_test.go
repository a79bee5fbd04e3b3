package leaderelection

import (
	"fmt"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

func TestTwoCandidatesExactlyOneLeads(t *testing.T) {
	t.Parallel()
	for seed := range uint64(5) {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			t.Parallel()
			s := newSim(t, seed, "a", "b")
			s.jitter = 500 * time.Millisecond
			s.runUntil(time.Minute, "a leader", func() bool { return len(s.leaders()) == 1 })
			first := s.leaders()[0]
			end := s.clk.Now().Add(10 * time.Minute)
			for s.clk.Now().Before(end) {
				s.step()
				if l := s.leaders(); len(l) != 1 || l[0] != first {
					s.fail("leaders = %v, want just %s", l, first)
				}
			}
			other := s.cand(map[string]string{"a": "b", "b": "a"}[first])
			if other.e.Leader() != first {
				s.fail("%s observes leader %q, want %q", other.id, other.e.Leader(), first)
			}
		})
	}
}

// TestElectionUnderFaults runs candidates through random partitions,
// crashes, restarts and foreign writes to the Lease, checking the invariant
// after every step, then heals everything and expects one leader.
func TestElectionUnderFaults(t *testing.T) {
	t.Parallel()
	for seed := range uint64(12) {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			t.Parallel()
			s := newSim(t, seed, "a", "b", "c")
			s.jitter = time.Second
			end := s.clk.Now().Add(20 * time.Minute)
			for s.clk.Now().Before(end) {
				s.injectFault()
				s.step()
			}
			for _, c := range s.cands {
				c.net.down.Store(false)
				if c.crashed {
					s.restart(c)
				}
			}
			s.runUntil(time.Minute, "a leader after healing", func() bool { return len(s.leaders()) == 1 })
			transitions := 0
			for _, c := range s.cands {
				transitions += len(c.started)
			}
			t.Logf("%d leadership changes, %d conflicts", transitions, s.leases.conflictCount())
		})
	}
}

func (s *sim) injectFault() {
	if s.rng.IntN(20) != 0 {
		return
	}
	c := s.cands[s.rng.IntN(len(s.cands))]
	switch s.rng.IntN(4) {
	case 0:
		down := !c.net.down.Load()
		c.net.down.Store(down)
		s.tracef("%s partitioned: %v", c.id, down)
	case 1:
		if c.crashed {
			s.restart(c)
		} else if s.live() > 1 {
			s.crash(c)
		}
	case 2:
		if _, _, ok := s.leases.state(leaseName); ok {
			s.leases.touch(leaseName)
			s.tracef("lease touched by a third party")
		}
	case 3:
		if c.crashed {
			s.restart(c)
		}
	}
}

func (s *sim) live() int {
	n := 0
	for _, c := range s.cands {
		if !c.crashed {
			n++
		}
	}
	return n
}

// TestTakeoverOnlyAfterLeaseDuration stops the leader from renewing and
// checks that the other candidate takes over no sooner than LeaseDuration
// after it last saw the Lease change, and no later than one retry after.
func TestTakeoverOnlyAfterLeaseDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		stop func(s *sim, c *candidate)
	}{
		{"leader partitioned", func(s *sim, c *candidate) { c.net.down.Store(true) }},
		{"leader crashed", func(s *sim, c *candidate) { s.crash(c) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSim(t, 1, "a", "b")
			s.runFor(time.Minute)
			a, b := s.cand("a"), s.cand("b")
			if !a.e.IsLeader() || b.e.IsLeader() {
				s.fail("want a leading, got leaders %v", s.leaders())
			}
			tc.stop(s, a)
			_, lastRenew, _ := s.leases.state(leaseName)
			s.runUntil(time.Minute, "b leading", b.e.IsLeader)

			took := b.started[0].Sub(lastRenew)
			cfg := b.e.cfg
			if took < cfg.LeaseDuration || took >= cfg.LeaseDuration+cfg.RetryPeriod {
				s.fail("b took over %s after a's last renewal, want [%s, %s)", took, cfg.LeaseDuration, cfg.LeaseDuration+cfg.RetryPeriod)
			}
			if !a.crashed {
				if len(a.lost) != 1 || a.lost[0].Sub(lastRenew) > cfg.RenewDeadline {
					s.fail("a stopped leading at %v, want within RenewDeadline of %s", a.lost, lastRenew.Sub(epoch))
				}
			}
		})
	}
}

// TestConflicts slips another candidate's write between a candidate's read
// and its write, through the lease store's hook.
func TestConflicts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(s *sim, a, b *candidate)
		want string // the leader at the end
	}{
		{"foreign write while leading", func(s *sim, a, b *candidate) {
			s.runFor(10 * time.Second)
			if !a.e.IsLeader() {
				s.fail("a does not lead")
			}
			s.leases.touch(leaseName) // a's renewal from its last write conflicts
			s.stepNow(a)
			if !a.e.IsLeader() || s.leases.conflictCount() != 1 {
				s.fail("after a conflict: a leads %v, %d conflicts; want true, 1", a.e.IsLeader(), s.leases.conflictCount())
			}
		}, "a"},
		{"race to create", func(s *sim, a, b *candidate) {
			s.leases.hook = func(string, *v1.Lease) { s.stepNow(b) }
			s.stepNow(a) // b creates the lease inside a's Create
			if a.e.IsLeader() || !b.e.IsLeader() {
				s.fail("leaders = %v after a lost the race to create, want [b]", s.leaders())
			}
		}, "b"},
		{"race to take over an expired lease", func(s *sim, a, b *candidate) {
			s.holdLease("old")
			s.stepNow(a)
			s.stepNow(b)
			s.clk.Advance(DefaultLeaseDuration)
			s.leases.hook = func(string, *v1.Lease) { s.stepNow(b) }
			s.stepNow(a) // b takes over inside a's Update
			if a.e.IsLeader() || !b.e.IsLeader() || s.leases.conflictCount() != 1 {
				s.fail("leaders = %v, %d conflicts; want [b], 1", s.leaders(), s.leases.conflictCount())
			}
		}, "b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSim(t, 1, "a", "b")
			tc.run(s, s.cand("a"), s.cand("b"))
			s.runFor(time.Minute)
			if l := s.leaders(); len(l) != 1 || l[0] != tc.want {
				s.fail("leaders = %v, want [%s]", l, tc.want)
			}
		})
	}
}

// holdLease creates the lease held by id, a candidate outside the sim.
func (s *sim) holdLease(id string) {
	s.t.Helper()
	e := &Elector{cfg: Config{Identity: id, LeaseDuration: DefaultLeaseDuration}}
	l := &v1.Lease{ObjectMeta: v1.ObjectMeta{Name: leaseName}, Spec: e.spec(s.clk.Now(), s.clk.Now(), 0)}
	if _, err := s.leases.Create(s.ctx, l); err != nil {
		s.t.Fatal(err)
	}
}

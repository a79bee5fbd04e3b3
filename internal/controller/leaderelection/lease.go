package leaderelection

import (
	"context"
	"fmt"
	"math"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// outcome is the result of one attempt on the Lease.
type outcome int

const (
	failed      outcome = iota // the API call failed or lost a race; try again
	held                       // we hold the Lease: acquired or renewed
	heldByOther                // another candidate holds an unexpired Lease
)

// tryAcquireOrRenew makes one attempt to create, take over or renew the
// Lease. Errors are logged here, as they are expected and retried.
func (e *Elector) tryAcquireOrRenew(ctx context.Context) outcome {
	ctx, cancel := e.callContext(ctx)
	defer cancel()
	now := e.cfg.Clock.Now()
	if e.IsLeader() && e.observed != nil {
		// Renew from our last write without reading first; a conflict means
		// someone else wrote since, so fall back to reading.
		l, err := e.cfg.Lock.Update(ctx, e.claim(e.observed, now))
		if err == nil {
			e.recordWrite(l, now)
			return held
		}
		e.log.Debug("renewing from the last write failed; reading the lease", "error", err)
	}
	cur, err := e.cfg.Lock.Get(ctx, e.cfg.Name)
	if v1.IsNotFound(err) {
		return e.create(ctx, now)
	}
	if err != nil {
		e.log.Warn("reading the lease failed", "error", err)
		return failed
	}
	e.observe(cur)
	if h := holderOf(cur); h != "" && h != e.cfg.Identity && !e.expired(cur) {
		return heldByOther
	}
	l, err := e.cfg.Lock.Update(ctx, e.claim(cur, now))
	if err != nil {
		e.logWriteError("updating the lease failed", err)
		return failed
	}
	e.recordWrite(l, now)
	return held
}

func (e *Elector) create(ctx context.Context, now time.Time) outcome {
	l := &v1.Lease{
		TypeMeta:   v1.TypeMeta{APIVersion: "v1", Kind: "Lease"},
		ObjectMeta: v1.ObjectMeta{Name: e.cfg.Name},
		Spec:       e.spec(now, now, 0),
	}
	created, err := e.cfg.Lock.Create(ctx, l)
	if err != nil {
		e.logWriteError("creating the lease failed", err)
		return failed
	}
	e.recordWrite(created, now)
	return held
}

func (e *Elector) logWriteError(msg string, err error) {
	if v1.IsConflict(err) || v1.IsAlreadyExists(err) {
		e.log.Debug(msg+": another candidate wrote first", "error", err)
		return
	}
	e.log.Warn(msg, "error", err)
}

// callContext bounds one attempt's API calls: a leader's by the time left
// before its renew deadline, so a hung call cannot keep it leading past it.
// It bounds I/O, so it uses the context's own timer, not cfg.Clock.
func (e *Elector) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	d := e.cfg.RenewDeadline
	if e.IsLeader() {
		d = max(time.Millisecond, d-e.sinceRenew())
	}
	return context.WithTimeout(ctx, d)
}

// observe records cur as the latest Lease seen. Only a change (a new
// resourceVersion) restarts the expiry countdown, measured on our clock.
func (e *Elector) observe(cur *v1.Lease) {
	if e.observed == nil || e.observed.ResourceVersion != cur.ResourceVersion {
		e.observed = cur
		e.observedTime = e.cfg.Clock.Now()
	}
	e.setLeader(holderOf(cur))
}

// recordWrite records a successful write made with a request built at now.
func (e *Elector) recordWrite(l *v1.Lease, now time.Time) {
	e.lastRenew = now
	e.observe(l)
}

// expired reports whether the Lease has gone unchanged for its duration: the
// longer of ours and the one the holder advertises.
func (e *Elector) expired(cur *v1.Lease) bool {
	d := e.cfg.LeaseDuration
	if s := cur.Spec.LeaseDurationSeconds; s != nil {
		d = max(d, time.Duration(*s)*time.Second)
	}
	return e.cfg.Clock.Now().Sub(e.observedTime) >= d
}

// claim is cur rewritten to name us as holder, renewed at now. It keeps
// cur's resourceVersion, so the write fails if cur is stale.
func (e *Elector) claim(cur *v1.Lease, now time.Time) *v1.Lease {
	var transitions int32
	if t := cur.Spec.LeaseTransitions; t != nil {
		transitions = *t
	}
	acquired := now
	if holderOf(cur) == e.cfg.Identity && cur.Spec.AcquireTime != nil {
		acquired = cur.Spec.AcquireTime.Time
	} else {
		transitions++
	}
	return &v1.Lease{TypeMeta: cur.TypeMeta, ObjectMeta: cur.ObjectMeta, Spec: e.spec(acquired, now, transitions)}
}

func (e *Elector) spec(acquired, renewed time.Time, transitions int32) v1.LeaseSpec {
	id := e.cfg.Identity
	secs := int32(math.Ceil(e.cfg.LeaseDuration.Seconds()))
	return v1.LeaseSpec{
		HolderIdentity:       &id,
		LeaseDurationSeconds: &secs,
		AcquireTime:          micro(acquired),
		RenewTime:            micro(renewed),
		LeaseTransitions:     &transitions,
	}
}

// release gives the Lease up: no holder, so any candidate takes it at once.
// It runs after ctx ended, so it uses a context of its own.
func (e *Elector) release(ctx context.Context) error {
	defer e.setLeading(false)
	if !e.IsLeader() || e.observed == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.cfg.RenewDeadline)
	defer cancel()
	now := e.cfg.Clock.Now()
	l, err := e.cfg.Lock.Update(ctx, released(e.observed, now))
	if v1.IsConflict(err) {
		// Someone else wrote the Lease since; release it if it is still ours.
		var cur *v1.Lease
		if cur, err = e.cfg.Lock.Get(ctx, e.cfg.Name); err == nil {
			if holderOf(cur) != e.cfg.Identity {
				e.observe(cur)
				return nil
			}
			l, err = e.cfg.Lock.Update(ctx, released(cur, now))
		}
	}
	if err != nil {
		return fmt.Errorf("leaderelection: release lease %q: %w", e.cfg.Name, err)
	}
	e.observe(l)
	e.log.Info("released lease")
	return nil
}

// released is cur with no holder. Like client-go, it also advertises a one
// second duration, for candidates that judge expiry by the holder's word.
func released(cur *v1.Lease, now time.Time) *v1.Lease {
	one := int32(1)
	spec := v1.LeaseSpec{
		LeaseDurationSeconds: &one,
		AcquireTime:          micro(now),
		RenewTime:            micro(now),
		LeaseTransitions:     cur.Spec.LeaseTransitions,
	}
	return &v1.Lease{TypeMeta: cur.TypeMeta, ObjectMeta: cur.ObjectMeta, Spec: spec}
}

func holderOf(l *v1.Lease) string {
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func micro(t time.Time) *v1.MicroTime {
	return &v1.MicroTime{Time: t.UTC().Truncate(time.Microsecond)}
}

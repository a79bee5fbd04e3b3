package member

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// renewedAt hands a successful renewal to publishLoop. A claim of the
// federation seen by a renewal not yet handled is kept.
func (f *fencing) renewedAt(r renewal) {
	f.mu.Lock()
	if r.claimed == f.processed {
		r.claimed = "" // handled already
	}
	if r.claimed != "" {
		f.dirty = true
	} else if f.last != nil {
		r.claimed = f.last.claimed
	}
	f.last = &r
	f.mu.Unlock()
	select {
	case f.renewals <- struct{}{}:
	default:
	}
}

// publishLoop publishes each renewal into the fence ConfigMap, once the
// member's Works are known to be applied, and then lifts the fences.
// Failures are logged; the next renewal tries again.
func (f *fencing) publishLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.renewals:
		}
		f.mu.Lock()
		r := f.last
		f.last = nil
		f.mu.Unlock()
		if r == nil {
			continue
		}
		if err := f.afterRenewal(ctx, *r); err != nil && ctx.Err() == nil {
			f.a.log.Warn("cannot renew the fence; will retry after the next renewal", "err", err)
		}
	}
}

// afterRenewal re-lists and applies the Works when the renewal may
// follow a change the agent missed, then writes the renewal into the
// fence ConfigMap and lifts the fences.
func (f *fencing) afterRenewal(ctx context.Context, r renewal) error {
	if r.claimed != "" && r.claimed != f.announced {
		f.announced = r.claimed
		f.claimed(ctx, r)
	}
	if why := f.resyncReason(r); why != "" {
		f.a.log.Info("re-applying the Works before renewing the fence", "reason", why)
		if err := f.w.resync(ctx); err != nil {
			return err
		}
		stray, err := f.strayPets(ctx)
		if err != nil {
			return err
		}
		if len(stray) > 0 {
			f.a.log.Info("waiting for the pets this member no longer runs to stop before renewing the fence", "pods", stray)
			f.mu.Lock()
			f.dirty = true // and look again at the next renewal
			f.mu.Unlock()
			return nil
		}
	}
	if r.claimed != "" {
		// The federation claims the Lease, then rewrites the Works of
		// this member stamped with the claim: until every fenceable Work
		// carries it, the federation may still move them, so nothing is
		// published and no fence lifted (the next renewal looks again).
		if missing := f.unstamped(r.claimed); len(missing) > 0 {
			f.a.log.Info("waiting for the federation to decide about the fenced Works", "claim", r.claimed, "works", missing)
			return nil
		}
		f.mu.Lock()
		f.processed = r.claimed
		f.mu.Unlock()
	}
	if err := f.writeRenewed(ctx, r.sent); err != nil {
		return err
	}
	f.mu.Lock()
	f.base, f.dirty = r.sent, false
	f.mu.Unlock()
	f.poke()
	return f.lift(ctx)
}

// resyncReason says why the Works must be re-listed and applied before
// r is published; "" when the cached Works may be trusted.
func (f *fencing) resyncReason(r renewal) string {
	f.mu.Lock()
	dirty, base := f.dirty, f.base
	f.mu.Unlock()
	switch {
	case r.claimed != "":
		return "the federation took this member's shares away"
	case dirty:
		return "agent start, or an earlier re-apply did not finish"
	case base.IsZero():
		return "no renewal published yet"
	}
	for _, wl := range f.workloads() {
		if isFenced(wl.obj) {
			return "a workload is fenced"
		}
		if gap := r.sent.Sub(base); gap > wl.period-f.stopMargin(wl.period) {
			return fmt.Sprintf("no renewal published for %s", gap)
		}
	}
	return ""
}

// unstamped are the fenceable workloads whose Work does not carry the
// claim yet.
func (f *fencing) unstamped(claim string) []string {
	var out []string
	for _, wl := range f.workloads() {
		key := wl.obj.GetObjectMeta().Annotations[v1.AnnotationFederationWork]
		work, ok, _ := f.w.current(key)
		if ok && work.Annotations[v1.AnnotationFenceClaim] != claim {
			out = append(out, key)
		}
	}
	return out
}

// claimed logs and records that the federation took the member's shares
// away while it was cut off.
func (f *fencing) claimed(ctx context.Context, r renewal) {
	f.a.log.Warn("the federation took this member's shares away while it was cut off; re-applying the Works before the pods may run again",
		"claimedAt", r.claimed)
	obj := f.fenceConfigMap()
	f.a.events.Recordf(ctx, obj, "ConfigMap", "v1", v1.EventTypeWarning, ReasonFencedByFederation,
		"the federation took this member's shares away at %s while it was cut off; its Works are re-applied before its fenced pods may run again",
		r.claimed)
}

func (f *fencing) fenceConfigMap() *v1.ConfigMap {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cm != nil {
		return v1.Clone(f.cm)
	}
	return &v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Name: FenceConfigMap, Namespace: v1.NamespaceSystem}}
}

// load reads the last published renewal at start: deadlines count from
// it until the agent publishes one.
func (f *fencing) load(ctx context.Context) error {
	cm, err := client.For[*v1.ConfigMap](f.a.mem, v1.NamespaceSystem).Get(ctx, FenceConfigMap)
	if v1.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("member: read ConfigMap %s/%s: %w", v1.NamespaceSystem, FenceConfigMap, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cm = cm
	if t, err := time.Parse(time.RFC3339Nano, cm.Data[FenceRenewed]); err == nil {
		f.base = t
	}
	f.processed = cm.Data[FenceClaim]
	return nil
}

// writeRenewed writes t into the fence ConfigMap.
func (f *fencing) writeRenewed(ctx context.Context, t time.Time) error {
	cms := client.For[*v1.ConfigMap](f.a.mem, v1.NamespaceSystem)
	value := t.UTC().Format(time.RFC3339Nano)
	f.mu.Lock()
	cur := f.cm
	f.mu.Unlock()
	var out *v1.ConfigMap
	var err error
	if cur == nil {
		cur, err = cms.Get(ctx, FenceConfigMap)
	}
	switch {
	case v1.IsNotFound(err):
		out, err = cms.Create(ctx, &v1.ConfigMap{
			ObjectMeta: v1.ObjectMeta{Name: FenceConfigMap, Namespace: v1.NamespaceSystem,
				Labels: map[string]string{v1.LabelFederation: f.a.federation}},
			Data: map[string]string{FenceRenewed: value, FenceClaim: f.processedClaim()},
		})
	case err == nil:
		next := v1.Clone(cur)
		next.Data = maps.Clone(next.Data)
		if next.Data == nil {
			next.Data = map[string]string{}
		}
		next.Data[FenceRenewed] = value
		next.Data[FenceClaim] = f.processedClaim()
		out, err = cms.Update(ctx, next)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		// A conflict or a deleted ConfigMap: read it again next time.
		f.cm = nil
		return fmt.Errorf("member: write ConfigMap %s/%s: %w", v1.NamespaceSystem, FenceConfigMap, err)
	}
	f.cm = out
	return nil
}

// lift ends the fence of every fenced workload whose Work still exists
// and whose stop point the renewal just published moved into the
// future: the annotation goes, and its Work is applied as it is (a
// fenced workload whose Work is gone stays at 0 until it is deleted).
func (f *fencing) lift(ctx context.Context) error {
	var errs []error
	base, now := f.baseTime(), f.a.clock.Now()
	for _, wl := range f.workloads() {
		if !isFenced(wl.obj) || !now.Before(base.Add(wl.period-f.stopMargin(wl.period))) {
			// Not fenced, or the renewal published is already too old
			// for it: it would be fenced again at once.
			continue
		}
		key := wl.obj.GetObjectMeta().Annotations[v1.AnnotationFederationWork]
		if _, ok, _ := f.w.current(key); !ok {
			continue
		}
		if err := f.unhold(ctx, wl, key); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// unhold removes the fenced-at annotation and has the Work applied.
func (f *fencing) unhold(ctx context.Context, wl workload, key string) error {
	kind, _ := f.a.reg.ByKind(wl.kind)
	res := client.ForKind(f.a.mem, kind, wl.obj.GetObjectMeta().Namespace)
	cur, err := res.Get(ctx, wl.obj.GetObjectMeta().Name)
	if err != nil {
		return ignoreNotFound(err)
	}
	if !isFenced(cur) {
		return nil
	}
	next := v1.Clone(cur)
	m := next.GetObjectMeta()
	fencedAt := m.Annotations[AnnotationFencedAt]
	m.Annotations = maps.Clone(m.Annotations)
	delete(m.Annotations, AnnotationFencedAt)
	if _, err := res.Update(ctx, next); err != nil {
		return fmt.Errorf("member: lift the fence of %s %s: %w", wl.kind, v1.ObjectKey(cur), err)
	}
	f.a.log.Info("lifted a fence: the membership is renewed and the Works re-applied", "kind", wl.kind,
		"object", v1.ObjectKey(cur), "fencedAt", fencedAt)
	f.a.events.Recordf(ctx, next, kind.Kind, kind.APIVersion(), v1.EventTypeNormal, ReasonFenceLifted,
		"the member renewed its federation membership and re-applied its Works: the fence set at %s is lifted", fencedAt)
	f.w.ctrl.Enqueue(key)
	return nil
}

// FenceClaim in the fence ConfigMap is the last claim of the federation
// this member handled.
const FenceClaim = "claim"

func (f *fencing) processedClaim() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.processed
}

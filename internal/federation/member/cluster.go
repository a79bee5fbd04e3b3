package member

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/version"
)

// register creates the member's Cluster on the federation, or brings the
// labels and spec of an existing one up to date. It never touches the
// status, and keeps the taints, which the federation's operators set.
//
// It always tries to create first: with a fresh cluster-role token, the
// create is what binds the token to the Cluster's name, even when the
// Cluster already exists (made by `kennel federation join`).
func (a *agent) register(ctx context.Context) error {
	clusters := client.For[*v1.Cluster](a.fed, "")
	want := &v1.Cluster{
		ObjectMeta: v1.ObjectMeta{Name: a.cfg.Cluster, Labels: maps.Clone(a.cfg.Labels)},
		Spec: v1.ClusterSpec{APIEndpoint: a.cfg.APIEndpoint, Region: a.cfg.Region,
			Zones: slices.Clone(a.cfg.Zones)},
	}
	_, err := clusters.Create(ctx, want)
	if err == nil || !v1.IsAlreadyExists(err) {
		return wrapFed("create Cluster", a.cfg.Cluster, err)
	}
	cur, err := clusters.Get(ctx, a.cfg.Cluster)
	if err != nil {
		return wrapFed("read Cluster", a.cfg.Cluster, err)
	}
	want.Spec.Taints = cur.Spec.Taints
	if maps.Equal(cur.Labels, want.Labels) && reflect.DeepEqual(cur.Spec, want.Spec) {
		return nil
	}
	next := v1.Clone(cur)
	next.Labels, next.Spec = want.Labels, want.Spec
	_, err = clusters.Update(ctx, next)
	return wrapFed("update Cluster", a.cfg.Cluster, err)
}

// renewLoop renews the membership Lease every RenewInterval and hands
// each successful renewal to the fence.
//
// With fenceable workloads whose fencing period is short, it renews
// often enough (a quarter of the shortest period) that a member that is
// not cut off never reaches a fence's stop point.
func (a *agent) renewLoop(ctx context.Context) {
	var lease *v1.Lease
	a.everyAdaptive(ctx, a.renewInterval, "renew the membership Lease", func(ctx context.Context) error {
		// The renewal counts from before it is sent: never later than the
		// renewTime the federation reads.
		sent := a.clock.Now().UTC().Truncate(time.Microsecond)
		l, claimed, err := a.renew(ctx, lease, sent)
		lease = l
		if err != nil {
			return err
		}
		a.renewed(&v1.MicroTime{Time: sent})
		a.fence.renewedAt(renewal{sent: sent, claimed: claimed})
		return nil
	})
}

// renew writes the Lease's renewTime (now). last is the Lease as last
// written (nil: read it first); the result is the Lease as now stored,
// or nil when it must be read again. The renewal removes the
// federation's fenced-by-federation annotation, whose value it returns
// ("" when there was none).
func (a *agent) renew(ctx context.Context, last *v1.Lease, now time.Time) (*v1.Lease, string, error) {
	leases := client.For[*v1.Lease](a.fed, v1.NamespaceClusterLeases)
	at := &v1.MicroTime{Time: now}
	secs := int32(a.cfg.LeaseDuration / time.Second)
	if last == nil {
		cur, err := leases.Get(ctx, a.cfg.Cluster)
		if v1.IsNotFound(err) {
			holder := a.cfg.Cluster
			created, err := leases.Create(ctx, &v1.Lease{
				ObjectMeta: v1.ObjectMeta{Name: a.cfg.Cluster, Namespace: v1.NamespaceClusterLeases},
				Spec: v1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs,
					AcquireTime: at, RenewTime: at},
			})
			if err != nil {
				return nil, "", wrapFed("create Lease", a.cfg.Cluster, err)
			}
			return created, "", nil
		}
		if err != nil {
			return nil, "", wrapFed("read Lease", a.cfg.Cluster, err)
		}
		last = cur
	}
	next := v1.Clone(last)
	// A claim of the federation stays on the Lease: the federation stamps
	// the Works it has decided about with it (v1.AnnotationFenceClaim).
	claimed := next.Annotations[AnnotationFencedByFederation]
	holder := a.cfg.Cluster
	next.Spec.HolderIdentity, next.Spec.LeaseDurationSeconds, next.Spec.RenewTime = &holder, &secs, at
	if next.Spec.AcquireTime == nil {
		next.Spec.AcquireTime = at
	}
	// The update carries the resourceVersion read: a claim of the
	// federation made since makes it fail, and the next renewal reads
	// the claim.
	updated, err := leases.Update(ctx, next)
	if err != nil {
		// A conflict or a deleted Lease: read it again next time.
		return nil, "", wrapFed("renew Lease", a.cfg.Cluster, err)
	}
	return updated, claimed, nil
}

func (a *agent) renewed(t *v1.MicroTime) {
	a.renewMu.Lock()
	defer a.renewMu.Unlock()
	a.lastRenew = t
}

func (a *agent) lastRenewTime() *v1.MicroTime {
	a.renewMu.Lock()
	defer a.renewMu.Unlock()
	return a.lastRenew
}

// statusLoop reports the Cluster's status and keeps the membership
// ConfigMap every StatusInterval.
func (a *agent) statusLoop(ctx context.Context) {
	if err := a.ensureMembership(ctx); err != nil && ctx.Err() == nil {
		a.log.Warn("cannot write the membership ConfigMap; will retry", "err", err, "retryIn", a.cfg.StatusInterval)
	}
	inv := newInventory(a.mem, a.log)
	go inv.run(ctx)
	if !inv.waitForSync(ctx) {
		return
	}
	a.every(ctx, a.cfg.StatusInterval, "report the Cluster's status", func(ctx context.Context) error {
		mErr := a.ensureMembership(ctx)
		sErr := a.reportStatus(ctx, inv.capacity())
		if sErr != nil {
			return sErr
		}
		return mErr
	})
}

// reportStatus writes what the agent observes into the Cluster's status,
// keeping the conditions the federation sets.
func (a *agent) reportStatus(ctx context.Context, c capacity) error {
	clusters := client.For[*v1.Cluster](a.fed, "")
	cur, err := clusters.Get(ctx, a.cfg.Cluster)
	if err != nil {
		return wrapFed("read Cluster", a.cfg.Cluster, err)
	}
	next := v1.Clone(cur)
	st := &next.Status
	st.KennelVersion = version.Get()
	st.Nodes, st.ReadyNodes = c.Nodes, c.ReadyNodes
	st.Allocatable, st.Free = c.Allocatable, c.Free
	st.LastRenewTime = a.lastRenewTime()
	if reflect.DeepEqual(jsonOf(cur.Status), jsonOf(next.Status)) {
		return nil
	}
	_, err = clusters.UpdateStatus(ctx, next)
	return wrapFed("update the status of Cluster", a.cfg.Cluster, err)
}

// wrapFed names the federation call that failed; nil stays nil.
func wrapFed(what, name string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("member: %s %q on the federation: %w", what, name, err)
}

// renewInterval is RenewInterval, or a quarter of the shortest fencing
// period of the member's fenceable workloads (at least 100 ms) when less.
func (a *agent) renewInterval() time.Duration {
	d := a.cfg.RenewInterval
	for _, wl := range a.fence.workloads() {
		d = min(d, max(wl.period/4, 100*time.Millisecond))
	}
	return d
}

package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/federation/placement"
)

// Defaults of the failover settings of Config.
const (
	DefaultDriftMargin    = 5 * time.Second
	DefaultMaxFailedShare = 0.5
)

// Reasons of the FailoverBlocked condition.
const (
	ReasonTooManyFailed     = "TooManyClustersFailed"
	ReasonNoFailoverTarget  = "NoEligibleCluster"
	ReasonFailedOver        = "FailedOver"
	ReasonFailoverNotNeeded = "NoClusterFailed"
	ReasonFailoverDisabled  = "AutomaticFailoverDisabled"
)

// failoverState is what one propagation knows of failed clusters.
type failoverState struct {
	automatic bool
	// failed are the clusters past their deadline (fencing period, or
	// grace period for stateless workloads, plus the drift margin).
	failedPets, failedStateless map[string]bool
	// blocked says why nothing fails over ("" when it may).
	blocked, blockedMsg string
	// claims are the members whose Lease must be claimed before their
	// pets' ordinals are given to others.
	claims map[string]bool
	// moved and stuck describe what happened, for the condition.
	moved, stuck []string
	// next is when a cluster that is not failed yet would be.
	next time.Duration
}

// failover evaluates the clusters of an Automatic placement.
func (fc *Controller) failover(pl *v1.Placement, current []string) *failoverState {
	st := &failoverState{failedPets: map[string]bool{}, failedStateless: map[string]bool{}, claims: map[string]bool{}}
	f := pl.Spec.Failover
	if f == nil || f.Policy != v1.FailoverAutomatic {
		return st
	}
	st.automatic = true
	if !fc.cfg.AutomaticFailover {
		st.blocked = ReasonFailoverDisabled
		st.blockedMsg = "automatic failover is off in this federation (opt-in: kennel federation up --automatic-failover): the policy is treated as Never"
		return st
	}
	all := fc.clusters.List()
	now := fc.clock.Now()
	nFailed := 0
	for _, cl := range all {
		// Silent for the fencing period, margin or not: members that fail
		// together pass their deadlines moments apart, and the brake must
		// hold from the first.
		if now.After(fc.deadline(cl.Name, f.Fencing()).Add(-fc.cfg.DriftMargin)) {
			nFailed++
		}
	}
	if len(all) > 0 && float64(nFailed)/float64(len(all)) > fc.cfg.MaxFailedShare {
		st.blocked = ReasonTooManyFailed
		st.blockedMsg = fmt.Sprintf("%d of %d clusters failed at once (more than %.0f%%): no automatic failover until fewer have", nFailed, len(all), 100*fc.cfg.MaxFailedShare)
		return st
	}
	for _, name := range current {
		for period, set := range map[time.Duration]map[string]bool{f.Fencing(): st.failedPets, f.Grace(): st.failedStateless} {
			if fc.pastDeadline(name, period, now) {
				set[name] = true
			} else if d := fc.deadline(name, period).Sub(now); d > 0 && (st.next == 0 || d < st.next) {
				st.next = d
			}
		}
	}
	return st
}

// deadline is when a member that does not renew again is failed for a
// period: its last renewal (no earlier than this controller's start: a
// federation that was down itself does not fail members over for it)
// plus the period and the drift margin.
func (fc *Controller) deadline(name string, period time.Duration) time.Time {
	renewed, _ := fc.lastRenewal(name)
	if renewed.Before(fc.started) {
		renewed = fc.started
	}
	return renewed.Add(period + fc.cfg.DriftMargin)
}

func (fc *Controller) pastDeadline(name string, period time.Duration, now time.Time) bool {
	return now.After(fc.deadline(name, period))
}

// moveFailedRanges gives the ranges of failed clusters to others that can
// hold them contiguously: first a cluster with no range, then one whose
// range ends where the failed one starts, then one that starts where it
// ends. eligible are the clusters that may take pets, in preference order.
func moveFailedRanges(ranges []placement.Range, failed map[string]bool, eligible []string) (out []placement.Range, moved, stuck []placement.Range) {
	out = slices.Clone(ranges)
	isStuck := func(r placement.Range) bool { return slices.Contains(stuck, r) }
	for {
		i := slices.IndexFunc(out, func(r placement.Range) bool { return failed[r.Cluster] && r.Count > 0 && !isStuck(r) })
		if i < 0 {
			return out, moved, stuck
		}
		r := out[i]
		has := map[string]int{}
		for j, o := range out {
			if j != i && o.Count > 0 {
				has[o.Cluster] = j
			}
		}
		target := ""
		for _, pass := range []func(c string) bool{
			func(c string) bool { _, ok := has[c]; return !ok },
			func(c string) bool { j, ok := has[c]; return ok && out[j].Start+out[j].Count == r.Start },
			func(c string) bool { j, ok := has[c]; return ok && r.Start+r.Count == out[j].Start },
		} {
			for _, c := range eligible {
				if !failed[c] && pass(c) {
					target = c
					break
				}
			}
			if target != "" {
				break
			}
		}
		if target == "" {
			stuck = append(stuck, r) // its pets stay down there: no one may take them
			continue
		}
		out = slices.Delete(out, i, i+1)
		moved = append(moved, placement.Range{Cluster: target, Start: r.Start, Count: r.Count})
		if j, ok := has[target]; ok {
			if j > i {
				j--
			}
			out[j].Start = min(out[j].Start, r.Start)
			out[j].Count += r.Count
		} else {
			out = append(out, placement.Range{Cluster: target, Start: r.Start, Count: r.Count})
		}
		slices.SortFunc(out, func(a, b placement.Range) int { return int(a.Start - b.Start) })
	}
}

// claimLease marks a failed member's Lease, with a compare-and-swap on the
// version this controller saw expire, before its pets are given to
// others: a member that renewed meanwhile makes the claim fail, and keeps
// them.
//
// It returns the claim (a time), which every Work of that member is then
// stamped with (AnnotationFenceClaim), so the member knows once it is
// back that the federation has decided about it.
func (fc *Controller) claimLease(ctx context.Context, name string) (string, error) {
	leases := client.For[*v1.Lease](fc.c, v1.NamespaceClusterLeases)
	l, ok := fc.leases.Get(v1.NamespaceClusterLeases + "/" + name)
	if !ok {
		// Confirmed live: a cache behind the API server must not let
		// pets move without the claim that fences their old cluster.
		var err error
		switch l, err = leases.Get(ctx, name); {
		case v1.IsNotFound(err):
			return "", nil // never renewed: nothing of it can be running
		case err != nil:
			return "", fmt.Errorf("federation controller: read the lease of failed cluster %s: %w", name, err)
		}
	}
	renewed := ""
	if l.Spec.RenewTime != nil {
		renewed = l.Spec.RenewTime.UTC().Format(time.RFC3339Nano)
	}
	if c := l.Annotations[v1.AnnotationFencedByFederation]; c != "" && l.Annotations[annotationClaimedRenewal] == renewed {
		return c, nil // claimed already, and not renewed since
	}
	up := v1.Clone(l)
	if up.Annotations == nil {
		up.Annotations = map[string]string{}
	}
	claim := fc.clock.Now().UTC().Format(time.RFC3339Nano)
	up.Annotations[v1.AnnotationFencedByFederation] = claim
	up.Annotations[annotationClaimedRenewal] = renewed
	if _, err := leases.Update(ctx, up); err != nil {
		return "", fmt.Errorf("federation controller: claim the lease of failed cluster %s: %w", name, err)
	}
	fc.log.Info("failed cluster's lease claimed: its pets are given to others", "cluster", name, "claim", claim)
	return claim, nil
}

// claimOf is the claim on a member's Lease, "" if none.
func (fc *Controller) claimOf(name string) string {
	l, ok := fc.leases.Get(v1.NamespaceClusterLeases + "/" + name)
	if !ok {
		return ""
	}
	return l.Annotations[v1.AnnotationFencedByFederation]
}

// annotationClaimedRenewal on a claimed Lease is the renewal the claim
// was made on: a member that renewed since needs a new claim.
const annotationClaimedRenewal = "kennel.io/fenced-renewal"

// failOver moves the ordinals of failed clusters to eligible ones (Ready,
// not failed, chosen by the placement), recording what moved or is stuck
// and which leases must be claimed first.
func (fc *Controller) failOver(set string, ranges []placement.Range, names []string, start int32, fo *failoverState) []placement.Range {
	var eligible []string
	for _, n := range names {
		if cl, ok := fc.clusters.Get(n); ok && isReady(cl) && !fo.failedPets[n] {
			eligible = append(eligible, n)
		}
	}
	from := map[int32]string{}
	for _, r := range ranges {
		from[r.Start] = r.Cluster
	}
	out, moved, stuck := moveFailedRanges(ranges, fo.failedPets, eligible)
	for _, r := range moved {
		fo.claims[from[r.Start]] = true
		fo.moved = append(fo.moved, fmt.Sprintf("%s %s from %s to %s", set, formatRange(start+r.Start, r.Count), from[r.Start], r.Cluster))
	}
	for _, r := range stuck {
		fo.stuck = append(fo.stuck, fmt.Sprintf("%s %s of failed cluster %s: no Ready, eligible cluster can hold them next to its own", set, formatRange(start+r.Start, r.Count), r.Cluster))
	}
	return out
}

// markFenceable labels a PetSet's pod template so that members fence its
// pods (LabelFenced, AnnotationFencingPeriod).
func markFenceable(manifest json.RawMessage, period time.Duration) (json.RawMessage, error) {
	var m map[string]any
	if err := json.Unmarshal(manifest, &m); err != nil {
		return nil, err
	}
	spec, _ := m["spec"].(map[string]any)
	tmpl, _ := spec["template"].(map[string]any)
	if tmpl == nil {
		return manifest, nil
	}
	meta, _ := tmpl["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		tmpl["metadata"] = meta
	}
	for key, kv := range map[string][2]string{"labels": {v1.LabelFenced, "true"}, "annotations": {v1.AnnotationFencingPeriod, period.String()}} {
		l, _ := meta[key].(map[string]any)
		if l == nil {
			l = map[string]any{}
			meta[key] = l
		}
		l[kv[0]] = kv[1]
	}
	return json.Marshal(m)
}

// stampClaims claims the Leases of the members whose pets move, then
// stamps every Work of a claimed member with the claim.
func (fc *Controller) stampClaims(ctx context.Context, desired map[string]*v1.Work, fo *failoverState) error {
	if fo == nil || !fo.automatic {
		return nil
	}
	claims := map[string]string{}
	for name := range fo.claims {
		c, err := fc.claimLease(ctx, name)
		if err != nil {
			return err // nothing is moved: the member may have come back
		}
		claims[name] = c
	}
	for _, w := range desired {
		c, ok := claims[w.Spec.Cluster]
		if !ok {
			c = fc.claimOf(w.Spec.Cluster)
		}
		if c == "" {
			continue
		}
		if w.Annotations == nil {
			w.Annotations = map[string]string{}
		}
		w.Annotations[v1.AnnotationFenceClaim] = c
	}
	return nil
}

// setFailoverStatus sets the FailoverBlocked condition of an Automatic
// placement and records moves as Events.
func (fc *Controller) setFailoverStatus(ctx context.Context, pl *v1.Placement, st *v1.PlacementStatus, fo *failoverState) {
	if fo == nil || !fo.automatic {
		return
	}
	cond := v1.Condition{Type: v1.PlacementFailoverBlocked, Status: v1.ConditionFalse, Reason: ReasonFailoverNotNeeded,
		Message: "no cluster of this placement has failed", ObservedGeneration: pl.Generation}
	switch {
	case fo.blocked != "":
		cond.Status, cond.Reason, cond.Message = v1.ConditionTrue, fo.blocked, fo.blockedMsg
	case len(fo.stuck) > 0:
		cond.Status, cond.Reason, cond.Message = v1.ConditionTrue, ReasonNoFailoverTarget, strings.Join(fo.stuck, "; ")
	case len(fo.moved) > 0:
		cond.Reason, cond.Message = ReasonFailedOver, "moved "+strings.Join(fo.moved, "; ")
	case len(fo.failedPets) > 0 || len(fo.failedStateless) > 0:
		cond.Reason, cond.Message = ReasonFailedOver, "the failed clusters' shares are elsewhere"
	}
	old := findCondition(pl.Status.Conditions, v1.PlacementFailoverBlocked)
	if old == nil || old.Message != cond.Message {
		switch {
		case cond.Status == v1.ConditionTrue:
			fc.events.Record(ctx, pl, "Placement", "kennel.io/v1", v1.EventTypeWarning, cond.Reason, cond.Message)
		case len(fo.moved) > 0:
			fc.events.Record(ctx, pl, "Placement", "kennel.io/v1", v1.EventTypeNormal, ReasonFailedOver, cond.Message)
		}
	}
	setCondition(&st.Conditions, cond, fc.clock.Now())
}

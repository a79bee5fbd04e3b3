package controller

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/federation/placement"
)

// plan computes the Works a placement wants (by namespace/name) and its
// status. An error is a *planError when the placement cannot be carried
// out.
func (fc *Controller) plan(pl *v1.Placement, objs []selected) (map[string]*v1.Work, v1.PlacementStatus, *failoverState, error) {
	key := pl.Namespace + "/" + pl.Name
	status := v1.PlacementStatus{ObservedGeneration: pl.Generation}
	var current []string
	for _, w := range fc.works.ByIndex(byPlacement, key) {
		current = append(current, w.Spec.Cluster)
	}
	fo := fc.failover(pl, current)
	sel, err := placement.Select(&pl.Spec, fc.clusters.List(), current)
	if err != nil {
		return nil, status, fo, &planError{v1.PlacementScheduled, ReasonNoCluster, err.Error()}
	}
	status.Clusters = sel.Names()
	desired := map[string]*v1.Work{}
	var errs []string
	for _, s := range objs {
		pr, works, err := fc.planObject(pl, s, sel.Clusters, fo)
		if errors.Is(err, errStale) {
			return nil, status, fo, err
		}
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s %s: %v", s.kind.Kind, s.obj.GetObjectMeta().Name, err))
			continue
		}
		status.Resources = append(status.Resources, pr)
		for _, w := range works {
			desired[w.Namespace+"/"+w.Name] = w
		}
	}
	if len(errs) > 0 {
		return nil, status, fo, &planError{v1.PlacementPropagated, ReasonRenderFailed, strings.Join(errs, "; ")}
	}
	return desired, status, fo, nil
}

// planObject renders one object for each chosen cluster.
func (fc *Controller) planObject(pl *v1.Placement, s selected, clusters []*v1.Cluster, fo *failoverState) (v1.PlacedResource, []*v1.Work, error) {
	m := s.obj.GetObjectMeta()
	pr := v1.PlacedResource{APIVersion: s.kind.APIVersions[0], Kind: s.kind.Kind, Name: m.Name}
	base, err := baseManifest(s.kind, s.obj)
	if err != nil {
		return pr, nil, err
	}
	if fo.automatic && fc.cfg.AutomaticFailover && s.kind.Kind == "PetSet" {
		if base, err = markFenceable(base, pl.Spec.Failover.Fencing()); err != nil {
			return pr, nil, err
		}
	}
	shares, err := fc.shares(pl, s, base, clusters, fo)
	if err != nil {
		return pr, nil, err
	}
	overrides := fc.overridesFor(pl, s)
	var works []*v1.Work
	for _, cl := range clusters {
		// Overrides first: they must not change a cluster's share.
		manifest, err := placement.Render(base, overrides, cl)
		if err != nil {
			return pr, nil, err
		}
		sh := shares[cl.Name]
		if sh.replicas != nil {
			if manifest, err = placement.SetReplicas(manifest, *sh.replicas, sh.ordinalStart); err != nil {
				return pr, nil, err
			}
		}
		if len(sh.annotations) > 0 {
			if manifest, err = setAnnotations(manifest, sh.annotations); err != nil {
				return pr, nil, err
			}
		}
		w := &v1.Work{
			ObjectMeta: v1.ObjectMeta{Name: workName(m.Namespace, s.kind.Kind, m.Name), Namespace: v1.MemberNamespace(cl.Name),
				Labels: map[string]string{v1.LabelWorkCluster: cl.Name}},
			Spec: v1.WorkSpec{Cluster: cl.Name, Source: s.ref(), Placement: pl.Name, Manifest: manifest},
		}
		if sh.ordinals != nil {
			w.Annotations = map[string]string{AnnotationOrdinals: *sh.ordinals}
		}
		works = append(works, w)
		if sh.replicas != nil || sh.target != nil {
			share := v1.ClusterShare{Name: cl.Name, Replicas: sh.target}
			if sh.target == nil {
				share.Replicas = sh.replicas
			}
			if sh.rangeStart != nil {
				share.OrdinalStart = sh.rangeStart
			}
			pr.Clusters = append(pr.Clusters, share)
		} else {
			pr.Clusters = append(pr.Clusters, v1.ClusterShare{Name: cl.Name})
		}
	}
	slices.SortStableFunc(pr.Clusters, func(a, b v1.ClusterShare) int { return cmpStart(a.OrdinalStart, b.OrdinalStart) })
	return pr, works, nil
}

// overridesFor is the placement's overrides with those whose resource
// selectors do not select s blanked (an override with no cluster never
// applies), so that errors keep the override's index.
func (fc *Controller) overridesFor(pl *v1.Placement, s selected) []v1.ClusterOverride {
	out := make([]v1.ClusterOverride, len(pl.Spec.Overrides))
	m := s.obj.GetObjectMeta()
	for i, o := range pl.Spec.Overrides {
		if len(o.ResourceSelectors) == 0 || slices.ContainsFunc(o.ResourceSelectors, func(rs v1.ResourceSelector) bool {
			k, ok := fc.c.Registry().Lookup(rs.Kind)
			return ok && k.Kind == s.kind.Kind && selects(rs, m)
		}) {
			out[i] = o
		}
	}
	return out
}

func cmpStart(a, b *int32) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return int(*a - *b)
}

// share is what one cluster gets of a replicated object: the replicas
// delivered now (nil: not replicated), the target they move to, and for
// a divided PetSet the first ordinal of the member's PetSet and of the
// assigned range.
type share struct {
	replicas, target         *int32
	ordinalStart, rangeStart *int32
	ordinals                 *string
	// annotations are set on the member's object (a migration's orders).
	annotations map[string]string
}

// shares divides a PetSet's or Deployment's replicas among clusters.
func (fc *Controller) shares(pl *v1.Placement, s selected, base json.RawMessage, clusters []*v1.Cluster, fo *failoverState) (map[string]share, error) {
	out := map[string]share{}
	total, policy, start, isPetSet := replicasOf(s.obj)
	if total < 0 {
		return out, nil // not replicated
	}
	rs := pl.Spec.ReplicaScheduling
	if rs == nil || rs.Type != v1.ReplicaSchedulingDivided {
		if isPetSet {
			return nil, errors.New("a PetSet's pets have one identity across the federation, so they cannot be duplicated in every cluster: use replicaScheduling.type Divided")
		}
		for _, cl := range clusters {
			out[cl.Name] = share{replicas: &total}
		}
		return out, nil
	}
	names := make([]string, len(clusters))
	for i, cl := range clusters {
		names[i] = cl.Name
	}
	if !isPetSet && fo.automatic && fo.blocked == "" && len(fo.failedStateless) > 0 {
		// Stateless replicas leave a failed cluster after the grace
		// period: no identity, no fencing.
		clusters = slices.DeleteFunc(slices.Clone(clusters), func(c *v1.Cluster) bool { return fo.failedStateless[c.Name] })
		names = slices.DeleteFunc(names, func(n string) bool { return fo.failedStateless[n] })
		for n := range fo.failedStateless {
			zero := int32(0)
			out[n] = share{replicas: &zero}
		}
		if len(names) == 0 {
			return out, nil
		}
	}
	var capacity map[string]int64
	if len(rs.Weights) == 0 {
		per, err := placement.PerReplica(base)
		if err != nil {
			return nil, err
		}
		capacity = map[string]int64{}
		for _, cl := range clusters {
			capacity[cl.Name] = placement.FitReplicas(cl.Status.Free, per)
		}
	}
	division, err := placement.Divide(total, names, rs.Weights, capacity)
	if err != nil {
		return nil, err
	}
	if !isPetSet {
		for _, n := range names {
			r := division[n]
			out[n] = share{replicas: &r}
		}
		return out, nil
	}
	return fc.petSetShares(pl, s, names, division, policy, start, fo)
}

// errStale: the Works seen are a mix of before and after this
// controller's last writes (its informer lags them); the placement is
// synced again shortly, and nothing is written from such a view.
var errStale = errors.New("federation controller: the Works seen are not all up to date yet")

// validRanges reports whether ranges are one assignment: contiguous from
// 0, one range per cluster.
func validRanges(ranges []placement.Range) bool {
	rs := slices.Clone(ranges)
	slices.SortFunc(rs, func(a, b placement.Range) int { return int(a.Start - b.Start) })
	seen := map[string]bool{}
	var next int32
	for _, r := range rs {
		if r.Count == 0 {
			continue
		}
		if r.Start != next || seen[r.Cluster] {
			return false
		}
		seen[r.Cluster] = true
		next += r.Count
	}
	return true
}

// overlapping reports whether two clusters would run one ordinal: the
// delivered pets of each (from its first ordinal) must not meet.
func overlapping(out map[string]share) bool {
	type span struct{ from, to int32 }
	var spans []span
	for _, sh := range out {
		if sh.replicas != nil && sh.ordinalStart != nil && *sh.replicas > 0 {
			spans = append(spans, span{*sh.ordinalStart, *sh.ordinalStart + *sh.replicas})
		}
	}
	slices.SortFunc(spans, func(a, b span) int { return int(a.from - b.from) })
	for i := 1; i < len(spans); i++ {
		if spans[i].from < spans[i-1].to {
			return true
		}
	}
	return false
}

// replicasOf is spec.replicas of a PetSet or Deployment (-1 otherwise),
// its pod management policy and first ordinal.
func replicasOf(o v1.Object) (replicas int32, policy v1.PodManagementPolicyType, start int32, isPetSet bool) {
	switch t := o.(type) {
	case *v1.PetSet:
		return t.DesiredReplicas(), t.Spec.PodManagementPolicy, t.StartOrdinal(), true
	case *v1.Deployment:
		r := int32(1)
		if t.Spec.Replicas != nil {
			r = *t.Spec.Replicas
		}
		return r, "", 0, false
	}
	return -1, "", 0, false
}

// petSetShares assigns a divided PetSet's ordinals (sticky, from the
// ranges its Works hold) and gates start-up and scale-down across
// clusters under OrderedReady.
//
// It never returns shares under which two clusters would run one pet
// (errStale instead: a view of the Works that mixes old and new).
func (fc *Controller) petSetShares(pl *v1.Placement, s selected, names []string, division map[string]int32, policy v1.PodManagementPolicyType, start int32, fo *failoverState) (map[string]share, error) {
	works := map[string]*v1.Work{}
	var prev []placement.Range
	for _, w := range fc.works.ByIndex(bySource, sourceKey(s.ref())) {
		if w.Spec.Placement != pl.Name {
			continue
		}
		works[w.Spec.Cluster] = w
		if st, n, ok := parseRange(w.Annotations[AnnotationOrdinals]); ok {
			prev = append(prev, placement.Range{Cluster: w.Spec.Cluster, Start: st, Count: n})
		}
	}
	if !validRanges(prev) {
		return nil, errStale
	}
	ranges, reassigned := placement.AssignOrdinals(prev, division, names)
	if reassigned {
		fc.log.Info("ordinals reassigned: a cluster holding some left the placement", "placement", pl.Namespace+"/"+pl.Name, "petset", s.obj.GetObjectMeta().Name)
	}
	failed := map[string]bool{}
	if fo.automatic && fo.blocked == "" {
		failed = fo.failedPets
		ranges = fc.failOver(s.obj.GetObjectMeta().Name, ranges, names, start, fo)
	}
	set, _ := s.obj.(*v1.PetSet)
	mig := fc.activeMigration(set.Namespace, set.Name)
	if mig != nil {
		moved, ok := moveOrdinal(ranges, mig.Spec.Ordinal-start, mig.Status.From, mig.Spec.To)
		if ok {
			ranges = moved
		} else {
			fc.log.Warn("an active migration no longer fits the PetSet's ranges: it holds nothing", "migration", v1.ObjectKey(mig))
			mig = nil
		}
	}
	targets := map[string]placement.Range{}
	for _, r := range ranges {
		targets[r.Cluster] = r
	}
	states := make([]gateState, len(names))
	for i, n := range names {
		r, ok := targets[n]
		st := gateState{cluster: n, target: r.Count, position: r.Start, delivered: deliveredReplicas(works[n]), reported: reportedReplicas(works[n]),
			failed: failed[n] && r.Count == 0}
		if !ok {
			st.position = end(ranges)
			if w := works[n]; w != nil {
				if ps, has := manifestStart(w); has {
					st.position = ps - start
				}
			}
		}
		states[i] = st
	}
	delivered := gate(states, policy != v1.ParallelPodManagement)
	out := map[string]share{}
	for i, st := range states {
		d, t, os, rsStart := delivered[i], st.target, start+st.position, start+targets[st.cluster].Start
		sh := share{replicas: &d, target: &t, ordinalStart: &os}
		rng := formatRange(targets[st.cluster].Start, st.target)
		sh.ordinals = &rng
		if st.target > 0 {
			sh.rangeStart = &rsStart
		}
		out[st.cluster] = sh
	}
	if mig != nil {
		fc.migrationShares(mig, set, ranges, out)
	}
	// A cluster given pets another still runs waits for them: the
	// growing clusters keep what they had until the overlap is gone.
	for overlapping(out) {
		held := false
		for cl, sh := range out {
			w := works[cl]
			prevStart, ok := int32(0), false
			if w != nil {
				prevStart, ok = manifestStart(w)
			}
			if !ok {
				prevStart = *sh.ordinalStart // a new member: nothing yet
			}
			d := max(deliveredReplicas(w), 0)
			if *sh.replicas <= d && *sh.ordinalStart == prevStart {
				continue
			}
			sh.replicas, sh.ordinalStart = &d, &prevStart
			out[cl] = sh
			held = true
		}
		if !held {
			return nil, errStale
		}
	}
	return out, nil
}

func end(ranges []placement.Range) int32 {
	if len(ranges) == 0 {
		return 0
	}
	r := ranges[len(ranges)-1]
	return r.Start + r.Count
}

// manifestStart is spec.ordinals.start of a Work's manifest.
func manifestStart(w *v1.Work) (int32, bool) {
	var m struct {
		Spec struct {
			Ordinals *struct {
				Start int32 `json:"start"`
			} `json:"ordinals"`
		} `json:"spec"`
	}
	if json.Unmarshal(w.Spec.Manifest, &m) != nil || m.Spec.Ordinals == nil {
		return 0, false
	}
	return m.Spec.Ordinals.Start, true
}

// statusEqual compares two placement statuses, ignoring condition times.
func statusEqual(a, b v1.PlacementStatus) bool {
	strip := func(s v1.PlacementStatus) v1.PlacementStatus {
		c := make([]v1.Condition, len(s.Conditions))
		copy(c, s.Conditions)
		for i := range c {
			c[i].LastTransitionTime = nil
		}
		s.Conditions = c
		return s
	}
	return reflect.DeepEqual(strip(a), strip(b))
}

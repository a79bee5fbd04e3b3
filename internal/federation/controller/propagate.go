package controller

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
)

// Reasons of a Placement's conditions.
const (
	ReasonNoCluster       = "NoEligibleCluster"
	ReasonConflict        = "Conflict"
	ReasonRenderFailed    = "RenderFailed"
	ReasonUnsupportedKind = "UnsupportedKind"
	ReasonPropagated      = "Propagated"
	ReasonScheduled       = "Scheduled"
)

// staleRetry is how soon a placement synced from a stale view of its
// Works is synced again.
const staleRetry = 100 * time.Millisecond

// selected is one object a placement places.
type selected struct {
	kind *v1.Kind
	obj  v1.Object
}

func (s selected) ref() v1.ObjectReference {
	m := s.obj.GetObjectMeta()
	return v1.ObjectReference{APIVersion: s.kind.APIVersions[0], Kind: s.kind.Kind, Namespace: m.Namespace, Name: m.Name, UID: m.UID}
}

// planError is a placement that cannot be carried out: nothing is
// written, the condition says why.
type planError struct {
	cond   string // the condition set False
	reason string
	msg    string
}

func (e *planError) Error() string { return e.msg }

// syncPlacement renders the objects a Placement selects for the clusters
// it chooses and writes them as Works; Works it no longer wants are
// deleted. A placement that cannot be carried out whole changes no Work.
func (fc *Controller) syncPlacement(ctx context.Context, key string) error {
	ns, _, err := controller.SplitKey(key)
	if err != nil {
		return nil
	}
	pl, ok := fc.placements.Get(key)
	if !ok {
		return fc.deleteWorks(ctx, fc.works.ByIndex(byPlacement, key), nil)
	}
	objs, skipped, perr := fc.selectObjects(pl)
	var desired map[string]*v1.Work
	var status v1.PlacementStatus
	var fo *failoverState
	if perr == nil {
		desired, status, fo, perr = fc.plan(pl, objs)
	}
	if errors.Is(perr, errStale) {
		return controller.RequeueAfter(staleRetry)
	}
	if perr != nil {
		var pe *planError
		if !errors.As(perr, &pe) {
			return perr
		}
		return fc.reportFailure(ctx, pl, pe)
	}
	keep := map[string]bool{}
	for k := range skipped {
		for _, w := range fc.works.ByIndex(bySource, k) {
			keep[w.Namespace+"/"+w.Name] = true // a conflicted object's Works stay as they were
		}
	}
	// A failed member's Lease is claimed before its pets are given to
	// others; every Work of a claimed member says the claim was decided.
	if err := fc.stampClaims(ctx, desired, fo); err != nil {
		return err
	}
	if err := fc.writeWorks(ctx, desired); err != nil {
		return err
	}
	var stale []*v1.Work
	for _, w := range fc.works.ByIndex(byPlacement, key) {
		if desired[w.Namespace+"/"+w.Name] == nil && !keep[w.Namespace+"/"+w.Name] {
			stale = append(stale, w)
		}
	}
	if err := fc.deleteWorks(ctx, stale, nil); err != nil {
		return err
	}
	fc.setStatus(pl, &status, desired, skipped)
	if c := findCondition(status.Conditions, v1.PlacementPropagated); c.Reason == ReasonConflict {
		if old := findCondition(pl.Status.Conditions, v1.PlacementPropagated); old == nil || old.Message != c.Message {
			fc.events.Record(ctx, pl, "Placement", "kennel.io/v1", v1.EventTypeWarning, ReasonConflict, c.Message)
		}
	}
	fc.setFailoverStatus(ctx, pl, &status, fo)
	if err := fc.writeStatus(ctx, pl, status, ns); err != nil {
		return err
	}
	if fo.next > 0 {
		return controller.RequeueAfter(fo.next + 10*time.Millisecond)
	}
	return nil
}

// selectObjects lists the objects pl selects, minus those another
// Placement selects too (returned as skipped, by source key, with the
// other placements' names).
func (fc *Controller) selectObjects(pl *v1.Placement) ([]selected, map[string]string, error) {
	var out []selected
	skipped := map[string]string{}
	seen := map[string]bool{}
	for i, rs := range pl.Spec.ResourceSelectors {
		kind, ok := fc.c.Registry().Lookup(rs.Kind)
		if !ok || fc.objects[kind.Kind] == nil {
			return nil, nil, &planError{v1.PlacementPropagated, ReasonUnsupportedKind,
				fmt.Sprintf("spec.resourceSelectors[%d].kind: %q cannot be federated (one of %s)", i, rs.Kind, strings.Join(federatedKinds, ", "))}
		}
		if rs.APIVersion != "" && !slices.Contains(kind.APIVersions, rs.APIVersion) {
			return nil, nil, &planError{v1.PlacementPropagated, ReasonUnsupportedKind,
				fmt.Sprintf("spec.resourceSelectors[%d].apiVersion: %s is not served as %s (one of %s)", i, rs.APIVersion, kind.Kind, strings.Join(kind.APIVersions, ", "))}
		}
		candidates := fc.objects[kind.Kind].List()
		if rs.Name != "" {
			candidates = nil
			if o, ok := fc.objects[kind.Kind].Get(pl.Namespace + "/" + rs.Name); ok {
				candidates = append(candidates, o)
			}
		}
		for _, o := range candidates {
			m := o.GetObjectMeta()
			if m.Namespace != pl.Namespace || m.DeletionTimestamp != nil || !selects(rs, m) {
				continue
			}
			s := selected{kind, o}
			k := sourceKey(s.ref())
			if seen[k] {
				continue
			}
			seen[k] = true
			if others := fc.olderPlacements(pl, kind, m); len(others) > 0 {
				skipped[k] = strings.Join(others, ", ")
				continue
			}
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b selected) int { return strings.Compare(sourceKey(a.ref()), sourceKey(b.ref())) })
	return out, skipped, nil
}

// olderPlacements are the Placements of pl's namespace, created before
// it, that select the object too: the oldest placement of an object
// places it, so a new conflicting Placement never disturbs what runs.
func (fc *Controller) olderPlacements(pl *v1.Placement, kind *v1.Kind, m *v1.ObjectMeta) []string {
	var out []string
	for _, p := range fc.selecting(kind.Kind, pl.Namespace, m.Name) {
		if p.Namespace != pl.Namespace || p.Name == pl.Name || !older(p, pl) || slices.Contains(out, p.Name) {
			continue
		}
		for _, rs := range p.Spec.ResourceSelectors {
			if k, ok := fc.c.Registry().Lookup(rs.Kind); ok && k.Kind == kind.Kind && selects(rs, m) {
				out = append(out, p.Name)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// selects reports whether a selector (whose kind matched) selects m.
func selects(rs v1.ResourceSelector, m *v1.ObjectMeta) bool {
	if rs.Name != "" {
		return rs.Name == m.Name
	}
	if rs.LabelSelector == nil {
		return true
	}
	return rs.LabelSelector.Matches(m.Labels)
}

// writeWorks creates or updates the desired Works whose spec differs.
func (fc *Controller) writeWorks(ctx context.Context, desired map[string]*v1.Work) error {
	var errs []error
	for key, w := range desired {
		res := client.For[*v1.Work](fc.c, w.Namespace)
		cur, ok := fc.works.Get(key)
		switch {
		case !ok:
			if _, err := res.Create(ctx, w); err != nil && !v1.IsAlreadyExists(err) {
				errs = append(errs, fmt.Errorf("federation controller: create work %s: %w", key, err))
			}
		case !sameWork(cur, w):
			up := v1.Clone(cur)
			up.Labels, up.Annotations, up.Spec = w.Labels, w.Annotations, w.Spec
			if _, err := res.Update(ctx, up); err != nil {
				errs = append(errs, fmt.Errorf("federation controller: update work %s: %w", key, err))
			}
		}
	}
	return errors.Join(errs...)
}

func sameWork(cur, w *v1.Work) bool {
	if cur.Spec.Cluster != w.Spec.Cluster || cur.Spec.Source != w.Spec.Source || cur.Spec.Placement != w.Spec.Placement ||
		cur.Annotations[AnnotationOrdinals] != w.Annotations[AnnotationOrdinals] {
		return false
	}
	return bytes.Equal(cur.Spec.Manifest, w.Spec.Manifest) || sameJSON(cur.Spec.Manifest, w.Spec.Manifest)
}

// deleteWorks deletes works, but none that keep names.
func (fc *Controller) deleteWorks(ctx context.Context, works []*v1.Work, keep map[string]bool) error {
	var errs []error
	for _, w := range works {
		if keep[w.Namespace+"/"+w.Name] {
			continue
		}
		_, err := client.For[*v1.Work](fc.c, w.Namespace).Delete(ctx, w.Name, client.DeleteOptions{})
		if err != nil && !v1.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("federation controller: delete work %s/%s: %w", w.Namespace, w.Name, err))
		}
	}
	return errors.Join(errs...)
}

// reportFailure sets the failed condition and records a Warning event.
func (fc *Controller) reportFailure(ctx context.Context, pl *v1.Placement, pe *planError) error {
	st := v1.Clone(pl).Status
	st.ObservedGeneration = pl.Generation
	now := fc.clock.Now()
	setCondition(&st.Conditions, v1.Condition{Type: pe.cond, Status: v1.ConditionFalse, Reason: pe.reason, Message: pe.msg, ObservedGeneration: pl.Generation}, now)
	if pe.cond == v1.PlacementScheduled {
		setCondition(&st.Conditions, v1.Condition{Type: v1.PlacementPropagated, Status: v1.ConditionFalse, Reason: pe.reason,
			Message: "nothing was changed in the members", ObservedGeneration: pl.Generation}, now)
	}
	fc.events.Record(ctx, pl, "Placement", "kennel.io/v1", v1.EventTypeWarning, pe.reason, pe.msg)
	return fc.writeStatus(ctx, pl, st, pl.Namespace)
}

// writeStatus writes st if it differs from pl's.
func (fc *Controller) writeStatus(ctx context.Context, pl *v1.Placement, st v1.PlacementStatus, ns string) error {
	if statusEqual(pl.Status, st) {
		return nil
	}
	up := v1.Clone(pl)
	up.Status = st
	_, err := client.For[*v1.Placement](fc.c, ns).UpdateStatus(ctx, up)
	if v1.IsNotFound(err) || v1.IsConflict(err) {
		return nil // a newer version is queued
	}
	return err
}

// older orders placements by creation, then name.
func older(a, b *v1.Placement) bool {
	ta, tb := a.CreationTimestamp, b.CreationTimestamp
	if ta != nil && tb != nil && !ta.Equal(tb.Time) {
		return ta.Before(tb.Time)
	}
	return a.Name < b.Name
}

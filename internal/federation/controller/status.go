package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// setStatus fills a placement's conditions after a propagation.
func (fc *Controller) setStatus(pl *v1.Placement, st *v1.PlacementStatus, desired map[string]*v1.Work, skipped map[string]string) {
	now := fc.clock.Now()
	st.Conditions = v1.Clone(pl).Status.Conditions
	gen := pl.Generation
	setCondition(&st.Conditions, v1.Condition{Type: v1.PlacementScheduled, Status: v1.ConditionTrue, Reason: ReasonScheduled,
		Message: fmt.Sprintf("placed on %s", strings.Join(st.Clusters, ", ")), ObservedGeneration: gen}, now)
	if len(skipped) > 0 {
		var msgs []string
		for _, k := range sortedKeys(skipped) {
			msgs = append(msgs, fmt.Sprintf("%s is also selected by Placement %s", strings.Replace(k, "/"+pl.Namespace+"/", " ", 1), skipped[k]))
		}
		setCondition(&st.Conditions, v1.Condition{Type: v1.PlacementPropagated, Status: v1.ConditionFalse, Reason: ReasonConflict,
			Message: strings.Join(msgs, "; ") + ", created earlier, which places it", ObservedGeneration: gen}, now)
	} else {
		setCondition(&st.Conditions, v1.Condition{Type: v1.PlacementPropagated, Status: v1.ConditionTrue, Reason: ReasonPropagated,
			Message: fmt.Sprintf("%d works written", len(desired)), ObservedGeneration: gen}, now)
	}
	var pending, failed []string
	for key, w := range desired {
		cur, ok := fc.works.Get(key)
		if !ok || !sameWork(cur, w) || cur.Status.AppliedGeneration != cur.Generation {
			pending = append(pending, w.Spec.Cluster)
			continue
		}
		if c := findCondition(cur.Status.Conditions, v1.WorkApplied); c == nil || c.Status != v1.ConditionTrue {
			msg := w.Spec.Cluster
			if c != nil && c.Message != "" {
				msg += ": " + c.Message
			}
			failed = append(failed, msg)
		}
	}
	slices.Sort(pending)
	slices.Sort(failed)
	cond := v1.Condition{Type: v1.PlacementApplied, Status: v1.ConditionTrue, Reason: "Applied", Message: "every member applied its works", ObservedGeneration: gen}
	switch {
	case len(failed) > 0:
		cond.Status, cond.Reason, cond.Message = v1.ConditionFalse, "ApplyFailed", strings.Join(failed, "; ")
	case len(pending) > 0:
		cond.Status, cond.Reason, cond.Message = v1.ConditionFalse, "Pending", "waiting for "+strings.Join(slices.Compact(pending), ", ")
	}
	setCondition(&st.Conditions, cond, now)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// syncStatus sums what the members report of a federated PetSet or
// Deployment into its status, and keeps a federated Service's
// FederatedEndpoints.
func (fc *Controller) syncStatus(ctx context.Context, key string) error {
	kind, rest, _ := strings.Cut(key, "/")
	ns, name, _ := strings.Cut(rest, "/")
	works := fc.works.ByIndex(bySource, key)
	switch kind {
	case "Service":
		return fc.syncEndpoints(ctx, ns, name, works)
	case "PetSet", "Deployment":
		return fc.sumStatus(ctx, kind, ns, name, works)
	}
	return nil
}

// sumStatus writes the summed replica counts on the federated object.
func (fc *Controller) sumStatus(ctx context.Context, kind, ns, name string, works []*v1.Work) error {
	o, ok := fc.objects[kind].Get(ns + "/" + name)
	if !ok || len(works) == 0 {
		return nil
	}
	type counts struct {
		Replicas, ReadyReplicas, CurrentReplicas, UpdatedReplicas, AvailableReplicas int32
	}
	var sum counts
	applied := true
	for _, w := range works {
		var c counts
		if len(w.Status.ResourceStatus) > 0 {
			_ = json.Unmarshal(w.Status.ResourceStatus, &c)
		}
		sum.Replicas += c.Replicas
		sum.ReadyReplicas += c.ReadyReplicas
		sum.CurrentReplicas += c.CurrentReplicas
		sum.UpdatedReplicas += c.UpdatedReplicas
		sum.AvailableReplicas += c.AvailableReplicas
		applied = applied && w.Status.AppliedGeneration == w.Generation
	}
	m := o.GetObjectMeta()
	var up v1.Object
	switch t := o.(type) {
	case *v1.PetSet:
		st := t.Status
		st.Replicas, st.ReadyReplicas, st.CurrentReplicas, st.UpdatedReplicas, st.AvailableReplicas =
			sum.Replicas, sum.ReadyReplicas, sum.CurrentReplicas, sum.UpdatedReplicas, sum.AvailableReplicas
		if applied {
			st.ObservedGeneration = m.Generation
		}
		if !equalJSON(st, t.Status) {
			c := v1.Clone(t)
			c.Status = st
			up = c
		}
	case *v1.Deployment:
		st := t.Status
		st.Replicas, st.ReadyReplicas, st.UpdatedReplicas, st.AvailableReplicas = sum.Replicas, sum.ReadyReplicas, sum.UpdatedReplicas, sum.AvailableReplicas
		st.UnavailableReplicas = max(0, sum.Replicas-sum.AvailableReplicas)
		if applied {
			st.ObservedGeneration = m.Generation
		}
		if !equalJSON(st, t.Status) {
			c := v1.Clone(t)
			c.Status = st
			up = c
		}
	}
	if up == nil {
		return nil
	}
	k, _ := fc.c.Registry().ByKind(kind)
	_, err := client.ForKind(fc.c, k, ns).UpdateStatus(ctx, up)
	return ignoreGone(err)
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func ignoreGone(err error) error {
	if v1.IsNotFound(err) || v1.IsConflict(err) {
		return nil // gone, or a newer version is queued
	}
	return err
}

// syncEndpoints writes the shards of a federated Service: one per
// member cluster (so that every zone and region name exists), healthy
// where the member is Ready and the service has a ready endpoint there.
func (fc *Controller) syncEndpoints(ctx context.Context, ns, name string, works []*v1.Work) error {
	res := client.For[*v1.FederatedEndpoints](fc.c, v1.NamespaceFederation)
	epName := v1.FederatedEndpointsName(ns, name)
	_, exists := fc.objects["Service"].Get(ns + "/" + name)
	if !exists || len(works) == 0 {
		if _, ok := fc.fedEps.Get(v1.NamespaceFederation + "/" + epName); ok {
			_, err := res.Delete(ctx, epName, client.DeleteOptions{})
			if err != nil && !v1.IsNotFound(err) {
				return err
			}
		}
		return nil
	}
	byCluster := map[string]*v1.Work{}
	for _, w := range works {
		byCluster[w.Spec.Cluster] = w
	}
	spec := v1.FederatedEndpointsSpec{Federation: fc.cfg.Federation, Domain: fc.cfg.Domain, Namespace: ns, Service: name}
	clusters := fc.clusters.List()
	slices.SortFunc(clusters, func(a, b *v1.Cluster) int { return strings.Compare(a.Name, b.Name) })
	for _, cl := range clusters {
		sh := v1.ServiceShard{Cluster: cl.Name, Region: cl.Spec.Region}
		if len(cl.Spec.Zones) > 0 {
			sh.Zone = cl.Spec.Zones[0]
		}
		if w := byCluster[cl.Name]; w != nil {
			for _, a := range w.Status.ReadyAddresses {
				sh.Addresses = append(sh.Addresses, a.IP)
				if a.Hostname != "" {
					sh.Pets = append(sh.Pets, v1.PetAddress{Hostname: a.Hostname, IP: a.IP})
				}
			}
		}
		slices.Sort(sh.Addresses)
		sh.Addresses = slices.Compact(sh.Addresses)
		sh.Healthy = isReady(cl) && len(sh.Addresses) > 0
		spec.Shards = append(spec.Shards, sh)
	}
	cur, ok := fc.fedEps.Get(v1.NamespaceFederation + "/" + epName)
	if !ok {
		_, err := res.Create(ctx, &v1.FederatedEndpoints{ObjectMeta: v1.ObjectMeta{Name: epName, Namespace: v1.NamespaceFederation}, Spec: spec})
		if v1.IsAlreadyExists(err) {
			return nil // written by an earlier sync: its add event brings this key back
		}
		return err
	}
	if equalJSON(cur.Spec, spec) {
		return nil
	}
	up := v1.Clone(cur)
	up.Spec = spec
	_, err := res.Update(ctx, up)
	if v1.IsNotFound(err) {
		return nil
	}
	return err // a conflict is retried: no event of ours would bring this key back
}

package controller_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// divided is the Placement of the issue: PetSet and Service db, divided
// by weights over the gdpr clusters.
func divided(weights ...v1.ClusterWeight) *v1.Placement {
	return &v1.Placement{ObjectMeta: v1.ObjectMeta{Name: "db"}, Spec: v1.PlacementSpec{
		ResourceSelectors: []v1.ResourceSelector{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db"}, {APIVersion: "v1", Kind: "Service", Name: "db"}},
		ClusterAffinity:   &v1.ClusterAffinity{LabelSelector: &v1.LabelSelector{MatchLabels: gdpr("gdpr")}},
		ReplicaScheduling: &v1.ReplicaScheduling{Type: v1.ReplicaSchedulingDivided, Weights: weights},
	}}
}

func w(c string, n int32) v1.ClusterWeight { return v1.ClusterWeight{Clusters: []string{c}, Weight: n} }

// TestDividedPetSetOrderedAcrossClusters: 5 pets over a, b, c (2:2:1) get
// ordinals 0-1, 2-3, 4; b's first pet starts only when a's are all
// Ready, c's when b's are; the non-gdpr cluster gets nothing; scale down
// removes the highest ordinals first, cluster by cluster; status sums.
func TestDividedPetSetOrderedAcrossClusters(t *testing.T) {
	e := start(t, time.Minute)
	e.addCluster("a", "eu-west", "eu-west-1", gdpr("gdpr"))
	e.addCluster("b", "eu-west", "eu-west-2", gdpr("gdpr"))
	e.addCluster("c", "eu-central", "eu-central-1", gdpr("gdpr"))
	e.addCluster("us", "us-east", "us-east-1", gdpr("none"))
	e.create(petSet("db", 5), "PetSet")
	e.create(&v1.Service{ObjectMeta: v1.ObjectMeta{Name: "db"}, Spec: v1.ServiceSpec{ClusterIP: v1.ClusterIPNone,
		Selector: map[string]string{"app": "db"}, Ports: []v1.ServicePort{{Name: "p", Port: 7000}}}}, "Service")
	e.create(divided(w("a", 2), w("b", 2), w("c", 1)), "Placement")

	wait := func(what string, want map[string]petSetShare) {
		t.Helper()
		got := map[string]petSetShare{}
		defer func() {
			if t.Failed() {
				t.Logf("%s: got %v, want %v", what, got, want)
			}
		}()
		e.eventually(what, func() bool {
			ok := true
			for cl, s := range want {
				wk := e.work(cl, "default", "petset", "db")
				if wk == nil {
					got[cl] = petSetShare{-1, -1}
					ok = false
					continue
				}
				got[cl] = share(wk)
				ok = ok && got[cl] == s
			}
			return ok
		})
	}
	wait("a starts first", map[string]petSetShare{"a": {2, 0}, "b": {0, 2}, "c": {0, 4}})
	if e.work("us", "default", "petset", "db") != nil || e.work("us", "default", "service", "db") != nil {
		t.Fatal("the non-gdpr cluster got work")
	}
	e.eventually("the service propagated to b", func() bool { return e.work("b", "default", "service", "db") != nil })
	e.report(e.work("a", "default", "petset", "db"), 2, 1)
	// One of a's pets is not Ready: b must wait.
	e.eventually("placement sees a's status", func() bool {
		return e.placement("db").Status.ObservedGeneration > 0
	})
	if s := share(e.work("b", "default", "petset", "db")); s.replicas != 0 {
		t.Fatalf("b got %d replicas before a's pets were all Ready", s.replicas)
	}
	e.report(e.work("a", "default", "petset", "db"), 2, 2)
	wait("b starts after a is Ready", map[string]petSetShare{"a": {2, 0}, "b": {2, 2}, "c": {0, 4}})
	e.report(e.work("b", "default", "petset", "db"), 2, 2)
	wait("c starts after b is Ready", map[string]petSetShare{"c": {1, 4}})
	e.report(e.work("c", "default", "petset", "db"), 1, 1)
	e.eventually("summed status", func() bool {
		ps, err := client.For[*v1.PetSet](e.c, "default").Get(e.ctx, "db")
		return err == nil && ps.Status.ReadyReplicas == 5 && ps.Status.Replicas == 5
	})
	e.eventually("placement shares", func() bool {
		var got []string
		for _, r := range e.placement("db").Status.Resources {
			for _, c := range r.Clusters {
				if c.OrdinalStart != nil {
					got = append(got, fmt.Sprintf("%s:%d+%d", c.Name, *c.OrdinalStart, *c.Replicas))
				}
			}
		}
		return strings.Join(got, " ") == "a:0+2 b:2+2 c:4+1"
	})
	if c := condition(e.placement("db").Status.Conditions, v1.PlacementApplied); c.Status != v1.ConditionFalse || !strings.Contains(c.Message, "waiting for") {
		t.Fatalf("Applied with the services' works unreported: %+v", c)
	}

	// Scale to 3: c (ordinal 4) goes first, then b shrinks to ordinal 2.
	ps, _ := client.For[*v1.PetSet](e.c, "default").Get(e.ctx, "db")
	three := int32(3)
	ps.Spec.Replicas = &three
	if _, err := client.For[*v1.PetSet](e.c, "default").Update(e.ctx, ps); err != nil {
		t.Fatal(err)
	}
	wait("c scales down first", map[string]petSetShare{"a": {2, 0}, "b": {2, 2}, "c": {0, 4}})
	e.report(e.work("c", "default", "petset", "db"), 0, 0)
	wait("then b", map[string]petSetShare{"a": {2, 0}, "b": {1, 2}, "c": {0, 4}})
}

// TestBadPlacements: no eligible cluster, two placements of one object,
// and an override of a missing field each get a False condition with the
// reason and a Warning event, and propagate nothing.
func TestBadPlacements(t *testing.T) {
	e := start(t, time.Minute)
	e.addCluster("a", "eu-west", "eu-west-1", gdpr("none"))
	e.create(petSet("db", 1), "PetSet")
	e.create(&v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Name: "cfg"}, Data: map[string]string{"k": "v"}}, "ConfigMap")
	e.create(&v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Name: "shared"}, Data: map[string]string{"k": "v"}}, "ConfigMap")

	e.create(divided(), "Placement") // gdpr only: no cluster
	e.create(&v1.Placement{ObjectMeta: v1.ObjectMeta{Name: "one"}, Spec: v1.PlacementSpec{
		ResourceSelectors: []v1.ResourceSelector{{Kind: "ConfigMap", Name: "shared"}}}}, "Placement")
	e.create(&v1.Placement{ObjectMeta: v1.ObjectMeta{Name: "two"}, Spec: v1.PlacementSpec{
		ResourceSelectors: []v1.ResourceSelector{{Kind: "ConfigMap", Name: "shared"}}}}, "Placement")
	e.create(&v1.Placement{ObjectMeta: v1.ObjectMeta{Name: "override"}, Spec: v1.PlacementSpec{
		ResourceSelectors: []v1.ResourceSelector{{Kind: "ConfigMap", Name: "cfg"}},
		Overrides: []v1.ClusterOverride{{Clusters: []string{"a"},
			Set: []v1.FieldOverride{{Path: "spec.nothing.here", Value: json.RawMessage(`"x"`)}}}},
	}}, "Placement")

	cases := []struct{ placement, cond, reason, text string }{
		{"db", v1.PlacementScheduled, "NoEligibleCluster", "0/1 clusters"},
		{"two", v1.PlacementPropagated, "Conflict", "also selected by Placement one, created earlier"},
		{"override", v1.PlacementPropagated, "RenderFailed", "spec.nothing.here"},
	}
	for _, c := range cases {
		e.eventually(c.placement+" "+c.reason, func() bool {
			got := condition(e.placement(c.placement).Status.Conditions, c.cond)
			return got.Status == v1.ConditionFalse && got.Reason == c.reason && strings.Contains(got.Message, c.text)
		})
	}
	works, err := client.For[*v1.Work](e.c, v1.MemberNamespace("a")).List(e.ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, wk := range works.Items {
		if wk.Spec.Placement != "one" {
			t.Errorf("work %s propagated by bad placement %s", wk.Name, wk.Spec.Placement)
		}
	}
	if e.work("a", "default", "configmap", "shared") == nil {
		t.Error("the older placement of the shared object does not place it")
	}
	e.eventually("warning events", func() bool {
		evs, err := client.For[*v1.Event](e.c, "default").List(e.ctx, client.ListOptions{})
		if err != nil {
			return false
		}
		seen := map[string]bool{}
		for _, ev := range evs.Items {
			if ev.Type == v1.EventTypeWarning {
				seen[ev.InvolvedObject.Name+"/"+ev.Reason] = true
			}
		}
		return seen["db/NoEligibleCluster"] && seen["two/Conflict"] && seen["override/RenderFailed"]
	})
	// When the first placement goes, the second one places the object.
	if _, err := client.For[*v1.Placement](e.c, "default").Delete(e.ctx, "one", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually("shared placed by two once one is gone", func() bool {
		wk := e.work("a", "default", "configmap", "shared")
		return wk != nil && wk.Spec.Placement == "two" && ready(e.placement("two").Status.Conditions, v1.PlacementPropagated)
	})
}

// TestOverridesAndDeletion: an override sets a field for one cluster
// only; deleting the object, then the placement, deletes the Works.
func TestOverridesAndDeletion(t *testing.T) {
	e := start(t, time.Minute)
	e.addCluster("a", "eu-west", "eu-west-1", gdpr("gdpr"))
	e.addCluster("b", "eu-west", "eu-west-2", gdpr("gdpr"))
	e.create(&v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Name: "cfg"}, Data: map[string]string{"tier": "standard"}}, "ConfigMap")
	// "other" has no data: the override of data.tier must not reach it.
	e.create(&v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Name: "other"}}, "ConfigMap")
	e.create(&v1.Placement{ObjectMeta: v1.ObjectMeta{Name: "cfg"}, Spec: v1.PlacementSpec{
		ResourceSelectors: []v1.ResourceSelector{{Kind: "ConfigMap", Name: "cfg"}, {Kind: "ConfigMap", Name: "other"}},
		Overrides: []v1.ClusterOverride{{Clusters: []string{"b"}, ResourceSelectors: []v1.ResourceSelector{{Kind: "ConfigMap", Name: "cfg"}},
			Set:       []v1.FieldOverride{{Path: "data.tier", Value: json.RawMessage(`"premium"`)}},
			JSONPatch: []v1.JSONPatchOperation{{Op: "add", Path: "/metadata/labels", Value: json.RawMessage(`{"site":"b"}`)}}}},
	}}, "Placement")
	tier := func(cl string) string {
		wk := e.work(cl, "default", "configmap", "cfg")
		if wk == nil {
			return ""
		}
		var cm v1.ConfigMap
		_ = json.Unmarshal(wk.Spec.Manifest, &cm)
		return cm.Data["tier"] + "/" + cm.Labels["site"]
	}
	e.eventually("overridden for b only", func() bool { return tier("a") == "standard/" && tier("b") == "premium/b" })
	if _, err := client.For[*v1.ConfigMap](e.c, "default").Delete(e.ctx, "cfg", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually("works of the deleted object gone", func() bool {
		return e.work("a", "default", "configmap", "cfg") == nil && e.work("b", "default", "configmap", "cfg") == nil
	})
	if e.work("a", "default", "configmap", "other") == nil {
		t.Fatal("the other object's work went too")
	}
	if _, err := client.For[*v1.Placement](e.c, "default").Delete(e.ctx, "cfg", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually("works of the deleted placement gone", func() bool { return e.work("a", "default", "configmap", "other") == nil })
}

// TestClusterHealthAndEndpoints: a member whose lease runs out is
// NotReady, and its shard of a federated service unhealthy; the
// FederatedEndpoints list every member's zone and the pets' addresses.
func TestClusterHealthAndEndpoints(t *testing.T) {
	e := start(t, 5*time.Second) // long enough for a loaded CI machine to renew in time
	e.addCluster("a", "eu-west", "eu-west-1", nil)
	e.addCluster("b", "us-east", "us-east-1", nil)
	e.renew("a")
	e.create(&v1.Service{ObjectMeta: v1.ObjectMeta{Name: "db"}, Spec: v1.ServiceSpec{ClusterIP: v1.ClusterIPNone,
		Selector: map[string]string{"app": "db"}, Ports: []v1.ServicePort{{Name: "p", Port: 7000}}}}, "Service")
	e.create(&v1.Placement{ObjectMeta: v1.ObjectMeta{Name: "db"}, Spec: v1.PlacementSpec{
		ResourceSelectors: []v1.ResourceSelector{{Kind: "Service", Name: "db"}}}}, "Placement")
	e.eventually("works", func() bool {
		return e.work("a", "default", "service", "db") != nil && e.work("b", "default", "service", "db") != nil
	})
	// Each member reports its pets on its Work, as a member agent does
	// for the Work's current generation (reported again should the
	// federation rewrite the Work meanwhile, as it may on a loaded machine).
	report := func(cl string) {
		wk := e.work(cl, "default", "service", "db")
		if wk == nil || (wk.Status.AppliedGeneration == wk.Generation && len(wk.Status.ReadyAddresses) == 1) {
			return
		}
		wk = v1.Clone(wk)
		wk.Status.AppliedGeneration = wk.Generation
		ip := map[string]string{"a": "127.1.0.2", "b": "127.2.0.2"}[cl]
		wk.Status.ReadyAddresses = []v1.EndpointAddress{{IP: ip, Hostname: "db-" + map[string]string{"a": "0", "b": "1"}[cl]}}
		if _, err := client.For[*v1.Work](e.c, wk.Namespace).UpdateStatus(e.ctx, wk); err != nil && !v1.IsConflict(err) {
			t.Fatal(err)
		}
	}
	eps := func() *v1.FederatedEndpoints {
		fe, err := client.For[*v1.FederatedEndpoints](e.c, v1.NamespaceFederation).Get(e.ctx, "default.db")
		if err != nil {
			return nil
		}
		return fe
	}
	healthy := func(fe *v1.FederatedEndpoints) string {
		var out []string
		for _, s := range fe.Spec.Shards {
			out = append(out, s.Cluster+"/"+s.Zone+"/"+map[bool]string{true: "up", false: "down"}[s.Healthy])
		}
		return strings.Join(out, " ")
	}
	e.eventually("both shards healthy", func() bool {
		e.renew("a") // the grace period is short
		e.renew("b")
		report("a")
		report("b")
		fe := eps()
		return fe != nil && healthy(fe) == "a/eu-west-1/up b/us-east-1/up" && fe.Spec.Shards[1].Pets[0].Hostname == "db-1"
	})
	// An edit from elsewhere is undone (as is a write the controller's
	// cache did not show yet when it synced).
	fe := v1.Clone(eps())
	fe.Spec.Shards = nil
	if _, err := client.For[*v1.FederatedEndpoints](e.c, v1.NamespaceFederation).Update(e.ctx, fe); err != nil {
		t.Fatal(err)
	}
	e.eventually("the shards written again", func() bool {
		e.renew("a")
		e.renew("b")
		fe := eps()
		return fe != nil && healthy(fe) == "a/eu-west-1/up b/us-east-1/up"
	})
	// b stops renewing; a keeps renewing.
	e.eventually("b's shard unhealthy once its lease runs out", func() bool {
		e.renew("a")
		fe := eps()
		return fe != nil && healthy(fe) == "a/eu-west-1/up b/us-east-1/down"
	})
	cl, _ := client.For[*v1.Cluster](e.c, "").Get(e.ctx, "b")
	if c := condition(cl.Status.Conditions, v1.ClusterReady); c.Status != v1.ConditionFalse || c.Reason != "LeaseExpired" {
		t.Fatalf("b's Ready condition: %+v", c)
	}
}

package controller_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	fed "github.com/kennel-dev/kennel/internal/federation/controller"
)

// automatic is the divided PetSet placement with automatic failover.
func automatic(fencing time.Duration) *v1.Placement {
	p := divided(w("a", 2), w("b", 2), w("c", 1))
	p.Spec.ClusterAffinity = nil
	p.Spec.Failover = &v1.FailoverPolicy{Policy: v1.FailoverAutomatic, FencingPeriod: &v1.Duration{Duration: fencing}}
	p.Spec.ReplicaScheduling.Type = v1.ReplicaSchedulingDivided
	return p
}

// threeMembers starts the controllers with short failover timings and
// registers members a, b and c; stop ends the renewals keepRenewing
// starts with it.
func threeMembers(t *testing.T) (*env, chan struct{}) {
	e := startWith(t, func(c *fed.Config) { c.ClusterGracePeriod = 5 * time.Second; c.DriftMargin = time.Second })
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	for _, c := range []string{"a", "b", "c"} {
		e.addCluster(c, "eu", "eu-"+c, nil)
	}
	return e, stop
}

// keepRenewing renews the named members until stop is closed.
func (e *env) keepRenewing(stop chan struct{}, names ...string) {
	go func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				for _, n := range names {
					e.renewQuiet(n)
				}
			}
		}
	}()
}

func (e *env) renewQuiet(name string) {
	leases := client.For[*v1.Lease](e.c, v1.NamespaceClusterLeases)
	if l, err := leases.Get(e.ctx, name); err == nil {
		now := v1.MicroTime{Time: time.Now()}
		l.Spec.RenewTime = &now
		leases.Update(e.ctx, l)
	}
}

// TestFailoverMovesFencedPets: when b stops renewing, its ordinals 2-3
// go to a (next to its own 0-1) only after the fencing period plus the
// margin, after b's Lease is claimed; b's Work is left with none and says
// the claim was decided; the placement says what moved. The pets are
// marked fenceable in every member.
func TestFailoverMovesFencedPets(t *testing.T) {
	e, stop := threeMembers(t)
	e.keepRenewing(stop, "a", "c")
	bStop := make(chan struct{})
	e.keepRenewing(bStop, "b")
	e.create(petSet("db", 5), "PetSet")
	e.create(automatic(3*time.Second), "Placement")
	wait := func(what string, want map[string]petSetShare) {
		t.Helper()
		e.eventually(what, func() bool {
			for cl, s := range want {
				wk := e.work(cl, "default", "petset", "db")
				if wk == nil || share(wk) != s {
					return false
				}
			}
			return true
		})
	}
	wait("a first", map[string]petSetShare{"a": {2, 0}})
	e.report(e.work("a", "default", "petset", "db"), 2, 2)
	wait("b next", map[string]petSetShare{"b": {2, 2}})
	e.report(e.work("b", "default", "petset", "db"), 2, 2)
	wait("c last", map[string]petSetShare{"c": {1, 4}})
	var m v1.PetSet
	if err := jsonOf(e.work("b", "default", "petset", "db"), &m); err != nil || m.Spec.Template.Labels[v1.LabelFenced] != "true" ||
		m.Spec.Template.Annotations[v1.AnnotationFencingPeriod] != "3s" {
		t.Fatalf("pets not marked fenceable: %v %v", m.Spec.Template.Labels, err)
	}

	close(bStop) // b is cut off
	cut := time.Now()
	wait("b's ordinals moved to a", map[string]petSetShare{"a": {4, 0}, "b": {0, 2}})
	if d := time.Since(cut); d < 3*time.Second {
		t.Fatalf("moved %v after b's last renewal: before the fencing period", d)
	}
	l, err := client.For[*v1.Lease](e.c, v1.NamespaceClusterLeases).Get(e.ctx, "b")
	if err != nil || l.Annotations[v1.AnnotationFencedByFederation] == "" {
		t.Fatalf("b's lease not claimed: %v %v", l, err)
	}
	if got := e.work("b", "default", "petset", "db").Annotations[v1.AnnotationFenceClaim]; got != l.Annotations[v1.AnnotationFencedByFederation] {
		t.Fatalf("b's work stamped %q, want the claim %q", got, l.Annotations[v1.AnnotationFencedByFederation])
	}
	e.eventually("FailedOver condition", func() bool {
		c := condition(e.placement("db").Status.Conditions, v1.PlacementFailoverBlocked)
		return c.Status == v1.ConditionFalse && strings.Contains(c.Message+c.Reason, "FailedOver")
	})
	// b comes back: its pets stay where they went.
	e.keepRenewing(stop, "b")
	e.eventually("b Ready again", func() bool {
		cl, _ := client.For[*v1.Cluster](e.c, "").Get(e.ctx, "b")
		return cl != nil && ready(cl.Status.Conditions, v1.ClusterReady)
	})
	wait("b keeps none", map[string]petSetShare{"a": {4, 0}, "b": {0, 2}, "c": {1, 4}})
}

// TestFailoverBrake: when two of three members fail at once, nothing
// moves and the placement says why.
func TestFailoverBrake(t *testing.T) {
	e, stop := threeMembers(t)
	e.keepRenewing(stop, "a")
	bc := make(chan struct{})
	e.keepRenewing(bc, "b", "c")
	e.create(petSet("db", 3), "PetSet")
	p := automatic(2 * time.Second)
	p.Spec.ReplicaScheduling.Weights = []v1.ClusterWeight{w("a", 1), w("b", 1), w("c", 1)}
	e.create(p, "Placement")
	e.eventually("works for b and c", func() bool {
		return e.work("b", "default", "petset", "db") != nil && e.work("c", "default", "petset", "db") != nil
	})
	close(bc) // b and c fail together
	e.eventually("TooManyClustersFailed", func() bool {
		c := condition(e.placement("db").Status.Conditions, v1.PlacementFailoverBlocked)
		return c.Status == v1.ConditionTrue && c.Reason == fed.ReasonTooManyFailed
	})
	if s := share(e.work("b", "default", "petset", "db")); s.start != 1 {
		t.Fatalf("b's range changed under the brake: %+v", s)
	}
	if l, _ := client.For[*v1.Lease](e.c, v1.NamespaceClusterLeases).Get(e.ctx, "b"); l.Annotations[v1.AnnotationFencedByFederation] != "" {
		t.Fatal("b's lease claimed under the brake")
	}
}

func jsonOf(w *v1.Work, out any) error { return json.Unmarshal(w.Spec.Manifest, out) }

// TestFailoverRedividesStatelessReplicas: a divided Deployment with
// automatic failover leaves a member silent past the grace period; its
// replicas go to the others (no fencing: no identities), and come back
// when it renews again.
func TestFailoverRedividesStatelessReplicas(t *testing.T) {
	e, stop := threeMembers(t)
	e.keepRenewing(stop, "a", "c")
	bStop := make(chan struct{})
	e.keepRenewing(bStop, "b")
	six := int32(6)
	e.create(&v1.Deployment{ObjectMeta: v1.ObjectMeta{Name: "web"}, Spec: v1.DeploymentSpec{Replicas: &six,
		Selector: &v1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		Template: v1.PodTemplateSpec{ObjectMeta: v1.ObjectMeta{Labels: map[string]string{"app": "web"}},
			Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Command: []string{"sleep", "1000"}}}}}}}, "Deployment")
	e.create(&v1.Placement{ObjectMeta: v1.ObjectMeta{Name: "web"}, Spec: v1.PlacementSpec{
		ResourceSelectors: []v1.ResourceSelector{{Kind: "Deployment", Name: "web"}},
		ReplicaScheduling: &v1.ReplicaScheduling{Type: v1.ReplicaSchedulingDivided, Weights: []v1.ClusterWeight{w("a", 1), w("b", 1), w("c", 1)}},
		Failover:          &v1.FailoverPolicy{Policy: v1.FailoverAutomatic, GracePeriod: &v1.Duration{Duration: 3 * time.Second}},
	}}, "Placement")
	replicas := func(cl string) int32 {
		wk := e.work(cl, "default", "deployment", "web")
		if wk == nil {
			return -1
		}
		var d v1.Deployment
		if jsonOf(wk, &d) != nil || d.Spec.Replicas == nil {
			return -1
		}
		return *d.Spec.Replicas
	}
	split := func(what string, a, b, c int32) {
		t.Helper()
		e.eventually(what, func() bool { return replicas("a") == a && replicas("b") == b && replicas("c") == c })
	}
	split("2 each", 2, 2, 2)
	close(bStop)
	cut := time.Now()
	split("b's replicas divided among a and c", 3, 0, 3)
	if d := time.Since(cut); d < 3*time.Second {
		t.Fatalf("re-divided %v after b's last renewal: before the grace period", d)
	}
	e.keepRenewing(stop, "b")
	split("b back", 2, 2, 2)
}

// TestAutomaticFailoverIsOptIn: without Config.AutomaticFailover, an
// Automatic placement is treated as Never and says so.
func TestAutomaticFailoverIsOptIn(t *testing.T) {
	e := startWith(t, func(c *fed.Config) { c.AutomaticFailover = false })
	e.addCluster("a", "eu", "eu-a", nil)
	e.create(petSet("db", 1), "PetSet")
	p := automatic(2 * time.Second)
	p.Spec.ReplicaScheduling.Weights = []v1.ClusterWeight{w("a", 1)}
	e.create(p, "Placement")
	e.eventually("FailoverBlocked AutomaticFailoverDisabled", func() bool {
		c := condition(e.placement("db").Status.Conditions, v1.PlacementFailoverBlocked)
		return c.Status == v1.ConditionTrue && c.Reason == fed.ReasonFailoverDisabled
	})
	e.eventually("the work", func() bool { return e.work("a", "default", "petset", "db") != nil })
	var m v1.PetSet
	if err := jsonOf(e.work("a", "default", "petset", "db"), &m); err != nil || m.Spec.Template.Labels[v1.LabelFenced] != "" {
		t.Fatalf("pods marked fenceable with failover off: %v %v", m.Spec.Template.Labels, err)
	}
}

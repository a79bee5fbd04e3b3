package nodelifecycle_test

import (
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/controller/clock"
	"github.com/kennel-dev/kennel/internal/controller/nodelifecycle"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

const wait = 20 * time.Second

// fakeEnv runs the controller on a fake clock with a 20s grace period and
// a 30s eviction timeout, and waits until it has synced once, so that the
// clock is not advanced before the controller has started counting.
func fakeEnv(t *testing.T, setup func(e *env, t0 time.Time)) (*env, *clock.Fake, time.Time) {
	t.Helper()
	e := newEnv(t)
	t0 := time.Now().Truncate(time.Second)
	fake := clock.NewFake(t0)
	setup(e, t0)
	e.run(nodelifecycle.Config{GracePeriod: 20 * time.Second, EvictionTimeout: 30 * time.Second, Clock: fake})
	testcluster.Eventually(t, wait, "the controller to wait for a lease to expire", func() bool { return fake.Waiters() > 0 })
	return e, fake, t0
}

func TestLeaseExpiryMarksNodeUnreachableAndEvictsItsPods(t *testing.T) {
	t.Parallel()
	e, fake, t0 := fakeEnv(t, func(e *env, t0 time.Time) {
		e.addNode("n1", v1.ConditionTrue)
		e.addNode("n2", v1.ConditionTrue)
		e.renew("n1", t0)
		e.renew("n2", t0.Add(5*time.Second))
		e.addPod("other", "n1", nil)
		e.addPod("web", "n2", nil)
		e.addPod("short", "n2", func(p *v1.Pod) {
			p.Spec.Tolerations = []v1.Toleration{toleration(v1.TaintNodeUnreachable, ptr(int64(10)))}
		})
		e.addPod("forever", "n2", func(p *v1.Pod) {
			p.Spec.Tolerations = []v1.Toleration{toleration(v1.TaintNodeUnreachable, nil)}
		})
		e.addPod("db-0", "n2", ownedBy("kennel.io/v1", "PetSet"))
		e.addPod("sts-0", "n2", ownedBy("apps/v1", "StatefulSet"))
		// An orphaned pet (its set deleted with the Orphan policy) keeps
		// its identity: the re-created set adopts it.
		e.addPod("kept-0", "n2", func(p *v1.Pod) { p.Labels = map[string]string{v1.PetSetPodNameLabel: "kept-0"} })
	})

	expireN2KeepingN1(t, e, fake, t0)
	evictN2Pods(t, e, fake)

	// The agent comes back: it renews its lease and posts Ready True
	// (again whenever it sees it is not). The taint goes.
	e.renew("n2", fake.Now())
	testcluster.Eventually(t, wait, "the unreachable taint to be removed", func() bool {
		n := e.node("n2")
		if nodeReady(n) != v1.ConditionTrue {
			e.postReady("n2", v1.ConditionTrue)
			return false
		}
		return taint(n, v1.TaintNodeUnreachable) == nil
	})
}

// expireN2KeepingN1 lets n2's lease expire while n1's agent renews: n2
// goes Unknown and its pods not Ready, n1 stays.
func expireN2KeepingN1(t *testing.T, e *env, fake *clock.Fake, t0 time.Time) {
	t.Helper()
	// n1's agent renews at t0+10s; n2's last renewal was at t0+5s. At
	// t0+26s n2 is past its grace period and n1 is not. n1's first
	// deadline (t0+20s) comes before n2's, so n1 is judged first: by the
	// time n2 is Unknown, n1 has been looked at after its renewal.
	fake.Advance(10 * time.Second)
	e.renew("n1", t0.Add(10*time.Second))
	fake.Advance(16 * time.Second)
	testcluster.Eventually(t, wait, "n2 to be Unknown and tainted unreachable", func() bool {
		n := e.node("n2")
		return nodeReady(n) == v1.ConditionUnknown && taint(n, v1.TaintNodeUnreachable) != nil
	})
	n2 := e.node("n2")
	if c := readyOf(n2); c.Reason != v1.NodeReasonNodeStatusUnknown || c.Message != "Kennel agent stopped posting node status." {
		t.Errorf("Ready condition = %+v", c)
	}
	if got := taint(n2, v1.TaintNodeUnreachable).TimeAdded; got == nil || !got.Equal(t0.Add(26*time.Second)) {
		t.Errorf("taint timeAdded = %v, want t0+26s on the controller's clock", got)
	}
	if n1 := e.node("n1"); nodeReady(n1) != v1.ConditionTrue || taint(n1, v1.TaintNodeUnreachable) != nil {
		t.Fatalf("n1, whose lease was renewed, was marked unreachable: %+v", n1.Status.Conditions)
	}
	testcluster.Eventually(t, wait, "pods on n2 to be marked not Ready", func() bool {
		for _, name := range []string{"web", "short", "forever", "db-0", "sts-0"} {
			if !podMarkedNotReady(e.pod(name)) {
				return false
			}
		}
		return true
	})
	if !v1.IsPodReady(e.pod("other")) {
		t.Error("a pod on the live node n1 was marked not Ready")
	}
	testcluster.Eventually(t, wait, "NodeNotReady events for the node and its pod", func() bool {
		return e.hasEvent("default", "n2", nodelifecycle.ReasonNodeNotReady) && e.hasEvent("default", "web", nodelifecycle.ReasonNodeNotReady)
	})
}

// evictN2Pods advances past the pods' tolerations of the unreachable
// taint, added at t0+26s: each pod goes when its own runs out, and pets
// and pods tolerating it for ever stay.
func evictN2Pods(t *testing.T, e *env, fake *clock.Fake) {
	t.Helper()
	// short tolerates 10s: evicted at t0+36s; web, tolerating nothing,
	// waits the 30s eviction timeout.
	fake.Advance(10 * time.Second)
	testcluster.Eventually(t, wait, "short to be evicted after its toleration", func() bool { return deleting(e.pod("short")) })
	if deleting(e.pod("web")) {
		t.Fatal("web evicted before the eviction timeout")
	}
	fake.Advance(20 * time.Second)
	testcluster.Eventually(t, wait, "web to be evicted after the eviction timeout", func() bool { return deleting(e.pod("web")) })
	// The event follows the eviction; wait for it rather than race it.
	testcluster.Eventually(t, wait, "a TaintManagerEviction event for web", func() bool {
		return e.hasEvent("default", "web", nodelifecycle.ReasonTaintManagerEviction)
	})

	// Long after, a witness pod without tolerations is evicted at once;
	// the pets and the pod tolerating for ever stay.
	fake.Advance(time.Hour)
	e.addPod("witness", "n2", nil)
	testcluster.Eventually(t, wait, "the witness to be evicted", func() bool { return deleting(e.pod("witness")) })
	for _, name := range []string{"forever", "db-0", "sts-0", "kept-0"} {
		if deleting(e.pod(name)) {
			t.Errorf("%s was evicted", name)
		}
	}
}

func TestNodeWithoutLeaseIsJudgedFromItsCreation(t *testing.T) {
	t.Parallel()
	e, fake, _ := fakeEnv(t, func(e *env, t0 time.Time) {
		e.addNode("silent", v1.ConditionTrue)
	})
	fake.Advance(25 * time.Second) // creation is stamped on the real clock, a moment after t0
	testcluster.Eventually(t, wait, "a node that never got a lease to be Unknown", func() bool {
		n := e.node("silent")
		return nodeReady(n) == v1.ConditionUnknown && taint(n, v1.TaintNodeUnreachable) != nil
	})
}

func TestNotReadyNodeIsTaintedNotReady(t *testing.T) {
	t.Parallel()
	e, fake, _ := fakeEnv(t, func(e *env, t0 time.Time) {
		e.addNode("sick", v1.ConditionFalse)
		e.renew("sick", t0)
		e.addPod("web", "sick", nil)
	})
	testcluster.Eventually(t, wait, "the not-ready taint", func() bool {
		n := e.node("sick")
		return taint(n, v1.TaintNodeNotReady) != nil && taint(n, v1.TaintNodeUnreachable) == nil
	})
	testcluster.Eventually(t, wait, "its pod to be marked not Ready", func() bool { return podMarkedNotReady(e.pod("web")) })
	if readyOf(e.node("sick")).Status != v1.ConditionFalse {
		t.Error("the agent's Ready False was overwritten while its lease is fresh")
	}

	// The agent recovers before the eviction timeout: the taint goes and
	// the pod stays.
	fake.Advance(10 * time.Second)
	e.renew("sick", fake.Now())
	e.postReady("sick", v1.ConditionTrue)
	testcluster.Eventually(t, wait, "the not-ready taint to be removed", func() bool {
		return taint(e.node("sick"), v1.TaintNodeNotReady) == nil
	})
	if deleting(e.pod("web")) {
		t.Error("a pod was evicted from a node that recovered")
	}
}

func ptr[T any](v T) *T { return &v }

package scheduler

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

func cacheNode(name string) *v1.Node {
	return &v1.Node{ObjectMeta: v1.ObjectMeta{Name: name}, Status: v1.NodeStatus{Allocatable: v1.ResourceList{
		v1.ResourceCPU: resource.MustParse("4"), v1.ResourcePods: resource.MustParse("10"),
	}}}
}

func cachePod(name, uid, node, cpu string) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: v1.ObjectMeta{Name: name, Namespace: "ns", UID: uid},
		Spec: v1.PodSpec{NodeName: node, Containers: []v1.Container{{Name: "c", Resources: v1.ResourceRequirements{
			Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu)}}}}},
	}
}

// requested returns each snapshot node's requested millicores and pods.
func requested(snap []*framework.NodeInfo) map[string][2]int64 {
	out := map[string][2]int64{}
	for _, n := range snap {
		out[n.Name()] = [2]int64{n.Requested.MilliCPU, n.Requested.Pods}
	}
	return out
}

func TestCacheAssumeConfirmForget(t *testing.T) {
	c := newCache()
	c.setNode(cacheNode("b"))
	c.setNode(cacheNode("a"))
	pending := cachePod("p", "u1", "", "1")
	c.assume(pending, "a")
	if !c.isAssumed(pending) {
		t.Fatal("pod not assumed after assume")
	}
	if pending.Spec.NodeName != "" {
		t.Fatal("assume changed the informer's pod")
	}
	before := c.snapshot()
	if got := requested(before); got["a"] != [2]int64{1000, 1} || got["b"] != [2]int64{0, 0} {
		t.Fatalf("after assume: %v", got)
	}
	if before[0].Name() != "a" || before[1].Name() != "b" {
		t.Fatalf("snapshot not sorted: %s, %s", before[0].Name(), before[1].Name())
	}

	// The informer shows the binding: confirmed, and a late forget keeps it.
	c.setPod(cachePod("p", "u1", "a", "1"))
	if c.isAssumed(pending) {
		t.Fatal("pod still assumed after the informer showed it bound")
	}
	c.forget(pending)
	if got := requested(c.snapshot()); got["a"] != [2]int64{1000, 1} {
		t.Fatalf("forget dropped a confirmed pod: %v", got)
	}

	// A failed binding is forgotten.
	other := cachePod("q", "u2", "", "2")
	c.assume(other, "b")
	c.forget(other)
	if got := requested(c.snapshot()); got["b"] != [2]int64{0, 0} {
		t.Fatalf("forget kept an assumed pod: %v", got)
	}
	// A namesake with another UID is not the assumed pod.
	c.assume(other, "b")
	if c.isAssumed(cachePod("q", "u3", "", "2")) {
		t.Fatal("a namesake counts as assumed")
	}

	// Snapshots taken earlier do not change.
	if got := requested(before); got["a"] != [2]int64{1000, 1} || got["b"] != [2]int64{0, 0} {
		t.Fatalf("an old snapshot changed: %v", got)
	}
}

func TestCacheNodesComeAndGo(t *testing.T) {
	c := newCache()
	// Pods bound to a node the cache does not know yet count once it comes.
	c.setPod(cachePod("p", "u1", "late", "1"))
	if n := len(c.snapshot()); n != 0 {
		t.Fatalf("snapshot has %d nodes before any node is known", n)
	}
	c.setNode(cacheNode("late"))
	if got := requested(c.snapshot()); got["late"] != [2]int64{1000, 1} {
		t.Fatalf("after the node came: %v", got)
	}
	c.removeNode("late")
	if n := len(c.snapshot()); n != 0 {
		t.Fatalf("removed node still in the snapshot (%d nodes)", n)
	}
	c.setNode(cacheNode("late"))
	if got := requested(c.snapshot()); got["late"] != [2]int64{1000, 1} {
		t.Fatalf("after the node came back: %v", got)
	}
	// A pod moving nodes (deleted and recreated under one name) moves.
	c.setPod(cachePod("p", "u2", "other", "1"))
	c.setNode(cacheNode("other"))
	if got := requested(c.snapshot()); got["late"] != [2]int64{0, 0} || got["other"] != [2]int64{1000, 1} {
		t.Fatalf("after the pod moved: %v", got)
	}
	c.removePod(cachePod("p", "u2", "other", "1"))
	if got := requested(c.snapshot()); got["other"] != [2]int64{0, 0} {
		t.Fatalf("after the pod went: %v", got)
	}
}

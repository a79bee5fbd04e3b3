package nodeipam_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
	"github.com/kennel-dev/kennel/internal/controller/nodeipam"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

const wait = 60 * time.Second

type env struct {
	t     *testing.T
	ctx   context.Context
	tc    *testcluster.Cluster
	nodes *client.Resource[*v1.Node]
}

func newEnv(t *testing.T) *env {
	t.Helper()
	tc := testcluster.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return &env{t: t, ctx: ctx, tc: tc, nodes: client.For[*v1.Node](tc.Admin, "")}
}

// run starts the controller; it stops when the test ends.
func (e *env) run() {
	e.t.Helper()
	c, err := nodeipam.New(e.tc.Admin, testcluster.FailureLog(e.t, 100), controller.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, stop := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	e.t.Cleanup(func() { stop(); <-done })
}

func (e *env) addNode(name, podCIDR string) {
	e.t.Helper()
	if _, err := e.nodes.Create(e.ctx, &v1.Node{ObjectMeta: v1.ObjectMeta{Name: name}, Spec: v1.NodeSpec{PodCIDR: podCIDR}}); err != nil {
		e.t.Fatal(err)
	}
}

// ranges waits until every named node has a pod range and returns them.
func (e *env) ranges(names ...string) map[string]string {
	e.t.Helper()
	got := map[string]string{}
	testcluster.Eventually(e.t, wait, "pod ranges of "+strings.Join(names, ", "), func() bool {
		for _, name := range names {
			n, err := e.nodes.Get(e.ctx, name)
			if err != nil || n.Spec.PodCIDR == "" {
				return false
			}
			got[name] = n.Spec.PodCIDR
		}
		return true
	})
	return got
}

func (e *env) events(reason string) []*v1.Event {
	e.t.Helper()
	l, err := client.For[*v1.Event](e.tc.Admin, "default").List(e.ctx, client.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []*v1.Event
	for _, ev := range l.Items {
		if ev.Reason == reason {
			out = append(out, ev)
		}
	}
	return out
}

func TestNodesGetTheLowestFreeLoopbackRanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Set by `kennel up --nodes N` before the controller runs: kept, and
	// its range is not handed out again.
	e.addNode("preset", "127.2.0.0/16")
	e.run()
	for _, n := range []string{"a", "b", "c"} {
		e.addNode(n, "")
	}
	got := e.ranges("preset", "a", "b", "c")
	if got["preset"] != "127.2.0.0/16" {
		t.Errorf("preset node's range changed to %s", got["preset"])
	}
	var assigned []string
	for _, n := range []string{"a", "b", "c"} {
		assigned = append(assigned, got[n])
		node, err := e.nodes.Get(e.ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(node.Spec.PodCIDRs, []string{node.Spec.PodCIDR}) {
			t.Errorf("node %s: podCIDRs %v, want [%s]", n, node.Spec.PodCIDRs, node.Spec.PodCIDR)
		}
	}
	slices.Sort(assigned)
	if want := []string{"127.1.0.0/16", "127.3.0.0/16", "127.4.0.0/16"}; !slices.Equal(assigned, want) {
		t.Fatalf("assigned ranges %v, want %v (distinct, lowest free, skipping the preset 127.2)", assigned, want)
	}

	// A deleted node's range is free again and goes to the next node.
	var freed string
	for n, r := range got {
		if r == "127.1.0.0/16" {
			freed = n
		}
	}
	if _, err := e.nodes.Delete(e.ctx, freed, client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.addNode("d", "")
	if r := e.ranges("d")["d"]; r != "127.1.0.0/16" {
		t.Errorf("new node got %s, want the freed 127.1.0.0/16", r)
	}
	for _, n := range []string{"preset", "a", "b", "c"} {
		if n == freed {
			continue
		}
		if r := e.ranges(n)[n]; r != got[n] {
			t.Errorf("node %s was reassigned from %s to %s", n, got[n], r)
		}
	}
}

func TestOverlappingRangesAreReportedNotFixed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addNode("x", "127.5.0.0/16")
	e.addNode("y", "127.5.0.0/16")
	e.run()
	testcluster.Eventually(t, wait, "overlap events about both nodes", func() bool {
		about := map[string]bool{}
		for _, ev := range e.events(nodeipam.ReasonPodCIDROverlap) {
			about[ev.InvolvedObject.Name] = true
		}
		return about["x"] && about["y"]
	})
	if got := e.ranges("x", "y"); got["x"] != "127.5.0.0/16" || got["y"] != "127.5.0.0/16" {
		t.Errorf("overlapping ranges were changed: %v", got)
	}
	e.addNode("z", "")
	if r := e.ranges("z")["z"]; r != "127.1.0.0/16" {
		t.Errorf("z got %s, want 127.1.0.0/16", r)
	}
	if n := len(e.events(nodeipam.ReasonPodCIDROverlap)); n != 2 {
		t.Errorf("%d overlap events, want one per node however often they are synced", n)
	}
}

func TestNoFreeRangeIsReported(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addNode("greedy", "127.0.0.0/8") // overlaps every 127.i.0.0/16
	e.run()
	e.addNode("late", "")
	testcluster.Eventually(t, wait, "a CIDRNotAvailable event", func() bool {
		evs := e.events(nodeipam.ReasonCIDRNotAvailable)
		return len(evs) == 1 && evs[0].InvolvedObject.Name == "late"
	})
	if n, err := e.nodes.Get(e.ctx, "late"); err != nil {
		t.Fatal(err)
	} else if n.Spec.PodCIDR != "" {
		t.Fatalf("late node got %s while no range was free", n.Spec.PodCIDR)
	}
	// Once the greedy node goes, the waiting node gets a range.
	if _, err := e.nodes.Delete(e.ctx, "greedy", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if r := e.ranges("late")["late"]; r != "127.1.0.0/16" {
		t.Errorf("late got %s, want 127.1.0.0/16", r)
	}
}

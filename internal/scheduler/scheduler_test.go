package scheduler_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/scheduler"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

func TestBindsToTheNodeThatFits(t *testing.T) {
	e := newEnv(t)
	// "roomy" has far more cpu free and would win on score; only "tight"
	// has the memory.
	e.addNode(nodeSpec{name: "roomy", cpu: "16", memory: "1Gi"})
	e.addNode(nodeSpec{name: "tight", cpu: "2", memory: "4Gi"})
	e.run(scheduler.Config{})
	other := newPod("for-another-scheduler", "100m", "64Mi")
	other.Spec.SchedulerName = "gpu-scheduler"
	e.createPod(other)
	e.createPod(newPod("db", "100m", "2Gi"))
	if node := e.waitBound("db"); node != "tight" {
		t.Fatalf("db bound to %s, want tight", node)
	}
	// Created first, so it was not merely not reached yet.
	if p := e.getPod("for-another-scheduler"); p.Spec.NodeName != "" || len(p.Status.Conditions) != 0 {
		t.Fatalf("a pod of another scheduler was touched: node %q, conditions %+v", p.Spec.NodeName, p.Status.Conditions)
	}
}

func TestSpreadsAcrossEqualNodes(t *testing.T) {
	e := newEnv(t)
	e.addNode(nodeSpec{name: "a", cpu: "4", memory: "8Gi"})
	e.addNode(nodeSpec{name: "b", cpu: "4", memory: "8Gi"})
	e.run(scheduler.Config{})
	for i := range 4 {
		e.createPod(newPod(fmt.Sprintf("web-%d", i), "1", "1Gi"))
	}
	perNode := map[string]int{}
	for i := range 4 {
		perNode[e.waitBound(fmt.Sprintf("web-%d", i))]++
	}
	if perNode["a"] != 2 || perNode["b"] != 2 {
		t.Fatalf("pods per node = %v, want 2 on a and 2 on b", perNode)
	}
}

func TestInsufficientMemoryIsExplained(t *testing.T) {
	e := newEnv(t)
	e.addNode(nodeSpec{name: "n1", cpu: "4", memory: "1Gi"})
	e.addNode(nodeSpec{name: "n2", cpu: "4", memory: "1Gi"})
	e.addNode(nodeSpec{name: "n3", cpu: "4", memory: "64Gi", notReady: true})
	e.run(scheduler.Config{})
	pod := e.createPod(newPod("big", "1", "2Gi"))

	const want = "0/3 nodes are available: 2 Insufficient memory, 1 node is not ready."
	e.waitUnschedulable("big", is(want))
	var ev *v1.Event
	testcluster.Eventually(t, waitFor, "a FailedScheduling event", func() bool {
		evs := e.failedScheduling(pod)
		if len(evs) == 1 {
			ev = evs[0]
		}
		return ev != nil
	})
	if ev.Type != v1.EventTypeWarning || ev.Message != want || ev.InvolvedObject.Kind != "Pod" ||
		ev.InvolvedObject.Name != "big" || ev.Source.Component != v1.DefaultSchedulerName || ev.Count < 1 {
		t.Fatalf("event = %+v", ev)
	}

	// A node change retries the pod at once; the repeat is counted on the
	// same event, not written as a new one.
	n1, err := e.nodes().Get(e.ctx, "n1")
	if err != nil {
		t.Fatal(err)
	}
	n1.Labels = map[string]string{"touched": "yes"}
	if _, err := e.nodes().Update(e.ctx, n1); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, waitFor, "the event to be counted again", func() bool {
		evs := e.failedScheduling(pod)
		if len(evs) != 1 {
			t.Fatalf("%d FailedScheduling events for one message, want 1", len(evs))
		}
		return evs[0].Count > ev.Count
	})
}

func TestImagePodsNeedAnImageRuntime(t *testing.T) {
	e := newEnv(t)
	e.addNode(nodeSpec{name: "proc", cpu: "4", memory: "8Gi", labels: map[string]string{v1.LabelRuntimeImages: "false"}})
	e.run(scheduler.Config{})
	p := newPod("redis", "100m", "64Mi")
	p.Spec.Containers[0].Image = "redis:7"
	e.createPod(p)
	e.waitUnschedulable("redis", containing("node's runtime cannot run images"))

	// Once the node says it can run images, the pod goes there.
	node, err := e.nodes().Get(e.ctx, "proc")
	if err != nil {
		t.Fatal(err)
	}
	node.Labels[v1.LabelRuntimeImages] = "true"
	if _, err := e.nodes().Update(e.ctx, node); err != nil {
		t.Fatal(err)
	}
	if got := e.waitBound("redis"); got != "proc" {
		t.Fatalf("redis bound to %s, want proc", got)
	}
}

func TestNodeAddedLaterTakesThePendingPod(t *testing.T) {
	// A long back-off shows the retry comes from the node, not the timer.
	e := newEnv(t)
	e.run(scheduler.Config{InitialBackoff: time.Minute, MaxBackoff: time.Minute})
	e.createPod(newPod("early", "500m", "256Mi"))
	e.waitUnschedulable("early", is(framework.NoNodesMessage))
	e.addNode(nodeSpec{name: "late", cpu: "1", memory: "1Gi"})
	if got := e.waitBound("early"); got != "late" {
		t.Fatalf("early bound to %s, want late", got)
	}
}

func TestCordonedNodeIsNotUsed(t *testing.T) {
	e := newEnv(t)
	e.addNode(nodeSpec{name: "cordoned", cpu: "16", memory: "64Gi", unschedulable: true})
	e.addNode(nodeSpec{name: "open", cpu: "2", memory: "2Gi"})
	e.run(scheduler.Config{})
	e.createPod(newPod("app", "100m", "64Mi"))
	if got := e.waitBound("app"); got != "open" {
		t.Fatalf("app bound to %s, want open", got)
	}
	// A pod that tolerates the cordon may go there, and does: it is the
	// emptier node.
	tolerant := newPod("drain-helper", "100m", "64Mi")
	tolerant.Spec.Tolerations = []v1.Toleration{{Key: v1.TaintNodeUnschedulable, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoSchedule}}
	e.createPod(tolerant)
	if got := e.waitBound("drain-helper"); got != "cordoned" {
		t.Fatalf("drain-helper bound to %s, want cordoned", got)
	}
	// Too big for "open": the cordoned node is not an option.
	e.createPod(newPod("huge", "4", "64Mi"))
	e.waitUnschedulable("huge", is("0/2 nodes are available: 1 Insufficient cpu, 1 node is unschedulable."))
}

func TestTaintsAndTolerations(t *testing.T) {
	e := newEnv(t)
	e.addNode(nodeSpec{name: "db-node", cpu: "4", memory: "8Gi",
		taints: []v1.Taint{{Key: "dedicated", Value: "db", Effect: v1.TaintEffectNoSchedule}}})
	e.run(scheduler.Config{})
	e.createPod(newPod("web", "100m", "64Mi"))
	e.waitUnschedulable("web", is("0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: db}."))
	db := newPod("db", "100m", "64Mi")
	db.Spec.Tolerations = []v1.Toleration{{Key: "dedicated", Operator: v1.TolerationOpEqual, Value: "db", Effect: v1.TaintEffectNoSchedule}}
	e.createPod(db)
	if got := e.waitBound("db"); got != "db-node" {
		t.Fatalf("db bound to %s, want db-node", got)
	}
	if p := e.getPod("web"); p.Spec.NodeName != "" {
		t.Fatalf("web bound to %s despite the taint", p.Spec.NodeName)
	}
}

// TestBurstNeverOverCommits creates 20 one-cpu pods at once for a node
// with 10 cpus. Each decision must count the pods placed just before it,
// whose bindings the informer has not shown yet; a binding is permanent,
// so 10 bound at the end means never more than 10.
func TestBurstNeverOverCommits(t *testing.T) {
	e := newEnv(t)
	e.addNode(nodeSpec{name: "n", cpu: "10", memory: "64Gi"})
	e.run(scheduler.Config{Workers: 4})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if _, err := e.pods().Create(e.ctx, newPod(fmt.Sprintf("burst-%02d", i), "1", "64Mi")); err != nil {
				t.Errorf("create burst-%02d: %v", i, err)
			}
		})
	}
	wg.Wait()
	var bound, waiting []string
	testcluster.Eventually(t, waitFor, "every pod bound or unschedulable", func() bool {
		bound, waiting = e.split()
		return len(bound)+len(waiting) == 20
	})
	if len(bound) != 10 {
		t.Fatalf("%d pods bound to a node with room for 10: %v", len(bound), bound)
	}
	for _, name := range waiting {
		e.waitUnschedulable(name, is(noCPU))
	}

	// A pod that goes frees its cpu for exactly one waiting pod.
	if _, err := e.pods().Delete(e.ctx, bound[0], client.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, waitFor, "a waiting pod to take the freed cpu", func() bool {
		b, _ := e.split()
		return len(b) == 10 && !contains(b, bound[0])
	})
	if b, w := e.split(); len(b) != 10 || len(w) != 9 {
		t.Fatalf("after the deletion: %d bound, %d unschedulable; want 10 and 9", len(b), len(w))
	}
}

const noCPU = "0/1 nodes are available: 1 Insufficient cpu."

// split lists the burst pods bound, and those marked unschedulable for
// want of cpu.
func (e *env) split() (bound, waiting []string) {
	e.t.Helper()
	list, err := e.pods().ListAll(e.ctx, client.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, p := range list.Items {
		if !strings.HasPrefix(p.Name, "burst-") {
			continue
		}
		if p.Spec.NodeName != "" {
			bound = append(bound, p.Name)
		} else if c := v1.GetPodCondition(&p.Status, v1.PodScheduled); c != nil && c.Status == v1.ConditionFalse && c.Message == noCPU {
			waiting = append(waiting, p.Name)
		}
	}
	return bound, waiting
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

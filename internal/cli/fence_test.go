package cli_test

import (
	"slices"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

const fencedTaint = "node.kennel.io/fenced"

// setNodeReady sets the node's Ready condition, as its agent would.
func (e *env) setNodeReady(name string, status v1.ConditionStatus) {
	e.t.Helper()
	nodes := client.For[*v1.Node](e.tc.Admin, "")
	n, err := nodes.Get(e.ctx(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	n.Status.Conditions = []v1.NodeCondition{{Type: v1.NodeReady, Status: status, LastHeartbeatTime: v1.Now()}}
	if _, err := nodes.UpdateStatus(e.ctx(), n); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) node(name string) *v1.Node {
	e.t.Helper()
	n, err := client.For[*v1.Node](e.tc.Admin, "").Get(e.ctx(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// taintKeys lists the node's taints as key=value:effect.
func taintKeys(n *v1.Node) []string {
	var out []string
	for _, t := range n.Spec.Taints {
		out = append(out, t.Key+"="+t.Value+":"+string(t.Effect))
	}
	return out
}

// podsOn lists the keys of the pods bound to node.
func (e *env) podsOn(node string) []string {
	e.t.Helper()
	l, err := client.For[*v1.Pod](e.tc.Admin, "").ListAll(e.ctx(), client.ListOptions{FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, p := range l.Items {
		out = append(out, v1.ObjectKey(p))
	}
	return out
}

func TestFenceRemovesTheNodesPodsAtOnceAndUnfenceUndoesIt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addNode("n1")
	e.addNode("n2")
	e.setNodeReady("n1", v1.ConditionUnknown)
	if _, err := client.For[*v1.Namespace](e.tc.Admin, "").Create(e.ctx(), &v1.Namespace{ObjectMeta: v1.ObjectMeta{Name: "team"}}); err != nil {
		t.Fatal(err)
	}
	// Pods with long grace periods, and one already terminating: with no
	// agent to confirm they stopped, only a grace-0 delete removes them.
	e.boundPod("default", "db-0", "n1", "PetSet")
	e.boundPod("team", "worker", "n1", "")
	long := int64(600)
	pods := client.For[*v1.Pod](e.tc.Admin, "default")
	slow := &v1.Pod{ObjectMeta: v1.ObjectMeta{Name: "slow"}, Spec: v1.PodSpec{NodeName: "n1", TerminationGracePeriodSeconds: &long,
		Containers: []v1.Container{{Name: "main", Command: []string{"sleep", "1000"}}}}}
	if _, err := pods.Create(e.ctx(), slow); err != nil {
		t.Fatal(err)
	}
	if p, err := pods.Delete(e.ctx(), "slow", client.DeleteOptions{}); err != nil || p.DeletionTimestamp == nil {
		t.Fatalf("slow pod not terminating: %v", err)
	}
	e.boundPod("default", "elsewhere", "n2", "")
	nodes := client.For[*v1.Node](e.tc.Admin, "")
	n1 := e.node("n1")
	n1.Spec.Taints = []v1.Taint{{Key: "example.com/disk", Value: "ssd", Effect: v1.TaintEffectNoSchedule}}
	if _, err := nodes.Update(e.ctx(), n1); err != nil {
		t.Fatal(err)
	}

	out := e.mustRun("node", "fence", "n1")
	wantContains(t, "node fence", out, "node/n1 cordoned and tainted "+fencedTaint+"=true:NoExecute",
		"pod default/db-0 removed", "pod default/slow removed", "pod team/worker removed", "node/n1 fenced: 3 pods removed")
	// Gone at once: no wait, no agent.
	if got := e.podsOn("n1"); len(got) != 0 {
		t.Errorf("pods still on the fenced node: %v", got)
	}
	if got := e.podsOn("n2"); !slices.Equal(got, []string{"default/elsewhere"}) {
		t.Errorf("pods on n2 = %v, want default/elsewhere untouched", got)
	}
	n1 = e.node("n1")
	wantTaints := []string{"example.com/disk=ssd:NoSchedule", fencedTaint + "=true:NoExecute"}
	if !n1.Spec.Unschedulable || !slices.Equal(taintKeys(n1), wantTaints) {
		t.Errorf("fenced node: unschedulable %v, taints %v; want true, %v", n1.Spec.Unschedulable, taintKeys(n1), wantTaints)
	}

	wantLines(t, "fence again", e.mustRun("node", "fence", "n1"),
		"node/n1 cordoned and tainted "+fencedTaint+"=true:NoExecute", "node/n1 fenced: 0 pods removed")
	if got := taintKeys(e.node("n1")); !slices.Equal(got, wantTaints) {
		t.Errorf("after fencing twice, taints %v, want %v", got, wantTaints)
	}

	wantLines(t, "unfence", e.mustRun("node", "unfence", "n1"), "node/n1 unfenced: taint "+fencedTaint+" removed, uncordoned")
	n1 = e.node("n1")
	if n1.Spec.Unschedulable || !slices.Equal(taintKeys(n1), wantTaints[:1]) {
		t.Errorf("unfenced node: unschedulable %v, taints %v; want false, only the operator's own", n1.Spec.Unschedulable, taintKeys(n1))
	}
	wantLines(t, "unfence again", e.mustRun("node", "unfence", "n1"), "node/n1 already unfenced")
	wantContains(t, "fence of a missing node", e.mustFail("node", "fence", "nope"), "node fence: node nope", "not found")
}

func TestFenceRefusesAReadyNodeUnlessForced(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addNode("live")
	e.setNodeReady("live", v1.ConditionTrue)
	e.boundPod("default", "db-1", "live", "PetSet")

	errOut := e.mustFail("node", "fence", "live")
	wantContains(t, "fence of a Ready node", errOut, "node live is Ready", "twice", "--force")
	if n := e.node("live"); n.Spec.Unschedulable || len(n.Spec.Taints) != 0 {
		t.Errorf("a refused fence changed the node: %+v", n.Spec)
	}
	if got := e.podsOn("live"); !slices.Equal(got, []string{"default/db-1"}) {
		t.Errorf("a refused fence removed pods: left %v", got)
	}

	wantContains(t, "fence --force", e.mustRun("node", "fence", "live", "--force"), "pod default/db-1 removed", "node/live fenced: 1 pod removed")
	if got := e.podsOn("live"); len(got) != 0 {
		t.Errorf("pods still on the force-fenced node: %v", got)
	}
}

func TestFenceReportsPodsHeldByFinalizers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addNode("n1")
	e.boundPod("default", "free", "n1", "")
	held := &v1.Pod{ObjectMeta: v1.ObjectMeta{Name: "held", Finalizers: []string{"example.com/hold"}},
		Spec: v1.PodSpec{NodeName: "n1", Containers: []v1.Container{{Name: "main", Command: []string{"sleep", "1000"}}}}}
	if _, err := client.For[*v1.Pod](e.tc.Admin, "default").Create(e.ctx(), held); err != nil {
		t.Fatal(err)
	}
	r := e.run("node", "fence", "n1")
	if r.code == 0 {
		t.Fatalf("fence succeeded though a finalizer holds a pod:\n%s", r.out)
	}
	wantContains(t, "fence stdout", r.out, "pod default/free removed",
		"pod default/held marked for deletion, held by finalizers example.com/hold", "node/n1 fenced: 1 pod removed")
	wantContains(t, "fence stderr", r.err, "1 pod not removed, held by finalizers: default/held (example.com/hold)")
	p, err := client.For[*v1.Pod](e.tc.Admin, "default").Get(e.ctx(), "held")
	if err != nil || p.DeletionTimestamp == nil {
		t.Errorf("held pod: %v, want marked for deletion", err)
	}
}

func TestNodeCommandHelpWarnsOfRunningAPetTwice(t *testing.T) {
	t.Parallel()
	e := &env{t: t, config: "/nonexistent"}
	wantContains(t, "node fence --help", e.mustRun("node", "fence", "--help"),
		"Examples:", "kennel node fence n2", "at most once", "two copies of one identity", "--force")
	wantContains(t, "node unfence --help", e.mustRun("node", "unfence", "--help"), "kennel node unfence n2")
}

package cli_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// boundPod creates a pod bound to node, controlled by an owner of kind
// ownerKind ("" for none), in namespace ns.
func (e *env) boundPod(ns, name, node, ownerKind string) *v1.Pod {
	e.t.Helper()
	p := &v1.Pod{
		ObjectMeta: v1.ObjectMeta{Name: name},
		Spec:       v1.PodSpec{NodeName: node, Containers: []v1.Container{{Name: "main", Command: []string{"sleep", "1000"}}}},
	}
	if ownerKind != "" {
		yes := true
		p.OwnerReferences = []v1.OwnerReference{{APIVersion: "kennel.io/v1", Kind: ownerKind, Name: "owner", UID: "uid-of-owner", Controller: &yes}}
	}
	p, err := client.For[*v1.Pod](e.tc.Admin, ns).Create(e.ctx(), p)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// agentLog is what the fake agent saw: the pods it was asked to stop, in
// order, with the grace period each was given, and the most pods it was
// ever asked to stop at once.
type agentLog struct {
	mu             sync.Mutex
	stopped        []string
	grace          map[string]int64
	maxTerminating int
}

func (a *agentLog) result() ([]string, map[string]int64, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.stopped), a.grace, a.maxTerminating
}

// agentStopTime is how long the fake agent takes to stop a pod's
// processes: long enough for a drain that does not wait to mark the next
// pod meanwhile.
const agentStopTime = 200 * time.Millisecond

// fakeAgent plays node's agent at the process-launch seam: when one of
// the node's pods is marked for deletion it "stops its processes", which
// takes agentStopTime, and confirms with a delete of grace 0, as the real
// agent does once they have exited.
func (e *env) fakeAgent(node string) *agentLog {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := client.For[*v1.Pod](e.tc.Admin, "").Watch(ctx, client.ListOptions{FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	log := &agentLog{grace: map[string]int64{}}
	done := make(chan struct{})
	e.t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		handled := map[string]bool{}
		var stopping *v1.Pod
		var stopped <-chan time.Time
		for {
			select {
			case ev, ok := <-w.Events():
				p := ev.Object
				if !ok {
					return
				}
				if ev.Type != client.Modified || p.DeletionTimestamp == nil || handled[p.UID] {
					continue
				}
				handled[p.UID] = true
				log.record(p, stopping != nil)
				if stopping != nil {
					confirmStopped(ctx, e.tc.Admin, stopping)
				}
				stopping, stopped = p, time.After(agentStopTime)
			case <-stopped:
				confirmStopped(ctx, e.tc.Admin, stopping)
				stopping, stopped = nil, nil
			}
		}
	}()
	return log
}

func (a *agentLog) record(p *v1.Pod, another bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stopped = append(a.stopped, v1.ObjectKey(p))
	if p.DeletionGracePeriodSeconds != nil {
		a.grace[v1.ObjectKey(p)] = *p.DeletionGracePeriodSeconds
	}
	n := 1
	if another {
		n = 2
	}
	a.maxTerminating = max(a.maxTerminating, n)
}

// confirmStopped deletes the pod with grace 0, as the agent does once its
// processes have exited.
func confirmStopped(ctx context.Context, c *client.Client, p *v1.Pod) {
	zero := int64(0)
	uid := p.UID
	_, _ = client.For[*v1.Pod](c, p.Namespace).Delete(ctx, p.Name, client.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &client.Preconditions{UID: &uid}})
}

func TestDrainEvictsPodsOneAtATimePetsLastHighestOrdinalFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addNode("n1")
	e.addNode("n2")
	if _, err := client.For[*v1.Namespace](e.tc.Admin, "").Create(e.ctx(), &v1.Namespace{ObjectMeta: v1.ObjectMeta{Name: "team"}}); err != nil {
		t.Fatal(err)
	}
	e.boundPod("default", "db-0", "n1", "PetSet")
	e.boundPod("default", "db-2", "n1", "PetSet")
	e.boundPod("default", "cache-1", "n1", "StatefulSet")
	e.boundPod("default", "db-1", "n1", "PetSet")
	e.boundPod("default", "cache-0", "n1", "StatefulSet")
	e.boundPod("team", "worker", "n1", "")
	e.boundPod("default", "solo", "n1", "")
	e.boundPod("default", "web-7f9c", "n1", "Deployment")
	e.boundPod("default", "elsewhere", "n2", "")
	want := []string{
		"default/web-7f9c", "default/solo", "team/worker",
		"default/db-2", "default/cache-1", "default/db-1", "default/cache-0", "default/db-0",
	}

	dry := []string{"node/n1 cordoned (dry run)"}
	for _, p := range want {
		dry = append(dry, "evicting pod "+p+" (dry run)")
	}
	wantLines(t, "drain --dry-run", e.mustRun("drain", "n1", "--dry-run"), dry...)
	if e.unschedulable("n1") {
		t.Error("--dry-run cordoned the node")
	}
	if l, err := client.For[*v1.Pod](e.tc.Admin, "").List(e.ctx(), client.ListOptions{}); err != nil || len(l.Items) != 9 {
		t.Fatalf("--dry-run deleted pods: %v", err)
	}

	agent := e.fakeAgent("n1")
	out := e.mustRun("drain", "n1", "--grace-period", "7", "--timeout", "60s")
	lines := []string{"node/n1 cordoned"}
	for _, p := range want {
		lines = append(lines, "evicting pod "+p, "pod "+p+" evicted")
	}
	wantLines(t, "drain", out, append(lines, "node/n1 drained")...)

	stopped, grace, most := agent.result()
	if !slices.Equal(stopped, want) {
		t.Errorf("the agent was asked to stop\n%v\nwant\n%v", stopped, want)
	}
	if most != 1 {
		t.Errorf("up to %d pods were terminating at once, want one at a time", most)
	}
	for _, p := range want {
		if grace[p] != 7 {
			t.Errorf("pod %s deleted with grace %d, want --grace-period 7", p, grace[p])
		}
	}
	if !e.unschedulable("n1") {
		t.Error("drained node is not cordoned")
	}
	if _, err := client.For[*v1.Pod](e.tc.Admin, "default").Get(e.ctx(), "elsewhere"); err != nil {
		t.Errorf("pod on another node: %v", err)
	}
}

func TestDrainWaitsForThePodToBeGone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addNode("n1")
	grace := int64(12)
	pods := client.For[*v1.Pod](e.tc.Admin, "default")
	slow := &v1.Pod{
		ObjectMeta: v1.ObjectMeta{Name: "slow"},
		Spec: v1.PodSpec{NodeName: "n1", TerminationGracePeriodSeconds: &grace,
			Containers: []v1.Container{{Name: "main", Command: []string{"sleep", "1000"}}}},
	}
	if _, err := pods.Create(e.ctx(), slow); err != nil {
		t.Fatal(err)
	}
	// No agent: nothing confirms the pod stopped, so drain must wait for
	// it and give up at its timeout.
	r := e.run("drain", "n1", "--timeout", "2s")
	if r.code == 0 {
		t.Fatalf("drain succeeded while the pod was still terminating:\n%s", r.out)
	}
	wantContains(t, "drain stderr", r.err, "timed out", "pod/slow")
	wantLines(t, "drain stdout", r.out, "node/n1 cordoned", "evicting pod default/slow")
	got, err := pods.Get(e.ctx(), "slow")
	if err != nil {
		t.Fatal(err)
	}
	if got.DeletionTimestamp == nil || got.DeletionGracePeriodSeconds == nil || *got.DeletionGracePeriodSeconds != grace {
		t.Errorf("pod not deleted with its own grace period of %ds: %+v", grace, got.ObjectMeta)
	}
}

package scheduler_test

import (
	"context"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/scheduler"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// waitFor bounds every wait on the cluster. Generous: in CI the race
// run shares two CPUs and one disk with other packages' etcds, loop
// devices and mkfs, and a write has been seen to take most of 30 s.
const waitFor = 60 * time.Second

// env is a control plane and a running scheduler.
type env struct {
	t   *testing.T
	ctx context.Context
	tc  *testcluster.Cluster
}

// newEnv starts a control plane; run starts the scheduler. Nodes added
// in between are in the scheduler's cache before it places any pod.
func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return &env{t: t, ctx: ctx, tc: testcluster.Start(t)}
}

func (e *env) run(cfg scheduler.Config) {
	e.t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{e.t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := scheduler.New(e.tc.Admin, log, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	e.t.Cleanup(func() { cancel(); <-done })
}

func (e *env) pods() *client.Resource[*v1.Pod]   { return client.For[*v1.Pod](e.tc.Admin, "default") }
func (e *env) nodes() *client.Resource[*v1.Node] { return client.For[*v1.Node](e.tc.Admin, "") }

// testWriter shows the scheduler's logs with a failing test's output.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// nodeSpec describes a node the test registers as its agent would.
type nodeSpec struct {
	name              string
	cpu, memory, pods string
	notReady          bool
	unschedulable     bool
	labels            map[string]string
	taints            []v1.Taint
	storage           []v1.NodeStorageDevice
}

// addNode creates the node, then reports its allocatable resources,
// storage devices and Ready condition through the status subresource.
func (e *env) addNode(n nodeSpec) {
	e.t.Helper()
	if n.pods == "" {
		n.pods = "110"
	}
	// The agent labels its node with its hostname.
	labels := map[string]string{v1.LabelHostname: n.name}
	maps.Copy(labels, n.labels)
	created, err := e.nodes().Create(e.ctx, &v1.Node{
		ObjectMeta: v1.ObjectMeta{Name: n.name, Labels: labels},
		Spec:       v1.NodeSpec{Unschedulable: n.unschedulable, Taints: n.taints},
	})
	if err != nil {
		e.t.Fatalf("create node %s: %v", n.name, err)
	}
	ready := v1.ConditionTrue
	if n.notReady {
		ready = v1.ConditionFalse
	}
	created.Status = v1.NodeStatus{
		Allocatable: v1.ResourceList{
			v1.ResourceCPU: resource.MustParse(n.cpu), v1.ResourceMemory: resource.MustParse(n.memory), v1.ResourcePods: resource.MustParse(n.pods),
		},
		Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: ready, Reason: v1.NodeReasonAgentReady}},
		Storage:    n.storage,
	}
	if _, err := e.nodes().UpdateStatus(e.ctx, created); err != nil {
		e.t.Fatalf("node %s status: %v", n.name, err)
	}
}

// newPod is a process pod requesting cpu and memory ("" requests none).
func newPod(name, cpu, memory string) *v1.Pod {
	req := v1.ResourceList{}
	if cpu != "" {
		req[v1.ResourceCPU] = resource.MustParse(cpu)
	}
	if memory != "" {
		req[v1.ResourceMemory] = resource.MustParse(memory)
	}
	return &v1.Pod{
		ObjectMeta: v1.ObjectMeta{Name: name},
		Spec: v1.PodSpec{Containers: []v1.Container{{
			Name: "main", Command: []string{"sleep", "3600"}, Resources: v1.ResourceRequirements{Requests: req},
		}}},
	}
}

func (e *env) createPod(p *v1.Pod) *v1.Pod {
	e.t.Helper()
	created, err := e.pods().Create(e.ctx, p)
	if err != nil {
		e.t.Fatalf("create pod %s: %v", p.Name, err)
	}
	return created
}

func (e *env) getPod(name string) *v1.Pod {
	e.t.Helper()
	p, err := e.pods().Get(e.ctx, name)
	if err != nil {
		e.t.Fatalf("get pod %s: %v", name, err)
	}
	return p
}

// waitBound waits for the pod to be bound and returns its node.
func (e *env) waitBound(name string) string {
	e.t.Helper()
	var node string
	testcluster.Eventually(e.t, waitFor, "pod "+name+" to be bound", func() bool {
		node = e.getPod(name).Spec.NodeName
		return node != ""
	})
	return node
}

// waitUnschedulable waits until the pod's PodScheduled=False condition
// has a message that match accepts (the first attempt may have seen an
// older cluster) and returns the message; the pod must be unbound.
func (e *env) waitUnschedulable(name string, match func(string) bool) string {
	e.t.Helper()
	var pod *v1.Pod
	var c *v1.PodCondition
	last := "<no condition>"
	testcluster.Eventually(e.t, waitFor, "pod "+name+" to be marked unschedulable", func() bool {
		pod = e.getPod(name)
		c = v1.GetPodCondition(&pod.Status, v1.PodScheduled)
		if c != nil {
			last = c.Message
		}
		return c != nil && c.Status == v1.ConditionFalse && match(c.Message)
	})
	if c.Reason != v1.PodReasonUnschedulable {
		e.t.Fatalf("pod %s: PodScheduled reason %q, want %q (message %q)", name, c.Reason, v1.PodReasonUnschedulable, last)
	}
	if pod.Spec.NodeName != "" {
		e.t.Fatalf("pod %s is unschedulable yet bound to %s", name, pod.Spec.NodeName)
	}
	return c.Message
}

func is(want string) func(string) bool { return func(s string) bool { return s == want } }

func containing(sub string) func(string) bool {
	return func(s string) bool { return strings.Contains(s, sub) }
}

// failedScheduling returns the FailedScheduling events about pod.
func (e *env) failedScheduling(pod *v1.Pod) []*v1.Event {
	e.t.Helper()
	list, err := client.For[*v1.Event](e.tc.Admin, pod.Namespace).ListAll(e.ctx, client.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []*v1.Event
	for _, ev := range list.Items {
		if ev.InvolvedObject.UID == pod.UID && ev.Reason == scheduler.ReasonFailedScheduling {
			out = append(out, ev)
		}
	}
	return out
}

// waitFailedScheduling waits for a FailedScheduling event about pod whose
// message contains sub.
func (e *env) waitFailedScheduling(pod *v1.Pod, sub string) {
	e.t.Helper()
	testcluster.Eventually(e.t, waitFor, "a FailedScheduling event saying "+sub, func() bool {
		for _, ev := range e.failedScheduling(pod) {
			if strings.Contains(ev.Message, sub) {
				return true
			}
		}
		return false
	})
}

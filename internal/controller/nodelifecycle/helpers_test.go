package nodelifecycle_test

import (
	"context"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller/nodelifecycle"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// env is a control plane with the controller running, and helpers that
// play the agent's part: registering nodes, renewing leases, posting
// Ready.
type env struct {
	t   *testing.T
	tc  *testcluster.Cluster
	ctx context.Context
}

func newEnv(t *testing.T) *env {
	t.Helper()
	tc := testcluster.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return &env{t: t, tc: tc, ctx: ctx}
}

// run starts the controller; it stops when the test ends.
func (e *env) run(cfg nodelifecycle.Config) {
	e.t.Helper()
	c, err := nodelifecycle.New(e.tc.Admin, nil, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, stop := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	e.t.Cleanup(func() { stop(); <-done })
}

func (e *env) nodes() *client.Resource[*v1.Node] { return client.For[*v1.Node](e.tc.Admin, "") }
func (e *env) pods() *client.Resource[*v1.Pod]   { return client.For[*v1.Pod](e.tc.Admin, "default") }
func (e *env) leases() *client.Resource[*v1.Lease] {
	return client.For[*v1.Lease](e.tc.Admin, v1.NamespaceLeases)
}

// addNode registers a node whose agent reports Ready status.
func (e *env) addNode(name string, ready v1.ConditionStatus) {
	e.t.Helper()
	if _, err := e.nodes().Create(e.ctx, &v1.Node{ObjectMeta: v1.ObjectMeta{Name: name}}); err != nil {
		e.t.Fatal(err)
	}
	e.postReady(name, ready)
}

// postReady sets the node's Ready condition as its agent does.
func (e *env) postReady(name string, status v1.ConditionStatus) {
	e.t.Helper()
	node, err := e.nodes().Get(e.ctx, name)
	if err != nil {
		e.t.Fatal(err)
	}
	node.Status.Conditions = []v1.NodeCondition{{Type: v1.NodeReady, Status: status, Reason: v1.NodeReasonAgentReady, LastHeartbeatTime: v1.Now()}}
	if _, err := e.nodes().UpdateStatus(e.ctx, node); err != nil && !v1.IsConflict(err) {
		e.t.Fatal(err)
	}
}

// renew creates or renews the node's lease with renewTime at.
func (e *env) renew(name string, at time.Time) {
	e.t.Helper()
	renew := &v1.MicroTime{Time: at}
	l, err := e.leases().Get(e.ctx, name)
	if v1.IsNotFound(err) {
		holder := name
		_, err = e.leases().Create(e.ctx, &v1.Lease{ObjectMeta: v1.ObjectMeta{Name: name}, Spec: v1.LeaseSpec{HolderIdentity: &holder, RenewTime: renew}})
	} else if err == nil {
		l.Spec.RenewTime = renew
		_, err = e.leases().Update(e.ctx, l)
	}
	if err != nil {
		e.t.Fatal(err)
	}
}

// addPod creates a Ready, Running pod bound to node; edit adjusts it
// before it is created.
func (e *env) addPod(name, node string, edit func(*v1.Pod)) *v1.Pod {
	e.t.Helper()
	p := &v1.Pod{
		ObjectMeta: v1.ObjectMeta{Name: name},
		Spec:       v1.PodSpec{NodeName: node, Containers: []v1.Container{{Name: "main", Command: []string{"sleep", "1000"}}}},
	}
	if edit != nil {
		edit(p)
	}
	p, err := e.pods().Create(e.ctx, p)
	if err != nil {
		e.t.Fatal(err)
	}
	// Playing the agent: the pod runs and is ready. On a node that is
	// already NotReady the controller may write the status first; then
	// write over its latest version.
	for {
		p.Status.Phase = v1.PodRunning
		for _, c := range []v1.PodConditionType{v1.PodReady, v1.PodContainersReady} {
			v1.SetPodCondition(&p.Status, v1.PodCondition{Type: c, Status: v1.ConditionTrue})
		}
		out, err := e.pods().UpdateStatus(e.ctx, p)
		if err == nil {
			return out
		}
		if !v1.IsConflict(err) {
			e.t.Fatal(err)
		}
		if p, err = e.pods().Get(e.ctx, name); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *env) node(name string) *v1.Node {
	e.t.Helper()
	n, err := e.nodes().Get(e.ctx, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) pod(name string) *v1.Pod {
	e.t.Helper()
	p, err := e.pods().Get(e.ctx, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func readyOf(n *v1.Node) *v1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == v1.NodeReady {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

func nodeReady(n *v1.Node) v1.ConditionStatus {
	if c := readyOf(n); c != nil {
		return c.Status
	}
	return ""
}

// taint returns the node's NoExecute taint with key, or nil.
func taint(n *v1.Node, key string) *v1.Taint {
	for i := range n.Spec.Taints {
		if t := &n.Spec.Taints[i]; t.Key == key && t.Effect == v1.TaintEffectNoExecute {
			return t
		}
	}
	return nil
}

// podMarkedNotReady reports whether the controller set the pod's Ready and
// ContainersReady False because of its node.
func podMarkedNotReady(p *v1.Pod) bool {
	for _, t := range []v1.PodConditionType{v1.PodReady, v1.PodContainersReady} {
		c := v1.GetPodCondition(&p.Status, t)
		if c == nil || c.Status != v1.ConditionFalse || c.Reason != nodelifecycle.ReasonNodeNotReady {
			return false
		}
	}
	return true
}

// hasEvent reports whether an Event with reason was recorded about the
// object named name in ns.
func (e *env) hasEvent(ns, name, reason string) bool {
	e.t.Helper()
	l, err := client.For[*v1.Event](e.tc.Admin, ns).List(e.ctx, client.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, ev := range l.Items {
		if ev.InvolvedObject.Name == name && ev.Reason == reason {
			return true
		}
	}
	return false
}

func deleting(p *v1.Pod) bool { return p.DeletionTimestamp != nil }

func toleration(key string, secs *int64) v1.Toleration {
	return v1.Toleration{Key: key, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute, TolerationSeconds: secs}
}

func ownedBy(apiVersion, kind string) func(*v1.Pod) {
	return func(p *v1.Pod) {
		yes := true
		p.OwnerReferences = []v1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: "db", UID: "uid-of-db", Controller: &yes}}
	}
}

package member_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller/clock"
	"github.com/kennel-dev/kennel/internal/federation/member"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// fenceTest is TestFencing's state, shared by its steps, which run in
// order against one agent whose federation is reached through a proxy
// the test cuts, and whose clock the test moves.
type fenceTest struct {
	e     *env
	proxy *proxy
	clock *clock.Fake
	// web is the member Deployment as applied, which no step may write.
	web *v1.Deployment
}

// period and margin of the fenced PetSet: it is stopped 10 s after the
// last published renewal.
const (
	period = 15 * time.Second
	margin = member.DefaultStopMargin
)

func TestFencing(t *testing.T) {
	e := newEnv(t)
	e.memberNamespace(east)
	e.addNodes()
	f := &fenceTest{e: e, proxy: newProxy(t, e.fed.Server.URL(), e.fed.CA),
		clock: clock.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))}
	fed, err := client.New(client.Config{Server: f.proxy.URL(), CAData: f.proxy.CA, Token: e.fed.AdminToken})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fed.Close)
	cfg := e.config(east)
	cfg.Federation, cfg.Clock = fed, f.clock
	e.startAgent(cfg)
	for _, step := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"applies a fenceable PetSet and a Deployment", f.applies},
		{"publishes each renewal in the fence ConfigMap", f.publishes},
		{"fences the PetSet when renewals fail, leaves the Deployment", f.fences},
		{"holds a fenced PetSet at 0 replicas", f.holds},
		{"lifts the fence after renewing with the Work unchanged", f.liftsUnchanged},
		{"applies the Work the federation took away before renewing the fence", f.appliesTakenAway},
		{"never writes the non-fenceable Deployment", f.leavesDeployment},
	} {
		if !t.Run(step.name, step.run) {
			return
		}
	}
}

func (f *fenceTest) applies(t *testing.T) {
	e := f.e
	ps := petSet("apps", "db", 2)
	ps.Spec.Template.Labels[member.LabelFenced] = "true"
	ps.Spec.Template.Annotations = map[string]string{member.AnnotationFencingPeriod: period.String()}
	e.putWork(east, "db", ps)
	e.putWork(east, "web", deployment("apps", "web", 2))
	e.workApplied(east, "db")
	e.workApplied(east, "web")
	f.web = get[*v1.Deployment](e, e.mem.Admin, "apps", "web")
	// What the member's controllers would have made: pods of both.
	e.create(e.mem.Admin, runningPod("apps", "db-0", 30, map[string]string{"app": "db", member.LabelFenced: "true"}))
	e.create(e.mem.Admin, runningPod("apps", "db-1", 2, map[string]string{"app": "db", member.LabelFenced: "true"}))
	e.create(e.mem.Admin, runningPod("apps", "web-a", 30, map[string]string{"app": "web"}))
}

func (f *fenceTest) publishes(t *testing.T) {
	f.renewedIs(t, f.clock.Now())
	f.clock.Advance(time.Second)
	f.renewedIs(t, f.clock.Now())
}

func (f *fenceTest) fences(t *testing.T) {
	e := f.e
	last := f.clock.Now()
	f.proxy.setCut(true)
	// Just before the stop point nothing happens: the fence loop waits
	// on a timer.
	f.clock.Advance(period - margin - time.Millisecond)
	testcluster.Eventually(t, wait, "the fence loop waiting", func() bool { return f.clock.Waiters() > 0 })
	if ps := get[*v1.PetSet](e, e.mem.Admin, "apps", "db"); ps.Annotations[member.AnnotationFencedAt] != "" {
		t.Fatalf("fenced before the stop point: %v", ps.Annotations)
	}
	f.clock.Advance(2 * time.Millisecond)
	ps := f.fenced(t)
	at, err := time.Parse(time.RFC3339Nano, ps.Annotations[member.AnnotationFencedAt])
	if err != nil || at.Before(last.Add(period-margin)) {
		t.Errorf("fenced-at = %q, want a time after %s", ps.Annotations[member.AnnotationFencedAt], last.Add(period-margin))
	}
	// Each pod stops with its grace period, at most 5 s.
	for name, grace := range map[string]int64{"db-0": 5, "db-1": 2} {
		testcluster.Eventually(t, wait, "pod "+name+" stopping", func() bool {
			p := get[*v1.Pod](e, e.mem.Admin, "apps", name)
			return p.DeletionTimestamp != nil && p.DeletionGracePeriodSeconds != nil
		})
		if p := get[*v1.Pod](e, e.mem.Admin, "apps", name); *p.DeletionGracePeriodSeconds != grace {
			t.Errorf("pod %s: grace period %d, want %d", name, *p.DeletionGracePeriodSeconds, grace)
		}
	}
	if p := get[*v1.Pod](e, e.mem.Admin, "apps", "web-a"); p.DeletionTimestamp != nil {
		t.Error("the pod of the non-fenceable Deployment was deleted")
	}
	evs, err := client.For[*v1.Event](e.mem.Admin, "apps").List(e.ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !hasEvent(evs.Items, "db", member.ReasonFenced, last.Format(time.RFC3339Nano)) {
		t.Errorf("no Fenced Event on the PetSet naming the last renewal %s: %+v", last.Format(time.RFC3339Nano), evs.Items)
	}
}

func (f *fenceTest) holds(t *testing.T) {
	e := f.e
	ps := get[*v1.PetSet](e, e.mem.Admin, "apps", "db")
	two := int32(2)
	ps.Spec.Replicas = &two
	scaled, err := client.For[*v1.PetSet](e.mem.Admin, "apps").Update(e.ctx, ps)
	if err != nil {
		t.Fatal(err)
	}
	if *scaled.Spec.Replicas != 2 {
		t.Fatalf("replicas = %d after scaling to 2", *scaled.Spec.Replicas)
	}
	if ps := f.fenced(t); rvOf(ps) <= rvOf(scaled) {
		t.Errorf("the PetSet was not written back after it was scaled: resourceVersion %s", ps.ResourceVersion)
	}
}

func (f *fenceTest) liftsUnchanged(t *testing.T) {
	e := f.e
	work := get[*v1.Work](e, e.fed.Admin, v1.MemberNamespace(east), "db")
	f.proxy.setCut(false)
	now := f.clock.Now()
	f.renewedIs(t, now)
	testcluster.Eventually(t, wait, "the fence lifted and the replicas back", func() bool {
		ps := get[*v1.PetSet](e, e.mem.Admin, "apps", "db")
		return ps.Annotations[member.AnnotationFencedAt] == "" && *ps.Spec.Replicas == 2
	})
	// The federation heard of the fence, then of its end.
	f.firstEvent(t, e.fed.Admin, work.Namespace, "works", work.Name, work.ResourceVersion, "Fenced=True on the Work", func(o v1.Object) bool {
		return condition(o.(*v1.Work), member.WorkFenced).Status == v1.ConditionTrue
	})
	testcluster.Eventually(t, wait, "Fenced=False on the Work", func() bool {
		c := condition(get[*v1.Work](e, e.fed.Admin, work.Namespace, work.Name), member.WorkFenced)
		return c.Status == v1.ConditionFalse && c.Reason == member.ReasonFenceLifted
	})
}

func (f *fenceTest) appliesTakenAway(t *testing.T) {
	e := f.e
	f.proxy.setCut(true)
	f.clock.Advance(period - margin + time.Millisecond)
	f.fenced(t)
	// The federation claims the Lease and takes the PetSet's replicas.
	leases := client.For[*v1.Lease](e.fed.Admin, v1.NamespaceClusterLeases)
	lease, err := leases.Get(e.ctx, east)
	if err != nil {
		t.Fatal(err)
	}
	claim := f.clock.Now().Format(time.RFC3339Nano)
	lease.Annotations = map[string]string{member.AnnotationFencedByFederation: claim}
	if _, err := leases.Update(e.ctx, lease); err != nil {
		t.Fatal(err)
	}
	moved := petSet("apps", "db", 0)
	moved.Spec.Template.Labels[member.LabelFenced] = "true"
	moved.Spec.Template.Annotations = map[string]string{member.AnnotationFencingPeriod: period.String()}
	e.putWork(east, "db", moved)
	// ... and stamps the Work with the claim: it has decided about it.
	works := client.For[*v1.Work](e.fed.Admin, v1.MemberNamespace(east))
	wk, err := works.Get(e.ctx, "db")
	if err != nil {
		t.Fatal(err)
	}
	if wk.Annotations == nil {
		wk.Annotations = map[string]string{}
	}
	wk.Annotations[v1.AnnotationFenceClaim] = claim
	if _, err := works.Update(e.ctx, wk); err != nil {
		t.Fatal(err)
	}
	cms, err := client.For[*v1.ConfigMap](e.mem.Admin, v1.NamespaceSystem).List(e.ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	before := cms.ResourceVersion
	// The agent's informer does not see the new Work yet: only a list
	// the agent makes after renewing does.
	f.proxy.holdWorkWatches(true)
	defer f.proxy.holdWorkWatches(false)
	f.proxy.setCut(false)
	f.renewedIs(t, f.clock.Now())
	testcluster.Eventually(t, wait, "the claim handled, and kept on the Lease", func() bool {
		l := get[*v1.Lease](e, e.fed.Admin, v1.NamespaceClusterLeases, east)
		cm := get[*v1.ConfigMap](e, e.mem.Admin, v1.NamespaceSystem, member.FenceConfigMap)
		return l.Annotations[member.AnnotationFencedByFederation] == claim && cm.Data[member.FenceClaim] == claim
	})
	applied := f.firstEvent(t, e.mem.Admin, "apps", "petsets", "db", before, "the PetSet at generation 2", func(o v1.Object) bool {
		return o.GetObjectMeta().Annotations[v1.AnnotationWorkGeneration] == "2"
	})
	published := f.firstEvent(t, e.mem.Admin, v1.NamespaceSystem, "configmaps", member.FenceConfigMap, before, "the renewal published", func(o v1.Object) bool {
		return o.(*v1.ConfigMap).Data[member.FenceRenewed] == f.clock.Now().Format(time.RFC3339Nano)
	})
	if applied >= published {
		t.Errorf("the Work was applied at revision %d, after the renewal was published at %d", applied, published)
	}
	testcluster.Eventually(t, wait, "the fence lifted, the PetSet left at 0", func() bool {
		ps := get[*v1.PetSet](e, e.mem.Admin, "apps", "db")
		return ps.Annotations[member.AnnotationFencedAt] == "" && *ps.Spec.Replicas == 0
	})
	evs, err := client.For[*v1.Event](e.mem.Admin, v1.NamespaceSystem).List(e.ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !hasEvent(evs.Items, member.FenceConfigMap, member.ReasonFencedByFederation, "") {
		t.Errorf("no %s Event on the fence ConfigMap: %+v", member.ReasonFencedByFederation, evs.Items)
	}
}

func (f *fenceTest) leavesDeployment(t *testing.T) {
	e := f.e
	if d := get[*v1.Deployment](e, e.mem.Admin, "apps", "web"); d.ResourceVersion != f.web.ResourceVersion {
		t.Errorf("the Deployment was written: resourceVersion %s → %s", f.web.ResourceVersion, d.ResourceVersion)
	}
	if p := get[*v1.Pod](e, e.mem.Admin, "apps", "web-a"); p.DeletionTimestamp != nil {
		t.Error("the Deployment's pod was deleted")
	}
}

// renewedIs waits for the fence ConfigMap to say the renewal at t.
func (f *fenceTest) renewedIs(t *testing.T, at time.Time) {
	t.Helper()
	want := at.UTC().Format(time.RFC3339Nano)
	var got string
	testcluster.Eventually(t, wait, "renewed = "+want, func() bool {
		cm := get[*v1.ConfigMap](f.e, f.e.mem.Admin, v1.NamespaceSystem, member.FenceConfigMap)
		if cm != nil {
			got = cm.Data[member.FenceRenewed]
		}
		return got == want
	})
}

// fenced waits for the member PetSet db to be fenced and held at 0.
func (f *fenceTest) fenced(t *testing.T) *v1.PetSet {
	t.Helper()
	var ps *v1.PetSet
	testcluster.Eventually(t, wait, "the PetSet fenced at 0 replicas", func() bool {
		ps = get[*v1.PetSet](f.e, f.e.mem.Admin, "apps", "db")
		return ps.Annotations[member.AnnotationFencedAt] != "" && *ps.Spec.Replicas == 0
	})
	return ps
}

// firstEvent watches the object from revision from and returns the
// revision of its first version that satisfies cond.
func (f *fenceTest) firstEvent(t *testing.T, c *client.Client, ns, resource, name, from, what string, cond func(v1.Object) bool) int64 {
	t.Helper()
	kind, ok := c.Registry().ByResource(resource)
	if !ok {
		t.Fatalf("no kind for %s", resource)
	}
	ctx, cancel := context.WithTimeout(f.e.ctx, wait)
	defer cancel()
	w, err := client.ForKind(c, kind, ns).Watch(ctx, client.ListOptions{ResourceVersion: from, FieldSelector: "metadata.name=" + name})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for ev := range w.Events() {
		if ev.Type == client.Error {
			t.Fatalf("watch %s: %v", resource, ev.Err)
		}
		if ev.Type != client.Deleted && cond(ev.Object) {
			return rvOf(ev.Object)
		}
	}
	t.Fatalf("timed out waiting for %s", what)
	return 0
}

func rvOf(obj v1.Object) int64 {
	n, _ := strconv.ParseInt(obj.GetObjectMeta().ResourceVersion, 10, 64)
	return n
}

func hasEvent(evs []*v1.Event, object, reason, inMessage string) bool {
	for _, ev := range evs {
		if ev.InvolvedObject.Name == object && ev.Reason == reason && strings.Contains(ev.Message, inMessage) {
			return true
		}
	}
	return false
}

func deployment(ns, name string, replicas int32) *v1.Deployment {
	ps := petSet(ns, name, replicas)
	return &v1.Deployment{ObjectMeta: v1.ObjectMeta{Name: name, Namespace: ns}, Spec: v1.DeploymentSpec{
		Replicas: &replicas, Selector: ps.Spec.Selector, Template: ps.Spec.Template}}
}

// runningPod is a pod bound to node n1 with a termination grace period.
func runningPod(ns, name string, grace int64, labels map[string]string) *v1.Pod {
	return &v1.Pod{ObjectMeta: v1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}, Spec: v1.PodSpec{
		NodeName: "n1", TerminationGracePeriodSeconds: &grace,
		Containers: []v1.Container{{Name: "c", Command: []string{"sleep", "1000"}}},
	}}
}

package petset

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
	"github.com/kennel-dev/kennel/internal/controller/garbagecollector"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// wait is how long a test waits for the controller to converge.
const wait = 30 * time.Second

// hold is the finalizer every test pet carries from its template: a
// deleted pet stays terminating, as on a node, until the test (playing
// the agent that has stopped its processes) removes it.
const hold = "test.kennel.io/agent"

// harness is a real control plane running the PetSet controller, and the
// garbage collector when asked. There is no scheduler nor agent: tests
// write pod status and finish deletions themselves, or start agent.
type harness struct {
	t      *testing.T
	ctx    context.Context
	tc     *testcluster.Cluster
	pc     *Controller
	sets   *client.Resource[*v1.PetSet]
	pods   *client.Resource[*v1.Pod]
	claims *client.Resource[*v1.PersistentVolumeClaim]
	revs   *client.Resource[*v1.ControllerRevision]
}

// start runs a cluster, the controller and, if gc is set, the garbage
// collector; and checks atMostOnePerIdentity on the pods of namespace
// default after every change the store makes to them, until the test ends.
func start(t *testing.T, gc bool) *harness {
	t.Helper()
	tc := testcluster.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	// The controller's log is shown when a test fails.
	logs := &testcluster.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("controller log:\n%s", logs.String())
		}
	})
	pc, err := New(tc.Admin, log, controller.Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, ctx: ctx, tc: tc, pc: pc,
		sets: client.For[*v1.PetSet](tc.Admin, "default"), pods: client.For[*v1.Pod](tc.Admin, "default"),
		claims: client.For[*v1.PersistentVolumeClaim](tc.Admin, "default"),
		revs:   client.For[*v1.ControllerRevision](tc.Admin, "default")}
	h.checkIdentities()
	run(t, pc.Run)
	if gc {
		g, err := garbagecollector.New(tc.Admin, log, controller.Options{Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		run(t, g.Run)
	}
	return h
}

// run runs f until the test ends and waits for it to return.
func run(t *testing.T, f func(context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// checkIdentities follows every pod change in the store and fails the
// test when two pods hold one identity.
func (h *harness) checkIdentities() {
	events := h.podEvents()
	run(h.t, func(ctx context.Context) {
		pods := map[string]*v1.Pod{}
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-events:
				if ev.Type == client.Deleted {
					delete(pods, string(ev.Object.UID))
				} else {
					pods[string(ev.Object.UID)] = ev.Object
				}
				var all []*v1.Pod
				for _, p := range pods {
					all = append(all, p)
				}
				if err := atMostOnePerIdentity(all); err != nil {
					h.t.Errorf("store at revision %s: %v", ev.Object.ResourceVersion, err)
				}
			}
		}
	})
}

// podEvents streams every change to the pods of namespace default from
// now on, until the test ends. The API server cuts off a watcher that
// falls behind; the stream then resumes from the last revision it
// delivered, so no change is lost.
func (h *harness) podEvents() <-chan client.Event[*v1.Pod] {
	h.t.Helper()
	l, err := h.pods.List(h.ctx, client.ListOptions{})
	if err != nil {
		h.t.Fatalf("list pods: %v", err)
	}
	out := make(chan client.Event[*v1.Pod])
	run(h.t, func(ctx context.Context) {
		rv := l.ResourceVersion
		for ctx.Err() == nil {
			w, err := h.pods.Watch(ctx, client.ListOptions{ResourceVersion: rv})
			if err != nil {
				continue
			}
			for ev := range w.Events() {
				if ev.Type == client.Error {
					break
				}
				rv = ev.Object.ResourceVersion
				select {
				case out <- ev:
				case <-ctx.Done():
				}
			}
			w.Stop()
		}
	})
	return out
}

// petSet is a set of replicas pets labelled app=name, with claim
// template "data" and the hold finalizer.
func petSet(name string, replicas int32, change ...func(*v1.PetSetSpec)) *v1.PetSet {
	s := &v1.PetSet{
		ObjectMeta: v1.ObjectMeta{Name: name},
		Spec: v1.PetSetSpec{
			Replicas:    &replicas,
			Selector:    &v1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			ServiceName: name,
			Template: v1.PodTemplateSpec{
				ObjectMeta: v1.ObjectMeta{Labels: map[string]string{"app": name}, Finalizers: []string{hold}},
				Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "app", Command: []string{"serve"}, Args: []string{"v1"}}}},
			},
			VolumeClaimTemplates: []v1.PersistentVolumeClaim{{
				ObjectMeta: v1.ObjectMeta{Name: "data"},
				Spec: v1.PersistentVolumeClaimSpec{AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
					Resources: v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")}}},
			}},
		},
	}
	for _, c := range change {
		c(&s.Spec)
	}
	return s
}

func (h *harness) create(s *v1.PetSet) *v1.PetSet {
	h.t.Helper()
	got, err := h.sets.Create(h.ctx, s)
	if err != nil {
		h.t.Fatalf("create petset %s: %v", s.Name, err)
	}
	return got
}

func (h *harness) get(name string) *v1.PetSet {
	h.t.Helper()
	s, err := h.sets.Get(h.ctx, name)
	if err != nil {
		h.t.Fatalf("get petset %s: %v", name, err)
	}
	return s
}

// update changes the set's spec, retrying on conflicts with the
// controller's status writes.
func (h *harness) update(name string, change func(*v1.PetSetSpec)) *v1.PetSet {
	h.t.Helper()
	for {
		s := h.get(name)
		change(&s.Spec)
		got, err := h.sets.Update(h.ctx, s)
		if err == nil {
			return got
		}
		if !v1.IsConflict(err) {
			h.t.Fatalf("update petset %s: %v", name, err)
		}
	}
}

// pod returns the pod name, or nil when there is none.
func (h *harness) pod(name string) *v1.Pod {
	h.t.Helper()
	p, err := h.pods.Get(h.ctx, name)
	if v1.IsNotFound(err) {
		return nil
	}
	if err != nil {
		h.t.Fatalf("get pod %s: %v", name, err)
	}
	return p
}

// list returns the pods labelled app=app, terminating ones included.
func (h *harness) list(app string) []*v1.Pod {
	h.t.Helper()
	l, err := h.pods.List(h.ctx, client.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		h.t.Fatalf("list pods: %v", err)
	}
	return l.Items
}

func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	testcluster.Eventually(h.t, wait, what, cond)
}

// waitPod waits until the pod name exists and satisfies cond.
func (h *harness) waitPod(name, what string, cond func(*v1.Pod) bool) *v1.Pod {
	h.t.Helper()
	var p *v1.Pod
	h.eventually(name+": "+what, func() bool { p = h.pod(name); return p != nil && cond(p) })
	return p
}

// waitSet waits until the set satisfies cond.
func (h *harness) waitSet(name, what string, cond func(*v1.PetSet) bool) *v1.PetSet {
	h.t.Helper()
	var s *v1.PetSet
	h.eventually(name+": "+what, func() bool { s = h.get(name); return cond(s) })
	return s
}

// setStatus plays the agent writing the pod's status.
func (h *harness) setStatus(name string, change func(*v1.PodStatus)) {
	h.t.Helper()
	for {
		p := h.pod(name)
		if p == nil {
			return
		}
		change(&p.Status)
		_, err := h.pods.UpdateStatus(h.ctx, p)
		if err == nil || v1.IsNotFound(err) {
			return
		}
		if !v1.IsConflict(err) {
			h.t.Fatalf("update status of pod %s: %v", name, err)
		}
	}
}

// ready reports the pod Running and Ready.
func (h *harness) ready(name string) {
	h.t.Helper()
	h.setStatus(name, func(s *v1.PodStatus) {
		s.Phase = v1.PodRunning
		v1.SetPodCondition(s, v1.PodCondition{Type: v1.PodReady, Status: v1.ConditionTrue})
	})
}

// setPhase sets the pod's phase and makes it not Ready.
func (h *harness) setPhase(name string, phase v1.PodPhase) {
	h.t.Helper()
	h.setStatus(name, func(s *v1.PodStatus) {
		s.Phase = phase
		v1.SetPodCondition(s, v1.PodCondition{Type: v1.PodReady, Status: v1.ConditionFalse})
	})
}

// finish plays the agent completing a deletion: it removes the hold, and
// the API server removes the pod. It waits until the pod is gone.
func (h *harness) finish(name string) {
	h.t.Helper()
	p := h.waitPod(name, "terminating", isTerminating)
	h.patchPod(name, map[string]any{"finalizers": nil})
	h.eventually(name+" gone", func() bool { q := h.pod(name); return q == nil || q.UID != p.UID })
}

// patchPod applies a merge patch to a pod's metadata.
func (h *harness) patchPod(name string, meta map[string]any) {
	h.t.Helper()
	b, err := json.Marshal(map[string]any{"metadata": meta})
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.pods.Patch(h.ctx, name, b); err != nil && !v1.IsNotFound(err) {
		h.t.Fatalf("patch pod %s: %v", name, err)
	}
}

// settle waits until the controller has synced set name on caches that
// show every change made so far: it writes a marker pod and waits for the
// pod informer to see it (so every earlier pod event is cached), then
// changes the set's spec harmlessly (revisionHistoryLimit) and waits for
// status.observedGeneration to say a sync saw that: the sync took its
// steps before it wrote the status. A test then checks what the
// controller did not do.
func (h *harness) settle(name string) {
	h.t.Helper()
	marker := &v1.Pod{ObjectMeta: v1.ObjectMeta{Name: "marker", Labels: map[string]string{"role": "marker"},
		Annotations: map[string]string{"at": time.Now().String()}},
		Spec: v1.PodSpec{Containers: []v1.Container{{Name: "m", Command: []string{"true"}}}}}
	got, err := h.pods.Create(h.ctx, marker)
	if v1.IsAlreadyExists(err) {
		got, err = h.pods.Update(h.ctx, h.withAnnotation(marker))
	}
	if err != nil {
		h.t.Fatalf("write marker pod: %v", err)
	}
	rv, _ := strconv.ParseInt(got.ResourceVersion, 10, 64)
	h.eventually("the pod cache to catch up", func() bool {
		seen, _ := strconv.ParseInt(h.pc.pods.ResourceVersion(), 10, 64)
		return seen >= rv
	})
	s := h.update(name, func(s *v1.PetSetSpec) { *s.RevisionHistoryLimit++ })
	h.waitSet(name, "a sync of generation "+strconv.FormatInt(s.Generation, 10), func(x *v1.PetSet) bool {
		return x.Status.ObservedGeneration >= s.Generation
	})
}

func (h *harness) withAnnotation(marker *v1.Pod) *v1.Pod {
	h.t.Helper()
	p := h.pod("marker")
	p.Annotations = marker.Annotations
	return p
}

// agent plays a node agent for the pets labelled app=app until the test
// ends: it reports every pod Running and Ready and finishes every
// deletion, those already there first. Tests that need to hold a pet in a
// state do without it.
func (h *harness) agent(app string) {
	events := h.podEvents()
	for _, p := range h.list(app) {
		playAgent(h.ctx, h.pods, p)
	}
	run(h.t, func(ctx context.Context) {
		// Events make the fake agent quick; a sweep of the pods every
		// 250 ms makes it sure, as a real agent's resync does: a status
		// write lost to a conflict, or a watch the API server cut off
		// under load, is made good.
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-events:
				if ev.Type != client.Deleted && ev.Object.Labels["app"] == app {
					playAgent(ctx, h.pods, ev.Object)
				}
			case <-tick.C:
				l, err := h.pods.List(ctx, client.ListOptions{LabelSelector: "app=" + app})
				if err != nil {
					continue
				}
				for _, p := range l.Items {
					playAgent(ctx, h.pods, p)
				}
			}
		}
	})
}

// playAgent readies a new pod or finishes a deleted one. Write errors are
// dropped: a conflict means a newer event is on its way.
func playAgent(ctx context.Context, c *client.Resource[*v1.Pod], p *v1.Pod) {
	switch {
	case isTerminating(p) && p.HasFinalizer(hold):
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"finalizers": nil}})
		c.Patch(ctx, p.Name, patch)
	case !isTerminating(p) && !v1.IsPodTerminal(p) && !isRunningAndReady(p):
		p = v1.Clone(p)
		p.Status.Phase = v1.PodRunning
		v1.SetPodCondition(&p.Status, v1.PodCondition{Type: v1.PodReady, Status: v1.ConditionTrue})
		c.UpdateStatus(ctx, p)
	}
}

// events returns the reasons of the events recorded on the set.
func (h *harness) events(name string) map[string]int {
	h.t.Helper()
	l, err := client.For[*v1.Event](h.tc.Admin, "default").List(h.ctx, client.ListOptions{})
	if err != nil {
		h.t.Fatalf("list events: %v", err)
	}
	out := map[string]int{}
	for _, e := range l.Items {
		if e.InvolvedObject.Kind == "PetSet" && e.InvolvedObject.Name == name {
			out[e.Reason]++
		}
	}
	return out
}

// rolledOut reports whether the set's rollout is complete at its
// generation.
func setRolledOut(s *v1.PetSet) bool {
	_, done, err := RolloutStatus(s)
	return err == nil && done && s.Status.CurrentRevision == s.Status.UpdateRevision &&
		s.Status.UpdatedReplicas == s.DesiredReplicas()
}

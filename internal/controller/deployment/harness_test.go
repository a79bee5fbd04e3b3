package deployment

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
	"github.com/kennel-dev/kennel/internal/controller/clock"
	"github.com/kennel-dev/kennel/internal/controller/garbagecollector"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// wait is how long a test waits for the controller to converge.
const wait = 30 * time.Second

// harness is a real control plane running the Deployment controller.
// There is no scheduler nor agent: tests play their part by writing pod
// status (and finishing deletions) as the admin.
type harness struct {
	t    *testing.T
	ctx  context.Context
	tc   *testcluster.Cluster
	deps *client.Resource[*v1.Deployment]
	pods *client.Resource[*v1.Pod]
}

// start runs a cluster and the controller (timed by clk; nil for the
// system clock), and the garbage collector if gc is set.
func start(t *testing.T, clk clock.Clock, gc bool) *harness {
	t.Helper()
	tc := testcluster.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	log := slog.New(slog.DiscardHandler)
	dc, err := New(tc.Admin, log, controller.Options{Workers: 2, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	run(t, func(ctx context.Context) { dc.Run(ctx) })
	if gc {
		g, err := garbagecollector.New(tc.Admin, log, controller.Options{Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		run(t, g.Run)
	}
	return &harness{t: t, ctx: ctx, tc: tc,
		deps: client.For[*v1.Deployment](tc.Admin, "default"), pods: client.For[*v1.Pod](tc.Admin, "default")}
}

// run runs f until the test ends and waits for it to return.
func run(t *testing.T, f func(context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// web is a deployment named name of replicas pods labelled app=name.
func web(name string, replicas int32) *v1.Deployment {
	return &v1.Deployment{
		ObjectMeta: v1.ObjectMeta{Name: name},
		Spec: v1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &v1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: v1.PodTemplateSpec{
				ObjectMeta: v1.ObjectMeta{Labels: map[string]string{"app": name, "tier": "front"}},
				Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "web", Image: "web:1"}}},
			},
		},
	}
}

func (h *harness) create(d *v1.Deployment) *v1.Deployment {
	h.t.Helper()
	got, err := h.deps.Create(h.ctx, d)
	if err != nil {
		h.t.Fatalf("create deployment %s: %v", d.Name, err)
	}
	return got
}

func (h *harness) get(name string) *v1.Deployment {
	h.t.Helper()
	d, err := h.deps.Get(h.ctx, name)
	if err != nil {
		h.t.Fatalf("get deployment %s: %v", name, err)
	}
	return d
}

// update changes the deployment's spec, retrying on conflicts with the
// controller's status writes.
func (h *harness) update(name string, change func(*v1.Deployment)) *v1.Deployment {
	h.t.Helper()
	for {
		d := h.get(name)
		change(d)
		got, err := h.deps.Update(h.ctx, d)
		if err == nil {
			return got
		}
		if !v1.IsConflict(err) {
			h.t.Fatalf("update deployment %s: %v", name, err)
		}
	}
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

// waitPods waits until the pods labelled app=app satisfy cond, and
// returns them.
func (h *harness) waitPods(app, what string, cond func([]*v1.Pod) bool) []*v1.Pod {
	h.t.Helper()
	var pods []*v1.Pod
	testcluster.Eventually(h.t, wait, what, func() bool {
		pods = h.list(app)
		return cond(pods)
	})
	return pods
}

// waitCount waits for n pods labelled app=app that are not being deleted.
func (h *harness) waitCount(app string, n int) []*v1.Pod {
	h.t.Helper()
	var live []*v1.Pod
	h.waitPods(app, "pods of "+app, func(pods []*v1.Pod) bool {
		live = alive(pods)
		return len(live) == n
	})
	return live
}

// waitPod waits until the pod name, labelled app=app, satisfies cond.
func (h *harness) waitPod(app, name, what string, cond func(*v1.Pod) bool) {
	h.t.Helper()
	h.waitPods(app, what, func(pods []*v1.Pod) bool {
		for _, p := range pods {
			if p.Name == name {
				return cond(p)
			}
		}
		return false
	})
}

// eventually waits until cond holds.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	testcluster.Eventually(h.t, wait, what, cond)
}

// waitDeployment waits until the deployment satisfies cond.
func (h *harness) waitDeployment(name, what string, cond func(*v1.Deployment) bool) *v1.Deployment {
	h.t.Helper()
	var d *v1.Deployment
	testcluster.Eventually(h.t, wait, what, func() bool {
		d = h.get(name)
		return cond(d)
	})
	return d
}

// setStatus plays the agent: it writes the pod's status, retrying on
// conflicts with the controller. A pod already gone is left alone.
func (h *harness) setStatus(name string, change func(*v1.PodStatus)) {
	h.t.Helper()
	for {
		p, err := h.pods.Get(h.ctx, name)
		if v1.IsNotFound(err) {
			return
		}
		if err != nil {
			h.t.Fatalf("get pod %s: %v", name, err)
		}
		change(&p.Status)
		_, err = h.pods.UpdateStatus(h.ctx, p)
		if err == nil || v1.IsNotFound(err) {
			return
		}
		if !v1.IsConflict(err) {
			h.t.Fatalf("update status of pod %s: %v", name, err)
		}
	}
}

// markReady reports the pod Running and Ready since at.
func (h *harness) markReady(name string, at time.Time) {
	h.t.Helper()
	h.setStatus(name, func(s *v1.PodStatus) {
		s.Phase = v1.PodRunning
		v1.SetPodCondition(s, v1.PodCondition{Type: v1.PodReady, Status: v1.ConditionTrue, LastTransitionTime: v1.NewTime(at)})
	})
}

// patchPod applies a merge patch to a pod's metadata.
func (h *harness) patchPod(name string, meta map[string]any) *v1.Pod {
	h.t.Helper()
	b, err := json.Marshal(map[string]any{"metadata": meta})
	if err != nil {
		h.t.Fatal(err)
	}
	p, err := h.pods.Patch(h.ctx, name, b)
	if err != nil {
		h.t.Fatalf("patch pod %s: %v", name, err)
	}
	return p
}

// events returns the reasons of the events recorded on the deployment.
func (h *harness) events(name string) map[string]int {
	h.t.Helper()
	l, err := client.For[*v1.Event](h.tc.Admin, "default").List(h.ctx, client.ListOptions{})
	if err != nil {
		h.t.Fatalf("list events: %v", err)
	}
	out := map[string]int{}
	for _, e := range l.Items {
		if e.InvolvedObject.Kind == "Deployment" && e.InvolvedObject.Name == name {
			out[e.Reason]++
		}
	}
	return out
}

// alive is the pods not being deleted.
func alive(pods []*v1.Pod) []*v1.Pod {
	var out []*v1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// ofHash counts the pods of one template.
func ofHash(pods []*v1.Pod, hash string) int {
	return countHash(pods, hash)
}

func condition(d *v1.Deployment, t v1.DeploymentConditionType) v1.DeploymentCondition {
	if c := getCondition(d.Status.Conditions, t); c != nil {
		return *c
	}
	return v1.DeploymentCondition{}
}

// hasCondition reports whether the deployment's condition t has status
// and reason.
func hasCondition(d *v1.Deployment, t v1.DeploymentConditionType, status v1.ConditionStatus, reason string) bool {
	c := condition(d, t)
	return c.Status == status && c.Reason == reason
}

// controlledBy reports whether d is the pod's controller.
func controlledBy(p *v1.Pod, d *v1.Deployment) bool {
	ref := v1.GetControllerOf(p)
	return ref != nil && ref.UID == d.UID
}

func hasPrefix(p *v1.Pod, prefix string) bool { return strings.HasPrefix(p.Name, prefix) }

// podWatch follows the pods of one app change by change, so a test sees
// every state the store went through, not just the ones a poll catches.
type podWatch struct {
	h    *harness
	w    *client.Watch[*v1.Pod]
	pods map[string]*v1.Pod
}

// watchPods lists the pods labelled app=app and watches them from there.
func (h *harness) watchPods(app string) *podWatch {
	h.t.Helper()
	opts := client.ListOptions{LabelSelector: "app=" + app}
	l, err := h.pods.List(h.ctx, opts)
	if err != nil {
		h.t.Fatalf("list pods: %v", err)
	}
	opts.ResourceVersion = l.ResourceVersion
	w, err := h.pods.Watch(h.ctx, opts)
	if err != nil {
		h.t.Fatalf("watch pods: %v", err)
	}
	h.t.Cleanup(w.Stop)
	pw := &podWatch{h: h, w: w, pods: map[string]*v1.Pod{}}
	for _, p := range l.Items {
		pw.pods[p.Name] = p
	}
	return pw
}

// until calls check on the current pods and then after every change, until
// it returns true.
func (pw *podWatch) until(t *testing.T, what string, check func(pods map[string]*v1.Pod) bool) {
	t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for !check(pw.pods) {
		select {
		case ev, ok := <-pw.w.Events():
			switch {
			case !ok:
				t.Fatalf("pod watch ended while waiting for %s", what)
			case ev.Type == client.Error:
				t.Fatalf("pod watch failed while waiting for %s: %v", what, ev.Err)
			case ev.Type == client.Deleted:
				delete(pw.pods, ev.Object.Name)
			default:
				pw.pods[ev.Object.Name] = ev.Object
			}
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for %s", wait, what)
		}
	}
}

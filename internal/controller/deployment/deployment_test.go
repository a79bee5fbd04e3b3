package deployment

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller/clock"
)

func TestScaleAndPodShape(t *testing.T) {
	h := start(t, nil, false)
	d := h.create(web("web", 3))
	hash := templateHash(d)
	pods := h.waitCount("web", 3)
	h.waitDeployment("web", "status.replicas 3", func(d *v1.Deployment) bool { return d.Status.Replicas == 3 })
	if n := len(h.list("web")); n != 3 {
		t.Fatalf("%d pods once the status says 3", n)
	}
	for _, p := range pods {
		suffix := p.Name[len("web-"+hash+"-"):]
		if !hasPrefix(p, "web-"+hash+"-") || len(suffix) != 5 {
			t.Errorf("pod name %q, want web-%s-<5 characters>", p.Name, hash)
		}
		if p.Labels["app"] != "web" || p.Labels["tier"] != "front" || p.Labels[v1.LabelPodTemplateHash] != hash {
			t.Errorf("pod %s labels = %v, want the template's and %s=%s", p.Name, p.Labels, v1.LabelPodTemplateHash, hash)
		}
		ref := v1.GetControllerOf(p)
		if ref == nil || ref.UID != d.UID || ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || ref.Name != "web" ||
			ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
			t.Errorf("pod %s controller reference = %+v", p.Name, ref)
		}
		if len(p.Spec.Containers) != 1 || p.Spec.Containers[0].Image != "web:1" {
			t.Errorf("pod %s spec is not the template's: %+v", p.Name, p.Spec.Containers)
		}
	}

	h.update("web", func(d *v1.Deployment) { d.Spec.Replicas = ptr(int32(5)) })
	h.waitCount("web", 5)
	h.update("web", func(d *v1.Deployment) { d.Spec.Replicas = ptr(int32(2)) })
	h.waitCount("web", 2)
	h.waitDeployment("web", "status.replicas 2", func(d *v1.Deployment) bool { return d.Status.Replicas == 2 })
	if ev := h.events("web"); ev[ReasonScalingUp] == 0 || ev[ReasonScalingDown] == 0 {
		t.Errorf("events = %v, want %s and %s", ev, ReasonScalingUp, ReasonScalingDown)
	}
}

func TestReplacesLostPods(t *testing.T) {
	h := start(t, nil, false)
	h.create(web("web", 3))
	pods := h.waitCount("web", 3)

	t.Run("deleted by hand", func(t *testing.T) {
		gone := pods[0].Name
		if _, err := h.pods.Delete(h.ctx, gone, client.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		h.waitPods("web", "a replacement", func(pods []*v1.Pod) bool {
			return len(pods) == 3 && !containsPod(pods, gone)
		})
	})

	t.Run("stuck terminating", func(t *testing.T) {
		stuck := h.waitCount("web", 3)[0].Name
		h.patchPod(stuck, map[string]any{"finalizers": []string{"test.kennel.io/hold"}})
		if _, err := h.pods.Delete(h.ctx, stuck, client.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		h.waitPods("web", "a replacement beside the terminating pod", func(pods []*v1.Pod) bool {
			return len(pods) == 4 && len(alive(pods)) == 3 && containsPod(pods, stuck)
		})
		h.waitDeployment("web", "status.replicas 3", func(d *v1.Deployment) bool { return d.Status.Replicas == 3 })
	})

	t.Run("failed", func(t *testing.T) {
		failed := alive(h.list("web"))[0].Name
		h.setStatus(failed, func(s *v1.PodStatus) { s.Phase = v1.PodFailed })
		h.waitPods("web", "the failed pod to be replaced", func(pods []*v1.Pod) bool {
			return len(alive(pods)) == 3 && !containsPod(pods, failed)
		})
		if ev := h.events("web"); ev[ReasonReplacingFinishedPod] == 0 {
			t.Errorf("events = %v, want %s", ev, ReasonReplacingFinishedPod)
		}
	})
}

func TestAdoptAndRelease(t *testing.T) {
	h := start(t, nil, false)
	d := h.create(web("web", 2))
	pods := h.waitCount("web", 2)
	for _, p := range pods {
		h.markReady(p.Name, time.Now())
	}
	x := pods[0].Name

	// Relabelled out of the selector: released, and replaced.
	h.patchPod(x, map[string]any{"labels": map[string]string{"app": "other"}})
	h.waitPod("other", x, "pod to be released", func(p *v1.Pod) bool { return v1.GetControllerOf(p) == nil })
	h.waitPods("web", "a replacement", func(pods []*v1.Pod) bool {
		return len(pods) == 2 && !containsPod(pods, x) && controlledBy(pods[0], d) && controlledBy(pods[1], d)
	})

	// Back in the selector: adopted, and the deployment scales down the
	// surplus, which is the unready replacement, not the Ready adoptee.
	h.patchPod(x, map[string]any{"labels": map[string]string{"app": "web"}})
	h.waitPods("web", "the orphan to be adopted and the surplus deleted", func(pods []*v1.Pod) bool {
		return len(pods) == 2 && containsPod(pods, x) && controlledBy(pods[0], d) && controlledBy(pods[1], d)
	})
}

func TestRollingUpdate(t *testing.T) {
	h := start(t, nil, false)
	d := web("web", 3)
	d.Spec.Strategy.RollingUpdate = &v1.RollingUpdateDeployment{MaxSurge: ptr(intstr.FromInt32(1)), MaxUnavailable: ptr(intstr.FromInt32(0))}
	h.create(d)
	for _, p := range h.waitCount("web", 3) {
		h.markReady(p.Name, time.Now())
	}
	h.waitDeployment("web", "the first rollout", func(d *v1.Deployment) bool {
		return d.Status.AvailableReplicas == 3 && hasCondition(d, v1.DeploymentProgressing, v1.ConditionTrue, ReasonNewPodsAvailable)
	})

	w := h.watchPods("web")
	d = h.update("web", func(d *v1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "web:2" })
	newHash := templateHash(d)
	maxSeen := 0
	w.until(t, "all pods to be replaced", func(pods map[string]*v1.Pod) bool {
		live, ready := 0, 0
		var unready []string
		for _, p := range pods {
			if p.DeletionTimestamp != nil {
				continue
			}
			live++
			if v1.IsPodReady(p) {
				ready++
			} else {
				unready = append(unready, p.Name)
			}
		}
		maxSeen = max(maxSeen, live)
		if live > 3+1 {
			t.Fatalf("%d pods, more than replicas+maxSurge = 4", live)
		}
		if ready < 3 {
			t.Fatalf("%d pods available, fewer than replicas-maxUnavailable = 3", ready)
		}
		if len(unready) > 0 {
			// One step: the agent reports the new pod Ready.
			h.markReady(unready[0], time.Now())
		}
		return live == 3 && ready == 3 && ofHash(mapValues(pods), newHash) == 3
	})
	if maxSeen != 4 {
		t.Errorf("at most %d pods during the rollout, want the surge to 4", maxSeen)
	}
	d = h.waitDeployment("web", "the rollout to complete", func(d *v1.Deployment) bool {
		return hasCondition(d, v1.DeploymentProgressing, v1.ConditionTrue, ReasonNewPodsAvailable)
	})
	s := d.Status
	if s.ObservedGeneration != d.Generation || s.Replicas != 3 || s.UpdatedReplicas != 3 || s.AvailableReplicas != 3 ||
		s.ReadyReplicas != 3 || s.UnavailableReplicas != 0 || !hasCondition(d, v1.DeploymentAvailable, v1.ConditionTrue, ReasonMinimumReplicasAvailable) {
		t.Errorf("status after the rollout = %+v", s)
	}
}

func TestRecreate(t *testing.T) {
	h := start(t, nil, false)
	d := web("web", 2)
	d.Spec.Strategy = v1.DeploymentStrategy{Type: v1.RecreateDeploymentStrategyType}
	// Bound to a node, pods wait for their (fake) agent to finish a
	// deletion, so the old ones are seen Terminating.
	d.Spec.Template.Spec.NodeName = "node-a"
	h.create(d)
	old := h.waitCount("web", 2)
	for _, p := range old {
		h.markReady(p.Name, time.Now())
	}

	w := h.watchPods("web")
	d = h.update("web", func(d *v1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "web:2" })
	newHash := templateHash(d)
	h.waitPods("web", "old pods to terminate", func(pods []*v1.Pod) bool {
		terminating := 0
		for _, p := range pods {
			if containsPod(old, p.Name) && p.DeletionTimestamp != nil {
				terminating++
			}
		}
		return terminating == len(old)
	})
	h.waitDeployment("web", "the controller to see them", func(d *v1.Deployment) bool {
		return d.Status.ObservedGeneration == d.Generation && d.Status.Replicas == 0
	})
	if n := ofHash(h.list("web"), newHash); n != 0 {
		t.Fatalf("%d new pods while old ones still terminate", n)
	}
	for _, p := range old {
		if _, err := h.pods.Delete(h.ctx, p.Name, client.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}); err != nil {
			t.Fatal(err)
		}
	}
	w.until(t, "new pods", func(pods map[string]*v1.Pod) bool {
		n := ofHash(mapValues(pods), newHash)
		if n > 0 && len(pods) > n {
			t.Fatalf("a new pod exists beside %d old ones", len(pods)-n)
		}
		return n == 2
	})
}

func TestStatusAndConditions(t *testing.T) {
	fake := clock.NewFake(time.Now())
	h := start(t, fake, false)
	d := web("web", 2)
	d.Spec.MinReadySeconds = 30
	d.Spec.ProgressDeadlineSeconds = ptr(int32(60))
	d = h.create(d)
	h.waitDeployment("web", "status of unready pods", func(d *v1.Deployment) bool {
		s := d.Status
		return s.ObservedGeneration == 1 && s.Replicas == 2 && s.UpdatedReplicas == 2 && s.ReadyReplicas == 0 &&
			s.AvailableReplicas == 0 && s.UnavailableReplicas == 2 &&
			hasCondition(d, v1.DeploymentAvailable, v1.ConditionFalse, ReasonMinimumReplicasUnavailable) &&
			hasCondition(d, v1.DeploymentProgressing, v1.ConditionTrue, ReasonPodsUpdating)
	})

	advanceUntil(h, fake, "the progress deadline", func() bool {
		return hasCondition(h.get("web"), v1.DeploymentProgressing, v1.ConditionFalse, ReasonProgressDeadlineExceeded)
	})

	readyAt := fake.Now()
	for _, p := range h.waitCount("web", 2) {
		h.markReady(p.Name, readyAt)
	}
	h.waitDeployment("web", "ready but not yet available", func(d *v1.Deployment) bool {
		s := d.Status
		return s.ReadyReplicas == 2 && s.AvailableReplicas == 0 &&
			hasCondition(d, v1.DeploymentProgressing, v1.ConditionTrue, ReasonPodsUpdating)
	})
	advanceUntil(h, fake, "minReadySeconds to pass", func() bool {
		return h.get("web").Status.AvailableReplicas == 2
	})
	d = h.get("web")
	if fake.Now().Sub(readyAt) < 30*time.Second {
		t.Errorf("pods available %v after Ready, before minReadySeconds", fake.Now().Sub(readyAt))
	}
	if d.Status.UnavailableReplicas != 0 || !hasCondition(d, v1.DeploymentAvailable, v1.ConditionTrue, ReasonMinimumReplicasAvailable) ||
		!hasCondition(d, v1.DeploymentProgressing, v1.ConditionTrue, ReasonNewPodsAvailable) {
		t.Errorf("status once available = %+v", d.Status)
	}
}

// advanceUntil moves the fake clock a second at a time, whenever the
// controller waits on it, until cond holds.
func advanceUntil(h *harness, fake *clock.Fake, what string, cond func() bool) {
	h.t.Helper()
	h.eventually(what, func() bool {
		if cond() {
			return true
		}
		if fake.Waiters() > 0 {
			fake.Advance(time.Second)
		}
		return false
	})
}

func TestPaused(t *testing.T) {
	h := start(t, nil, false)
	d := h.create(web("web", 2))
	oldHash := templateHash(d)
	h.waitCount("web", 2)
	d = h.update("web", func(d *v1.Deployment) {
		d.Spec.Paused = true
		d.Spec.Template.Spec.Containers[0].Image = "web:2"
	})
	newHash := templateHash(d)
	h.waitDeployment("web", "the pause to be seen", func(d *v1.Deployment) bool {
		return d.Status.ObservedGeneration == d.Generation &&
			hasCondition(d, v1.DeploymentProgressing, v1.ConditionUnknown, ReasonDeploymentPaused)
	})
	h.update("web", func(d *v1.Deployment) { d.Spec.Replicas = ptr(int32(3)) })
	pods := h.waitCount("web", 3)
	if n := ofHash(pods, oldHash); n != 3 {
		t.Fatalf("paused deployment scaled with %d pods of the old template of 3, want all", n)
	}

	h.update("web", func(d *v1.Deployment) { d.Spec.Paused = false })
	h.waitPods("web", "the rollout after resuming", func(pods []*v1.Pod) bool {
		for _, p := range alive(pods) {
			if !v1.IsPodReady(p) {
				h.markReady(p.Name, time.Now())
			}
		}
		return len(pods) == 3 && ofHash(pods, newHash) == 3
	})
}

func TestDeletionCollectsPods(t *testing.T) {
	h := start(t, nil, true)
	for _, policy := range []string{"Background", "Foreground"} {
		t.Run(policy, func(t *testing.T) {
			name := "web-" + strings.ToLower(policy)
			h.create(web(name, 3))
			h.waitCount(name, 3)
			if _, err := h.deps.Delete(h.ctx, name, client.DeleteOptions{PropagationPolicy: policy}); err != nil {
				t.Fatal(err)
			}
			h.waitPods(name, "pods to be collected", func(pods []*v1.Pod) bool { return len(pods) == 0 })
			h.eventually("the deployment to be gone", func() bool {
				_, err := h.deps.Get(h.ctx, name)
				return v1.IsNotFound(err)
			})
		})
	}
}

func containsPod(pods []*v1.Pod, name string) bool {
	for _, p := range pods {
		if p.Name == name {
			return true
		}
	}
	return false
}

func mapValues(m map[string]*v1.Pod) []*v1.Pod {
	out := make([]*v1.Pod, 0, len(m))
	for _, p := range m {
		out = append(out, p)
	}
	return out
}

package petset

import (
	"fmt"
	"strconv"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

func TestOrderedReadyLifecycle(t *testing.T) {
	h := start(t, false)
	set := h.create(petSet("web", 3))
	for i := range 3 {
		name := fmt.Sprintf("web-%d", i)
		h.waitPod(name, "created", func(*v1.Pod) bool { return true })
		h.settle("web")
		if next := h.pod(fmt.Sprintf("web-%d", i+1)); next != nil {
			t.Fatalf("%s was created before %s was Running and Ready", next.Name, name)
		}
		h.ready(name)
	}
	s := h.waitSet("web", "3 ready", func(s *v1.PetSet) bool { return s.Status.ReadyReplicas == 3 })
	st := s.Status
	if st.Replicas != 3 || st.AvailableReplicas != 3 || st.CurrentReplicas != 3 || st.UpdatedReplicas != 3 ||
		st.CurrentRevision == "" || st.CurrentRevision != st.UpdateRevision || st.ObservedGeneration != s.Generation {
		t.Errorf("status %+v", st)
	}
	for i := range 3 {
		checkLivePet(t, h, set, int32(i), st.UpdateRevision)
	}

	// Reverse-order scale-down: a pet is deleted only once the one above
	// it is gone, not merely terminating.
	h.update("web", func(s *v1.PetSetSpec) { s.Replicas = ptr(int32(1)) })
	h.waitPod("web-2", "terminating", isTerminating)
	h.settle("web")
	if isTerminating(h.pod("web-1")) {
		t.Fatalf("web-1 deleted while web-2 still terminates")
	}
	h.finish("web-2")
	h.waitPod("web-1", "terminating", isTerminating)
	h.finish("web-1")
	h.waitSet("web", "1 replica", func(s *v1.PetSet) bool { return s.Status.Replicas == 1 })
	for _, c := range []string{"data-web-1", "data-web-2"} {
		if _, err := h.claims.Get(h.ctx, c); err != nil {
			t.Errorf("claim %s after scale-down under Retain: %v", c, err)
		}
	}
	if ev := h.events("web"); ev[ReasonSuccessfulCreate] == 0 || ev[ReasonSuccessfulDelete] == 0 {
		t.Errorf("events %v, want %s and %s", ev, ReasonSuccessfulCreate, ReasonSuccessfulDelete)
	}
}

// checkLivePet checks the shape of a pet and its claim, and that the
// claim was created before the pod.
func checkLivePet(t *testing.T, h *harness, set *v1.PetSet, o int32, revision string) {
	t.Helper()
	name := set.PetName(o)
	p := h.pod(name)
	if p.Spec.Hostname != name || p.Spec.Subdomain != "web" {
		t.Errorf("%s: hostname %q, subdomain %q", name, p.Spec.Hostname, p.Spec.Subdomain)
	}
	if p.Labels[v1.PetSetPodNameLabel] != name || p.Labels[v1.PodIndexLabel] != strconv.Itoa(int(o)) ||
		p.Labels[v1.ControllerRevisionHashLabel] != revision || p.Labels["app"] != "web" {
		t.Errorf("%s: labels %v", name, p.Labels)
	}
	ref := v1.GetControllerOf(p)
	if ref == nil || ref.UID != set.UID || ref.Kind != "PetSet" || ref.APIVersion != "kennel.io/v1" || ref.Name != "web" {
		t.Errorf("%s: controller %+v", name, ref)
	}
	claim, err := h.claims.Get(h.ctx, "data-"+name)
	if err != nil {
		t.Fatalf("claim of %s: %v", name, err)
	}
	if len(p.Spec.Volumes) != 1 || p.Spec.Volumes[0].PersistentVolumeClaim == nil ||
		p.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != claim.Name || claim.Labels["app"] != "web" {
		t.Errorf("%s: volumes %+v, claim labels %v", name, p.Spec.Volumes, claim.Labels)
	}
	// Nothing writes the claim after its creation here, so its
	// resourceVersion is its creation's; the pod's creation came later.
	crv, _ := strconv.ParseInt(claim.ResourceVersion, 10, 64)
	if prv := creationRV(t, h, p); crv >= prv {
		t.Errorf("claim %s (revision %d) was not created before pod %s (revision %d)", claim.Name, crv, name, prv)
	}
}

// creationRV is the store revision at which pod p was created: the
// revision of its first watch event when watched from the start.
func creationRV(t *testing.T, h *harness, p *v1.Pod) int64 {
	t.Helper()
	w, err := h.pods.Watch(h.ctx, client.ListOptions{ResourceVersion: "1", FieldSelector: "metadata.name=" + p.Name})
	if err != nil {
		t.Fatalf("watch pod %s: %v", p.Name, err)
	}
	defer w.Stop()
	ev := <-w.Events()
	if ev.Type != client.Added {
		t.Fatalf("first event of %s: %v %v", p.Name, ev.Type, ev.Err)
	}
	rv, _ := strconv.ParseInt(ev.Object.ResourceVersion, 10, 64)
	return rv
}

func TestParallel(t *testing.T) {
	h := start(t, false)
	h.create(petSet("par", 3, func(s *v1.PetSetSpec) { s.PodManagementPolicy = v1.ParallelPodManagement }))
	h.eventually("3 pets at once, none Ready", func() bool { return len(h.list("par")) == 3 })
	h.update("par", func(s *v1.PetSetSpec) { s.Replicas = ptr(int32(0)) })
	h.eventually("all 3 terminating at once", func() bool {
		n := 0
		for _, p := range h.list("par") {
			if isTerminating(p) {
				n++
			}
		}
		return n == 3
	})
	for _, name := range []string{"par-0", "par-1", "par-2"} {
		h.finish(name)
	}
	h.waitSet("par", "0 replicas", func(s *v1.PetSet) bool { return s.Status.Replicas == 0 })
}

func TestFailedPetWaitsForItsPod(t *testing.T) {
	h := start(t, false)
	h.create(petSet("db", 2))
	for _, name := range []string{"db-0", "db-1"} {
		h.waitPod(name, "created", func(*v1.Pod) bool { return true })
		h.ready(name)
	}
	h.waitSet("db", "2 ready", func(s *v1.PetSet) bool { return s.Status.ReadyReplicas == 2 })
	old := h.pod("db-0")

	// Failed: deleted, and not replaced while its pod terminates.
	h.setPhase("db-0", v1.PodFailed)
	h.waitPod("db-0", "terminating", isTerminating)
	// db-1's node is NotReady: its pet runs on, unreplaced.
	h.setPhase("db-1", v1.PodRunning)
	h.settle("db")
	if p := h.pod("db-0"); p.UID != old.UID {
		t.Fatalf("db-0 replaced while its pod terminates")
	}
	if p := h.pod("db-1"); isTerminating(p) {
		t.Fatalf("db-1 deleted while only not Ready")
	}
	claim, _ := h.claims.Get(h.ctx, "data-db-0")
	h.finish("db-0")
	p := h.waitPod("db-0", "created again", func(p *v1.Pod) bool { return p.UID != old.UID })
	if again, err := h.claims.Get(h.ctx, "data-db-0"); err != nil || again.UID != claim.UID {
		t.Errorf("the new db-0 does not keep its claim: %v", err)
	}
	if p.Labels[v1.PodIndexLabel] != "0" {
		t.Errorf("new db-0 labels %v", p.Labels)
	}
	if ev := h.events("db"); ev[ReasonRecreatingFailedPod] == 0 {
		t.Errorf("events %v, want %s", ev, ReasonRecreatingFailedPod)
	}
}

func TestStatefulSetAlias(t *testing.T) {
	h := start(t, false)
	h.agent("alias")
	body := []byte(`{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"alias"},
	 "spec":{"replicas":2,"serviceName":"alias","selector":{"matchLabels":{"app":"alias"}},
	  "template":{"metadata":{"labels":{"app":"alias"}},"spec":{"containers":[{"name":"c","command":["serve"]}]}}}}`)
	if _, err := h.tc.Admin.Do(h.ctx, "POST", "/api/v1/namespaces/default/petsets", body, "application/json"); err != nil {
		t.Fatalf("create a StatefulSet: %v", err)
	}
	s := h.waitSet("alias", "2 ready", func(s *v1.PetSet) bool { return s.Status.ReadyReplicas == 2 })
	if s.Kind != "PetSet" || s.APIVersion != "kennel.io/v1" {
		t.Errorf("stored as %s %s", s.APIVersion, s.Kind)
	}
	for _, name := range []string{"alias-0", "alias-1"} {
		if p := h.pod(name); p == nil || !v1.IsControlledBy(p, s) || p.Spec.Subdomain != "alias" {
			t.Errorf("pod %s: %+v", name, p)
		}
	}
}

package petset

import (
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// retainOrDelete sets the claim retention policy.
func retainOrDelete(whenDeleted, whenScaled v1.PersistentVolumeClaimRetentionPolicyType) func(*v1.PetSetSpec) {
	return func(s *v1.PetSetSpec) {
		s.PersistentVolumeClaimRetentionPolicy = &v1.PetSetPersistentVolumeClaimRetentionPolicy{
			WhenDeleted: whenDeleted, WhenScaled: whenScaled}
	}
}

// claimGone reports whether the claim name is gone.
func (h *harness) claimGone(name string) bool {
	h.t.Helper()
	_, err := h.claims.Get(h.ctx, name)
	if err != nil && !v1.IsNotFound(err) {
		h.t.Fatalf("get claim %s: %v", name, err)
	}
	return v1.IsNotFound(err)
}

func TestRetentionWhenScaled(t *testing.T) {
	h := start(t, true)
	h.agent("sc")
	h.create(petSet("sc", 3, retainOrDelete(retain, del)))
	h.waitSet("sc", "ready", setRolledOut)
	kept, _ := h.claims.Get(h.ctx, "data-sc-1")

	// A pet replaced after a failure keeps its claim.
	old := h.pod("sc-1").UID
	h.setPhase("sc-1", v1.PodFailed)
	h.waitPod("sc-1", "replaced and ready", func(p *v1.Pod) bool { return p.UID != old && isRunningAndReady(p) })
	if c, err := h.claims.Get(h.ctx, "data-sc-1"); err != nil || c.UID != kept.UID {
		t.Fatalf("claim of a replaced pet not kept: %v", err)
	}

	// Scaled down: the claims of the removed pets go with them.
	h.update("sc", func(s *v1.PetSetSpec) { s.Replicas = ptr(int32(1)) })
	h.eventually("claims of sc-1 and sc-2 deleted", func() bool { return h.claimGone("data-sc-1") && h.claimGone("data-sc-2") })
	if h.claimGone("data-sc-0") {
		t.Fatalf("claim of the remaining pet deleted")
	}
	// Deleted under whenDeleted=Retain: the last claim stays.
	if _, err := h.sets.Delete(h.ctx, "sc", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	h.eventually("pets gone", func() bool { return len(h.list("sc")) == 0 })
	if h.claimGone("data-sc-0") {
		t.Errorf("claim deleted with the set under whenDeleted=Retain")
	}
}

func TestRetentionWhenDeleted(t *testing.T) {
	h := start(t, true)
	h.agent("sd")
	set := h.create(petSet("sd", 2, retainOrDelete(del, retain)))
	h.waitSet("sd", "ready", setRolledOut)
	for _, name := range []string{"data-sd-0", "data-sd-1"} {
		c, err := h.claims.Get(h.ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if ref := v1.GetControllerOf(c); ref == nil || ref.UID != set.UID || ref.Kind != "PetSet" {
			t.Errorf("claim %s owners %+v, want the set", name, c.OwnerReferences)
		}
	}
	h.update("sd", func(s *v1.PetSetSpec) { s.Replicas = ptr(int32(1)) })
	h.waitSet("sd", "scaled down", func(s *v1.PetSet) bool { return s.Status.Replicas == 1 })
	if h.claimGone("data-sd-1") {
		t.Errorf("claim deleted on scale-down under whenScaled=Retain")
	}
	if _, err := h.sets.Delete(h.ctx, "sd", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	h.eventually("claims deleted with the set", func() bool { return h.claimGone("data-sd-0") && h.claimGone("data-sd-1") })
}

func TestOrphanAndAdopt(t *testing.T) {
	h := start(t, true)
	h.agent("web")
	first := h.create(petSet("web", 2))
	rev := h.waitSet("web", "ready", setRolledOut).Status.CurrentRevision
	uids := map[string]string{}
	for _, p := range h.list("web") {
		uids[p.Name] = string(p.UID)
	}

	// Deleted with propagationPolicy Orphan: the pets and revisions stay,
	// without an owner.
	if _, err := h.sets.Delete(h.ctx, "web", client.DeleteOptions{PropagationPolicy: "Orphan"}); err != nil {
		t.Fatal(err)
	}
	h.eventually("the set gone and its pets orphaned", func() bool {
		_, err := h.sets.Get(h.ctx, "web")
		pods := h.list("web")
		return v1.IsNotFound(err) && len(pods) == 2 && v1.GetControllerOf(pods[0]) == nil && v1.GetControllerOf(pods[1]) == nil
	})

	// A new set of that name adopts them: same pods, same revision.
	second := h.create(petSet("web", 2))
	if second.UID == first.UID {
		t.Fatal("the set was not recreated")
	}
	s := h.waitSet("web", "adopted", func(s *v1.PetSet) bool { return setRolledOut(s) && s.Status.ObservedGeneration == s.Generation })
	for _, p := range h.list("web") {
		if string(p.UID) != uids[p.Name] || !v1.IsControlledBy(p, second) {
			t.Errorf("pod %s uid %s controlled by the new set %v: want adopted, not replaced", p.Name, p.UID, v1.IsControlledBy(p, second))
		}
	}
	if s.Status.CurrentRevision != rev {
		t.Errorf("current revision %s, want %s again", s.Status.CurrentRevision, rev)
	}
	h.eventually("revision "+rev+" adopted", func() bool {
		revs := h.revisions(second)
		return len(revs) == 1 && revs[0].Name == rev
	})

	// Relabelled out of the selector: released, and its name stays held,
	// so the pet is not created beside it.
	h.patchPod("web-1", map[string]any{"labels": map[string]string{"app": "other"}})
	h.waitPod("web-1", "released", func(p *v1.Pod) bool { return v1.GetControllerOf(p) == nil })
	h.settle("web")
	if p := h.pod("web-1"); string(p.UID) != uids["web-1"] {
		t.Fatalf("web-1 replaced while its released pod holds the name")
	}
	if ev := h.events("web"); ev[ReasonFailedCreate] == 0 {
		t.Errorf("events %v, want %s for the held name", ev, ReasonFailedCreate)
	}
	// Back in the selector: adopted again.
	h.patchPod("web-1", map[string]any{"labels": map[string]string{"app": "web"}})
	h.waitPod("web-1", "adopted again", func(p *v1.Pod) bool { return v1.IsControlledBy(p, second) && string(p.UID) == uids["web-1"] })
	h.waitSet("web", "2 ready", func(s *v1.PetSet) bool { return s.Status.ReadyReplicas == 2 && s.Status.Replicas == 2 })
}

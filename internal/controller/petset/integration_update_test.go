package petset

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// version sets the template's argument: a new revision.
func version(v string) func(*v1.PetSetSpec) {
	return func(s *v1.PetSetSpec) { s.Template.Spec.Containers[0].Args = []string{v} }
}

// deletionOrder follows pod events and returns the pods in the order
// they were marked for deletion, once n were.
func deletionOrder(t *testing.T, events <-chan client.Event[*v1.Pod], n int) []string {
	t.Helper()
	var order []string
	marked := map[string]bool{}
	deadline := time.After(wait)
	for len(order) < n {
		var ev client.Event[*v1.Pod]
		select {
		case ev = <-events:
		case <-deadline:
			t.Fatalf("timed out waiting for %d deletions; saw %v", n, order)
		}
		if p := ev.Object; isTerminating(p) && !marked[string(p.UID)] {
			marked[string(p.UID)] = true
			order = append(order, p.Name)
		}
	}
	return order
}

func TestRollingUpdateWithPartition(t *testing.T) {
	h := start(t, false)
	h.agent("web")
	h.create(petSet("web", 3))
	old := h.waitSet("web", "ready", setRolledOut).Status.CurrentRevision

	h.update("web", func(s *v1.PetSetSpec) {
		version("v2")(s)
		s.UpdateStrategy.RollingUpdate.Partition = ptr(int32(2))
	})
	s := h.waitSet("web", "web-2 updated", func(s *v1.PetSet) bool {
		return s.Status.UpdatedReplicas == 1 && s.Status.ReadyReplicas == 3
	})
	h.settle("web")
	for _, name := range []string{"web-0", "web-1"} {
		if p := h.pod(name); p.Labels[v1.ControllerRevisionHashLabel] != old {
			t.Errorf("%s below the partition was updated", name)
		}
	}
	if p := h.pod("web-2"); p.Spec.Containers[0].Args[0] != "v2" || p.Labels[v1.ControllerRevisionHashLabel] != s.Status.UpdateRevision {
		t.Errorf("web-2 not at the update revision: %v", p.Labels)
	}
	if st := h.get("web").Status; st.CurrentRevision != old || st.CurrentReplicas != 2 {
		t.Errorf("status current %s (%d), want %s (2)", st.CurrentRevision, st.CurrentReplicas, old)
	}

	// Deleted below the partition: back at the current revision.
	uid := h.pod("web-0").UID
	if _, err := h.pods.Delete(h.ctx, "web-0", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	p := h.waitPod("web-0", "back", func(p *v1.Pod) bool { return p.UID != uid && isRunningAndReady(p) })
	if p.Labels[v1.ControllerRevisionHashLabel] != old || p.Spec.Containers[0].Args[0] != "v1" {
		t.Errorf("web-0 came back at %s, want %s", p.Labels[v1.ControllerRevisionHashLabel], old)
	}

	events := h.podEvents()
	h.update("web", func(s *v1.PetSetSpec) { s.UpdateStrategy.RollingUpdate.Partition = ptr(int32(0)) })
	if got := deletionOrder(t, events, 2); !slices.Equal(got, []string{"web-1", "web-0"}) {
		t.Errorf("update deleted %v, want web-1 then web-0", got)
	}
	s = h.waitSet("web", "rolled out", setRolledOut)
	if s.Status.CurrentRevision == old {
		t.Errorf("current revision still %s after the rollout", old)
	}
}

func TestMaxUnavailable(t *testing.T) {
	h := start(t, false)
	h.create(petSet("web", 4, func(s *v1.PetSetSpec) {
		s.PodManagementPolicy = v1.ParallelPodManagement
		s.UpdateStrategy.RollingUpdate = &v1.RollingUpdatePetSetStrategy{MaxUnavailable: ptr(intstr.FromInt32(2))}
	}))
	h.eventually("4 pets", func() bool { return len(h.list("web")) == 4 })
	for _, p := range h.list("web") {
		h.ready(p.Name)
	}
	h.waitSet("web", "4 ready", func(s *v1.PetSet) bool { return s.Status.ReadyReplicas == 4 })
	h.update("web", version("v2"))
	h.waitPod("web-2", "terminating", isTerminating)
	h.settle("web")
	var down []string
	for _, p := range h.list("web") {
		if isTerminating(p) {
			down = append(down, p.Name)
		}
	}
	if !slices.Equal(down, []string{"web-2", "web-3"}) {
		t.Fatalf("terminating %v, want web-2 and web-3 (maxUnavailable 2)", down)
	}
	h.agent("web")
	h.waitSet("web", "rolled out", setRolledOut)
}

func TestOnDelete(t *testing.T) {
	h := start(t, false)
	h.agent("web")
	h.create(petSet("web", 2, func(s *v1.PetSetSpec) {
		s.UpdateStrategy = v1.PetSetUpdateStrategy{Type: v1.OnDeletePetSetStrategyType}
	}))
	old := h.waitSet("web", "ready", func(s *v1.PetSet) bool { return s.Status.ReadyReplicas == 2 }).Status.CurrentRevision
	before := h.pod("web-1").UID
	h.update("web", version("v2"))
	h.settle("web")
	st := h.get("web").Status
	if st.UpdateRevision == old || st.CurrentRevision != old || st.UpdatedReplicas != 0 {
		t.Errorf("status %+v, want a new update revision and no pet updated", st)
	}
	if h.pod("web-1").UID != before {
		t.Fatalf("OnDelete replaced web-1 by itself")
	}
	if _, err := h.pods.Delete(h.ctx, "web-1", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	p := h.waitPod("web-1", "back", func(p *v1.Pod) bool { return p.UID != before && isRunningAndReady(p) })
	if p.Labels[v1.ControllerRevisionHashLabel] != st.UpdateRevision || h.pod("web-0").Labels[v1.ControllerRevisionHashLabel] != old {
		t.Errorf("after deleting web-1: web-1 at %s, web-0 at %s", p.Labels[v1.ControllerRevisionHashLabel],
			h.pod("web-0").Labels[v1.ControllerRevisionHashLabel])
	}
}

// TestRollbackAndHistory rolls back the way `kennel rollout undo` does,
// with Revisions, RollbackTarget and Rollback.
func TestRollbackAndHistory(t *testing.T) {
	h := start(t, false)
	h.agent("web")
	set := h.create(petSet("web", 2, func(s *v1.PetSetSpec) { s.RevisionHistoryLimit = ptr(int32(1)) }))
	first := h.waitSet("web", "ready", setRolledOut).Status.UpdateRevision
	h.update("web", version("v2"))
	second := h.waitSet("web", "v2", func(s *v1.PetSet) bool { return setRolledOut(s) && s.Status.UpdateRevision != first }).Status.UpdateRevision

	revs := h.revisions(set)
	target, err := RollbackTarget(revs, 0)
	if err != nil || target.Name != first {
		t.Fatalf("RollbackTarget = %v, %v; want %s", target, err, first)
	}
	for {
		next, changed, err := Rollback(h.get("web"), target)
		if err != nil || !changed {
			t.Fatalf("Rollback: changed %v, %v", changed, err)
		}
		if _, err = h.sets.Update(h.ctx, next); !v1.IsConflict(err) {
			if err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	s := h.waitSet("web", "rolled back", func(s *v1.PetSet) bool { return setRolledOut(s) && s.Status.UpdateRevision == first })
	for _, name := range []string{"web-0", "web-1"} {
		if p := h.pod(name); p.Spec.Containers[0].Args[0] != "v1" || p.Labels[v1.ControllerRevisionHashLabel] != first {
			t.Errorf("%s after the rollback: %v %v", name, p.Spec.Containers[0].Args, p.Labels)
		}
	}
	revs = h.revisions(set)
	if len(revs) != 2 || revs[1].Name != first || revs[1].Revision != 3 || revs[0].Name != second {
		t.Errorf("revisions %v, want %s renumbered 3 after %s", revisionNames(revs), first, second)
	}
	h.update("web", version("v3"))
	h.waitSet("web", "v3", func(s *v1.PetSet) bool { return setRolledOut(s) && s.Status.UpdateRevision != first })
	h.settle("web")
	revs = h.revisions(set)
	if len(revs) != 2 || revs[0].Name != first {
		t.Errorf("revisions %v, want the v1 revision and the live v3 one (revisionHistoryLimit 1)", revisionNames(revs))
	}
	for _, r := range revs {
		if ref := v1.GetControllerOf(r); ref == nil || ref.UID != s.UID || !strings.HasPrefix(r.Name, "web-") {
			t.Errorf("revision %s controller %+v", r.Name, ref)
		}
	}
}

// revisions lists the set's revisions, oldest first.
func (h *harness) revisions(set *v1.PetSet) []*v1.ControllerRevision {
	h.t.Helper()
	l, err := h.revs.List(h.ctx, client.ListOptions{})
	if err != nil {
		h.t.Fatalf("list revisions: %v", err)
	}
	return Revisions(set, l.Items)
}

func revisionNames(revs []*v1.ControllerRevision) []string {
	var out []string
	for _, r := range revs {
		out = append(out, r.Name+"#"+strconv.FormatInt(r.Revision, 10))
	}
	return out
}

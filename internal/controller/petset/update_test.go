package petset

import (
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// setVersion changes the template's argument, which makes a new revision.
func setVersion(version string) func(*v1.PetSetSpec) {
	return func(s *v1.PetSetSpec) { s.Template.Spec.Containers[0].Args = []string{version} }
}

// rolledOut reports whether every pet runs the update revision, Ready,
// and the status says the rollout is complete.
func rolledOut(w *world) bool {
	s := w.set.Status
	n := w.set.DesiredReplicas()
	return s.UpdatedReplicas == n && s.ReadyReplicas == n && s.Replicas == n && s.CurrentRevision == s.UpdateRevision
}

func rollingUpdate(t *testing.T, w *world, cfg config) {
	upAndReady(w, 3)
	old := w.set.Status.CurrentRevision
	mark := len(w.log)
	w.edit(setVersion("v2"))
	w.step()
	if s := w.set.Status; s.UpdateRevision == old || s.CurrentRevision != old {
		t.Errorf("status revisions current %s update %s, want current %s and a new update revision", s.CurrentRevision, s.UpdateRevision, old)
	}
	w.run("rolled out", func() bool { return rolledOut(w) })
	if got := deletesSince(w, mark); !slices.Equal(got, []string{"web-2", "web-1", "web-0"}) {
		t.Errorf("update deleted %v, want web-2, web-1, web-0", got)
	}
	for _, p := range w.pods {
		if revisionOf(p) != w.set.Status.UpdateRevision || p.Spec.Containers[0].Args[0] != "v2" {
			t.Errorf("%s: revision %s args %v after the rollout", p.Name, revisionOf(p), p.Spec.Containers[0].Args)
		}
	}
	if len(w.revs) != 2 {
		t.Errorf("%d revisions, want 2", len(w.revs))
	}
}

func partitionedUpdate(t *testing.T, w *world, cfg config) {
	upAndReady(w, 3)
	old := w.set.Status.CurrentRevision
	w.edit(func(s *v1.PetSetSpec) {
		setVersion("v2")(s)
		s.UpdateStrategy.RollingUpdate.Partition = ptr(int32(2))
	})
	w.run("web-2 updated", func() bool {
		p := w.pod("web-2")
		return p != nil && revisionOf(p) != old && isRunningAndReady(p)
	})
	for range 3 {
		w.step()
	}
	s := w.set.Status
	if revisionOf(w.pod("web-0")) != old || revisionOf(w.pod("web-1")) != old {
		t.Errorf("pets below the partition were updated: %v", w.describe())
	}
	if s.CurrentRevision != old || s.UpdatedReplicas != 1 || s.CurrentReplicas != 2 {
		t.Errorf("status current %s (%d) updated %d, want %s (2) and 1", s.CurrentRevision, s.CurrentReplicas, s.UpdatedReplicas, old)
	}
	w.userDelete("web-0")
	w.run("web-0 back", func() bool { return liveAndReady(w.pod("web-0")) })
	if revisionOf(w.pod("web-0")) != old {
		t.Errorf("web-0 came back at %s, want the current revision %s", revisionOf(w.pod("web-0")), old)
	}
	w.edit(func(s *v1.PetSetSpec) { s.UpdateStrategy.RollingUpdate.Partition = ptr(int32(0)) })
	w.run("rolled out", func() bool { return rolledOut(w) })
}

func maxUnavailableUpdate(t *testing.T, w *world, cfg config) {
	w.scale(4)
	upAndReady(w, 4)
	w.edit(func(s *v1.PetSetSpec) {
		setVersion("v2")(s)
		s.UpdateStrategy.RollingUpdate.MaxUnavailable = ptr(intstr.FromInt32(2))
	})
	w.step()
	var down []string
	for _, p := range w.pods {
		if isTerminating(p) {
			down = append(down, p.Name)
		}
	}
	if !slices.Equal(down, []string{"web-2", "web-3"}) {
		t.Errorf("first update step deleted %v, want web-3 and web-2 at once", down)
	}
	w.run("rolled out", func() bool { return rolledOut(w) })
}

func minReadySeconds(t *testing.T, w *world, cfg config) {
	w.edit(func(s *v1.PetSetSpec) { s.MinReadySeconds = 10 })
	w.step()
	w.ready()
	w.step()
	if s := w.set.Status; s.ReadyReplicas == 0 || s.AvailableReplicas != 0 {
		t.Errorf("status ready %d available %d before minReadySeconds, want some ready and none available", s.ReadyReplicas, s.AvailableReplicas)
	}
	if w.wait != 10*time.Second {
		t.Errorf("asked to look again in %v, want 10s", w.wait)
	}
	if cfg.ordered() && w.pod("web-1") != nil {
		t.Errorf("web-1 created before web-0 was available")
	}
	w.run("3 available", func() bool { return w.set.Status.AvailableReplicas == 3 })
	w.edit(setVersion("v2")) // the world checks each deletion waits for availability
	w.run("rolled out", func() bool { return rolledOut(w) && w.set.Status.AvailableReplicas == 3 })
}

func onDelete(t *testing.T, w *world, cfg config) {
	upAndReady(w, 3)
	old := w.set.Status.CurrentRevision
	mark := len(w.log)
	w.edit(func(s *v1.PetSetSpec) {
		setVersion("v2")(s)
		s.UpdateStrategy = v1.PetSetUpdateStrategy{Type: v1.OnDeletePetSetStrategyType}
	})
	for range 4 {
		w.step()
		w.ready()
	}
	if got := deletesSince(w, mark); len(got) != 0 {
		t.Fatalf("OnDelete deleted %v", got)
	}
	s := w.set.Status
	if s.CurrentRevision != old || s.UpdateRevision == old || s.UpdatedReplicas != 0 {
		t.Errorf("status current %s update %s updated %d", s.CurrentRevision, s.UpdateRevision, s.UpdatedReplicas)
	}
	w.userDelete("web-1")
	w.run("web-1 back", func() bool { return liveAndReady(w.pod("web-1")) })
	if revisionOf(w.pod("web-1")) != s.UpdateRevision || revisionOf(w.pod("web-0")) != old {
		t.Errorf("after deleting web-1: %v, want only web-1 at %s", w.describe(), s.UpdateRevision)
	}
}

func rollback(t *testing.T, w *world, cfg config) {
	w.edit(func(s *v1.PetSetSpec) { s.RevisionHistoryLimit = ptr(int32(2)) })
	upAndReady(w, 3)
	first := w.set.Status.UpdateRevision
	for _, v := range []string{"v2", "v3"} {
		w.edit(setVersion(v))
		w.run("rolled out "+v, func() bool { return rolledOut(w) })
	}
	w.edit(setVersion("v1"))
	w.run("rolled back", func() bool { return rolledOut(w) })
	if got := w.set.Status.UpdateRevision; got != first {
		t.Errorf("rollback made revision %s, want the first one, %s, reused", got, first)
	}
	if r := w.revs[first]; r == nil || r.Revision != 4 {
		t.Errorf("rolled-back revision %+v, want it renumbered 4", r)
	}
	for _, v := range []string{"v4", "v5"} {
		w.edit(setVersion(v))
		w.run("rolled out "+v, func() bool { return rolledOut(w) })
	}
	// The status names v5 current only at the end of the reconcile that
	// completes the rollout; the next one trims the history with it.
	w.step()
	// Live: the v5 revision; history: at most 2 more (v1 and v4).
	if len(w.revs) != 3 {
		t.Errorf("%d revisions kept, want 3 (the live one and revisionHistoryLimit 2)", len(w.revs))
	}
	var numbers []int64
	for _, r := range w.revs {
		numbers = append(numbers, r.Revision)
	}
	slices.Sort(numbers)
	if !slices.Equal(numbers, []int64{4, 5, 6}) {
		t.Errorf("revision numbers %v, want 4 5 6", numbers)
	}
}

func ptr[T any](v T) *T { return &v }

// liveAndReady reports whether p exists, is not terminating, and is
// Running and Ready.
func liveAndReady(p *v1.Pod) bool { return p != nil && !isTerminating(p) && isRunningAndReady(p) }

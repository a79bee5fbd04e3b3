package petset

import (
	"strings"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

func TestRollbackTarget(t *testing.T) {
	revs := []*v1.ControllerRevision{{Revision: 3}, {Revision: 1}, {Revision: 2}}
	for i, r := range revs {
		r.Name = "r" + string(rune('a'+i))
	}
	tests := []struct {
		revs []*v1.ControllerRevision
		to   int64
		want string // name, or "error"
	}{
		{revs, 0, "rc"}, // the newest but one: revision 2
		{revs, 1, "rb"},
		{revs, 9, "error"},
		{revs, -1, "error"},
		{revs[:1], 0, "error"},
	}
	for _, tc := range tests {
		got, err := RollbackTarget(tc.revs, tc.to)
		name := "error"
		if err == nil {
			name = got.Name
		}
		if name != tc.want {
			t.Errorf("RollbackTarget(%d revisions, %d) = %s (%v), want %s", len(tc.revs), tc.to, name, err, tc.want)
		}
	}
}

func TestRollbackAndRevisions(t *testing.T) {
	w := newWorld(t, webSet(config{policy: v1.OrderedReadyPodManagement}, 1))
	old, _ := newRevision(w.set, w.k.set, 1, 0)
	old.UID = "r1"
	w.edit(setVersion("v2"))
	cur, _ := newRevision(w.set, w.k.set, 2, 0)
	foreign := &v1.ControllerRevision{ObjectMeta: v1.ObjectMeta{Name: "x"}, Revision: 9}
	revs := Revisions(w.set, []*v1.ControllerRevision{cur, foreign, old})
	if len(revs) != 2 || revs[0] != old || revs[1] != cur {
		t.Fatalf("Revisions = %v, want the set's two, oldest first", revs)
	}
	back, changed, err := Rollback(w.set, old)
	if err != nil || !changed || back.Spec.Template.Spec.Containers[0].Args[0] != "v1" || w.set.Spec.Template.Spec.Containers[0].Args[0] != "v2" {
		t.Errorf("Rollback = changed %v, err %v; want a copy with the v1 template", changed, err)
	}
	if _, changed, _ := Rollback(w.set, cur); changed {
		t.Errorf("rolling back to the current template reports a change")
	}
	if tmpl, err := TemplateOf(old); err != nil || tmpl.Labels["app"] != "web" {
		t.Errorf("TemplateOf = %+v, %v", tmpl, err)
	}
}

func TestRolloutStatus(t *testing.T) {
	base := func() *v1.PetSet {
		w := newWorld(t, webSet(config{policy: v1.OrderedReadyPodManagement}, 3))
		s := w.set
		s.Status = v1.PetSetStatus{ObservedGeneration: 1, Replicas: 3, ReadyReplicas: 3, CurrentReplicas: 3, UpdatedReplicas: 3,
			CurrentRevision: "web-a", UpdateRevision: "web-a"}
		return s
	}
	tests := []struct {
		name   string
		change func(*v1.PetSet)
		done   bool
		msg    string
	}{
		{"complete", func(*v1.PetSet) {}, true, "rolling update complete 3 pods at revision web-a"},
		{"not observed", func(s *v1.PetSet) { s.Generation = 2 }, false, "Waiting for petset spec update to be observed"},
		{"not ready", func(s *v1.PetSet) { s.Status.ReadyReplicas = 1 }, false, "Waiting for 2 pods to be ready"},
		{"rolling", func(s *v1.PetSet) { s.Status.UpdateRevision, s.Status.UpdatedReplicas = "web-b", 1 }, false,
			"waiting for petset rolling update to complete 1 pods at revision web-b"},
		{"partitioned", func(s *v1.PetSet) {
			s.Spec.UpdateStrategy.RollingUpdate.Partition = ptr(int32(1))
			s.Status.UpdateRevision, s.Status.UpdatedReplicas = "web-b", 1
		}, false, "1 out of 2 new pods have been updated"},
		{"partition done", func(s *v1.PetSet) {
			s.Spec.UpdateStrategy.RollingUpdate.Partition = ptr(int32(2))
			s.Status.UpdateRevision, s.Status.UpdatedReplicas = "web-b", 1
		}, true, "partitioned roll out complete: 1 new pods"},
	}
	for _, tc := range tests {
		s := base()
		tc.change(s)
		msg, done, err := RolloutStatus(s)
		if err != nil || done != tc.done || !strings.Contains(msg, tc.msg) {
			t.Errorf("%s: RolloutStatus = %q, %v, %v; want %q, %v", tc.name, msg, done, err, tc.msg, tc.done)
		}
	}
	s := base()
	s.Spec.UpdateStrategy = v1.PetSetUpdateStrategy{Type: v1.OnDeletePetSetStrategyType}
	if _, _, err := RolloutStatus(s); err == nil {
		t.Errorf("RolloutStatus under OnDelete: no error")
	}
}

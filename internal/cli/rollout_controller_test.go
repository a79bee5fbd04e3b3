package cli_test

import (
	"context"
	"slices"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
	"github.com/kennel-dev/kennel/internal/controller/petset"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// runPetSetController runs the real PetSet controller against the env's
// cluster until the test ends.
func (e *env) runPetSetController() {
	e.t.Helper()
	pc, err := petset.New(e.tc.Admin, nil, controller.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); pc.Run(ctx) }()
	e.t.Cleanup(func() { cancel(); <-done })
}

// revisionsOf lists the numbers of the revisions set owns, sorted.
func (e *env) revisionsOf(set *v1.PetSet) map[int64]*v1.ControllerRevision {
	e.t.Helper()
	l, err := client.For[*v1.ControllerRevision](e.tc.Admin, set.Namespace).ListAll(e.ctx(), client.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[int64]*v1.ControllerRevision{}
	for _, r := range l.Items {
		if v1.IsControlledBy(r, set) {
			out[r.Revision] = r
		}
	}
	return out
}

func numbers(revs map[int64]*v1.ControllerRevision) []int64 {
	var n []int64
	for k := range revs {
		n = append(n, k)
	}
	slices.Sort(n)
	return n
}

// TestRolloutWithThePetSetController checks that history and undo read
// the revisions the real controller writes, and that get shows the
// revisions it reports.
func TestRolloutWithThePetSetController(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.runPetSetController()
	first := e.createPetSet("db", 2)
	wait := func(what string, want ...int64) map[int64]*v1.ControllerRevision {
		var revs map[int64]*v1.ControllerRevision
		testcluster.Eventually(t, 10*time.Second, what, func() bool {
			revs = e.revisionsOf(first)
			return slices.Equal(numbers(revs), want)
		})
		return revs
	}
	wait("revision 1", 1)

	for {
		// The controller writes the set's status meanwhile: retry on conflict.
		s := e.petSet("db")
		s.Annotations = map[string]string{"kubernetes.io/change-cause": "sleep longer"}
		s.Spec.Template = podTemplate("db", "sleep", "2000")
		_, err := client.For[*v1.PetSet](e.tc.Admin, "default").Update(e.ctx(), s)
		if err == nil {
			break
		}
		if !v1.IsConflict(err) {
			t.Fatal(err)
		}
	}
	revs := wait("revision 2", 1, 2)
	if got, want := fieldLines(e.mustRun("rollout", "history", "petset", "db")), "petset.apps/db\nREVISION CHANGE-CAUSE\n1 <none>\n2 sleep longer"; got != want {
		t.Errorf("rollout history:\n%s\nwant\n%s", got, want)
	}
	testcluster.Eventually(t, 10*time.Second, "the status to name revision 2", func() bool {
		return e.petSet("db").Status.UpdateRevision == revs[2].Name
	})
	wantContains(t, "get petsets", e.mustRun("get", "petsets"), revs[2].Name, "0/2")

	wantLines(t, "undo", e.mustRun("rollout", "undo", "petset", "db"), "petset.apps/db rolled back to revision 1")
	if got := e.petSet("db").Spec.Template; jsonOf(t, got) != jsonOf(t, first.Spec.Template) {
		t.Errorf("after undo the template is\n%s\nwant the first\n%s", jsonOf(t, got), jsonOf(t, first.Spec.Template))
	}
	// The controller makes the restored template the newest revision.
	wait("revision 1 to become revision 3", 2, 3)
	wantLines(t, "undo back", e.mustRun("rollout", "undo", "petset", "db"), "petset.apps/db rolled back to revision 2")
}

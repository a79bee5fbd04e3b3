package cli_test

import (
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

func TestGetPetSetsShowsRevisions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createPetSet("db", 3)
	e.setPetSetStatus("db", v1.PetSetStatus{Replicas: 3, ReadyReplicas: 2, CurrentReplicas: 2, UpdatedReplicas: 1,
		CurrentRevision: "db-7b9f", UpdateRevision: "db-5c4d"})
	e.createPetSet("fresh", 1)

	for _, kind := range []string{"petsets", "statefulsets", "sts", "ps"} {
		got := fieldLines(e.mustRun("get", kind, "--no-headers"))
		// AGE is the last column and varies.
		if want := "db 2/3 db-7b9f db-5c4d"; len(got) < len(want) || got[:len(want)] != want {
			t.Errorf("get %s:\n%s\nwant a row starting %q", kind, got, want)
		}
	}
	wantContains(t, "get petsets", fieldLines(e.mustRun("get", "petsets")), "NAME READY CURRENT UPDATED AGE", "fresh 0/1 <none> <none>")
	wantContains(t, "get petsets -o wide", fieldLines(e.mustRun("get", "petset", "db", "-o", "wide")),
		"NAME READY CURRENT UPDATED AGE SERVICE CURRENT-PETS UPDATED-PETS", " db 2 1")
}

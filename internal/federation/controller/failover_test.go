package controller

import (
	"reflect"
	"testing"

	"github.com/kennel-dev/kennel/internal/federation/placement"
)

func TestMoveFailedRanges(t *testing.T) {
	r := func(c string, s, n int32) placement.Range { return placement.Range{Cluster: c, Start: s, Count: n} }
	cases := []struct {
		name               string
		ranges             []placement.Range
		failed             []string
		eligible           []string
		want, moved, stuck []placement.Range
	}{
		{"to a cluster with none", []placement.Range{r("a", 0, 2), r("b", 2, 2), r("c", 4, 1)}, []string{"b"}, []string{"a", "c", "d"},
			[]placement.Range{r("a", 0, 2), r("d", 2, 2), r("c", 4, 1)}, []placement.Range{r("d", 2, 2)}, nil},
		{"to the cluster below", []placement.Range{r("a", 0, 2), r("b", 2, 2), r("c", 4, 1)}, []string{"b"}, []string{"a", "c"},
			[]placement.Range{r("a", 0, 4), r("c", 4, 1)}, []placement.Range{r("a", 2, 2)}, nil},
		{"to the cluster above", []placement.Range{r("a", 0, 2), r("b", 2, 2), r("c", 4, 1)}, []string{"b"}, []string{"c"},
			[]placement.Range{r("a", 0, 2), r("c", 2, 3)}, []placement.Range{r("c", 2, 2)}, nil},
		{"never to a failed cluster", []placement.Range{r("a", 0, 2), r("b", 2, 2)}, []string{"a", "b"}, []string{"a", "b"},
			[]placement.Range{r("a", 0, 2), r("b", 2, 2)}, nil, []placement.Range{r("a", 0, 2), r("b", 2, 2)}},
		{"stuck: no neighbour may take it", []placement.Range{r("a", 0, 2), r("b", 2, 2), r("c", 4, 1)}, []string{"a"}, []string{"c"},
			[]placement.Range{r("a", 0, 2), r("b", 2, 2), r("c", 4, 1)}, nil, []placement.Range{r("a", 0, 2)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			failed := map[string]bool{}
			for _, f := range c.failed {
				failed[f] = true
			}
			got, moved, stuck := moveFailedRanges(c.ranges, failed, c.eligible)
			if !reflect.DeepEqual(got, c.want) || !reflect.DeepEqual(moved, c.moved) || !reflect.DeepEqual(stuck, c.stuck) {
				t.Errorf("got %v moved %v stuck %v\nwant %v moved %v stuck %v", got, moved, stuck, c.want, c.moved, c.stuck)
			}
		})
	}
}

// TestNoTwoClustersRunOnePet: the checks that keep a mixed view of the
// Works from writing shares under which two clusters would run one pet.
func TestNoTwoClustersRunOnePet(t *testing.T) {
	r := func(c string, s, n int32) placement.Range { return placement.Range{Cluster: c, Start: s, Count: n} }
	if !validRanges([]placement.Range{r("b", 2, 2), r("a", 0, 2), r("c", 4, 0)}) {
		t.Error("a valid assignment refused")
	}
	for _, bad := range [][]placement.Range{
		{r("a", 0, 2), r("b", 1, 1)}, // overlap: a mix of old and new
		{r("a", 0, 1), r("b", 2, 1)}, // gap
		{r("a", 0, 1), r("a", 1, 1)}, // one cluster twice
	} {
		if validRanges(bad) {
			t.Errorf("%v taken for an assignment", bad)
		}
	}
	i := func(v int32) *int32 { return &v }
	if !overlapping(map[string]share{"a": {replicas: i(2), ordinalStart: i(0)}, "b": {replicas: i(1), ordinalStart: i(1)}}) {
		t.Error("a (0-1) and b (1) overlap, not reported")
	}
	if overlapping(map[string]share{"a": {replicas: i(2), ordinalStart: i(0)}, "b": {replicas: i(0), ordinalStart: i(1)}, "c": {replicas: i(1), ordinalStart: i(2)}}) {
		t.Error("disjoint shares reported as overlapping")
	}
}

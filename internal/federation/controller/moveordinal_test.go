package controller

import (
	"slices"
	"testing"

	"github.com/kennel-dev/kennel/internal/federation/placement"
)

func TestMoveOrdinal(t *testing.T) {
	r := func(c string, start, n int32) placement.Range {
		return placement.Range{Cluster: c, Start: start, Count: n}
	}
	for _, tc := range []struct {
		name     string
		ranges   []placement.Range
		k        int32
		from, to string
		want     []placement.Range // nil: refused
	}{
		{"top to an empty cluster", []placement.Range{r("a", 0, 3)}, 2, "a", "b", []placement.Range{r("a", 0, 2), r("b", 2, 1)}},
		{"bottom to an empty cluster", []placement.Range{r("a", 0, 3)}, 0, "a", "b", []placement.Range{r("b", 0, 1), r("a", 1, 2)}},
		{"top to the range above", []placement.Range{r("a", 0, 2), r("b", 2, 2)}, 1, "a", "b", []placement.Range{r("a", 0, 1), r("b", 1, 3)}},
		{"bottom to the range below", []placement.Range{r("a", 0, 2), r("b", 2, 2)}, 2, "b", "a", []placement.Range{r("a", 0, 3), r("b", 3, 1)}},
		{"the last pet of a cluster", []placement.Range{r("a", 0, 1), r("b", 1, 1)}, 0, "a", "b", []placement.Range{r("b", 0, 2)}},
		{"the middle of a range", []placement.Range{r("a", 0, 3)}, 1, "a", "b", nil},
		{"to a range it does not adjoin", []placement.Range{r("b", 0, 1), r("a", 1, 2), r("c", 3, 1)}, 2, "a", "b", nil},
		{"already moved", []placement.Range{r("a", 0, 2), r("b", 2, 1)}, 2, "a", "b", []placement.Range{r("a", 0, 2), r("b", 2, 1)}},
		{"from a cluster with none", []placement.Range{r("a", 0, 2)}, 1, "c", "b", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := moveOrdinal(tc.ranges, tc.k, tc.from, tc.to)
			if ok != (tc.want != nil) || !slices.Equal(got, tc.want) {
				t.Fatalf("moveOrdinal(%v, %d, %s, %s) = %v, %v; want %v", tc.ranges, tc.k, tc.from, tc.to, got, ok, tc.want)
			}
			if ok && !validRanges(got) {
				t.Fatalf("%v is not one contiguous range per cluster", got)
			}
		})
	}
}

package placement

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

func TestAssignOrdinals(t *testing.T) {
	t.Parallel()
	abc := []string{"a", "b", "c"}
	fivePets := []Range{{"a", 0, 2}, {"b", 2, 2}, {"c", 4, 1}}
	tests := []struct {
		name       string
		prev       []Range
		desired    map[string]int32
		order      []string
		want       []Range
		reassigned bool
	}{
		{"first placement", nil, map[string]int32{"a": 2, "b": 2, "c": 1}, abc,
			fivePets, false},
		{"first placement follows order, skips empty shares", nil, map[string]int32{"a": 2, "b": 0, "c": 1}, []string{"c", "b", "a"},
			[]Range{{"c", 0, 1}, {"a", 1, 2}}, false},
		{"same total, new split: nothing moves", fivePets, map[string]int32{"a": 1, "b": 1, "c": 3}, abc,
			fivePets, false},
		{"scale up: the top range grows to its share", fivePets, map[string]int32{"a": 2, "b": 2, "c": 3}, abc,
			[]Range{{"a", 0, 2}, {"b", 2, 2}, {"c", 4, 3}}, false},
		{"scale up: the remainder goes to the last range", fivePets, map[string]int32{"a": 3, "b": 3, "c": 2}, abc,
			[]Range{{"a", 0, 2}, {"b", 2, 2}, {"c", 4, 4}}, false},
		{"scale up: a new cluster gets a new range", []Range{{"a", 0, 2}, {"b", 2, 2}}, map[string]int32{"a": 2, "b": 2, "c": 2}, abc,
			[]Range{{"a", 0, 2}, {"b", 2, 2}, {"c", 4, 2}}, false},
		{"scale up: top first, then new clusters in order", []Range{{"a", 0, 2}, {"b", 2, 1}}, map[string]int32{"a": 2, "b": 2, "c": 2, "d": 1}, []string{"d", "a", "b", "c"},
			[]Range{{"a", 0, 2}, {"b", 2, 2}, {"d", 4, 1}, {"c", 5, 2}}, false},
		{"scale down across ranges: highest ordinals first", fivePets, map[string]int32{"a": 1, "b": 1, "c": 1}, abc,
			[]Range{{"a", 0, 2}, {"b", 2, 1}}, false},
		{"scale to zero", fivePets, map[string]int32{"a": 0, "b": 0, "c": 0}, abc,
			nil, false},
		{"scale up from zero is a first placement", nil, map[string]int32{"b": 1, "c": 1}, abc,
			[]Range{{"b", 0, 1}, {"c", 1, 1}}, false},
		{"a departed cluster: laid out afresh", fivePets, map[string]int32{"a": 3, "c": 2}, []string{"a", "c"},
			[]Range{{"a", 0, 3}, {"c", 3, 2}}, true},
		{"a departed cluster whose whole range is scaled away moves nothing", fivePets, map[string]int32{"a": 1, "b": 3}, []string{"a", "b"},
			[]Range{{"a", 0, 2}, {"b", 2, 2}}, false},
		{"prev in any order, empty ranges ignored", []Range{{"c", 4, 1}, {"x", 5, 0}, {"a", 0, 2}, {"b", 2, 2}}, map[string]int32{"a": 2, "b": 2, "c": 1}, abc,
			fivePets, false},
		{"prev with a gap: laid out afresh", []Range{{"a", 0, 2}, {"b", 3, 2}}, map[string]int32{"a": 2, "b": 2}, abc,
			[]Range{{"a", 0, 2}, {"b", 2, 2}}, true},
		{"prev with a cluster twice: laid out afresh", []Range{{"a", 0, 1}, {"b", 1, 1}, {"a", 2, 1}}, map[string]int32{"a": 2, "b": 1}, abc,
			[]Range{{"a", 0, 2}, {"b", 2, 1}}, true},
		{"shares of clusters not in order are ignored", nil, map[string]int32{"a": 1, "z": 5}, abc,
			[]Range{{"a", 0, 1}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			prev := slices.Clone(tt.prev)
			got, reassigned := AssignOrdinals(tt.prev, tt.desired, tt.order)
			if !slices.Equal(got, tt.want) || reassigned != tt.reassigned {
				t.Errorf("AssignOrdinals = %v, %v; want %v, %v", got, reassigned, tt.want, tt.reassigned)
			}
			if !slices.Equal(prev, tt.prev) {
				t.Errorf("AssignOrdinals changed prev to %v", tt.prev)
			}
		})
	}
}

func TestCounts(t *testing.T) {
	t.Parallel()
	got := Counts([]Range{{"a", 0, 2}, {"b", 2, 3}})
	if want := map[string]int32{"a": 2, "b": 3}; !maps.Equal(got, want) {
		t.Errorf("Counts = %v, want %v", got, want)
	}
}

// TestPropertyAssignOrdinals runs random sequences of selections and
// desired splits through AssignOrdinals, each step from the last one's
// ranges, and checks after every step: the ranges cover 0 … total-1
// exactly, one per selected cluster; unless a pet's cluster was
// deselected (then reassigned is true and the layout is fresh), every
// ordinal that survives keeps its cluster — on scale down, scale up and
// a new split alike.
//
//	go test -run TestPropertyAssignOrdinals ./internal/federation/placement/ -rapid.checks=10000
func TestPropertyAssignOrdinals(t *testing.T) {
	t.Parallel()
	pool := []string{"a", "b", "c", "d", "e"}
	rapid.Check(t, func(t *rapid.T) {
		var prev []Range
		for step := range rapid.IntRange(1, 8).Draw(t, "steps") {
			order := rapid.Permutation(pool).Draw(t, "order")
			order = order[:rapid.IntRange(1, len(pool)).Draw(t, "selected")]
			desired := map[string]int32{}
			var total int32
			for _, c := range order {
				desired[c] = rapid.Int32Range(0, 4).Draw(t, "share")
				total += desired[c]
			}
			got, reassigned := AssignOrdinals(prev, desired, order)
			if err := checkCover(got, total, order); err != nil {
				t.Fatalf("step %d: AssignOrdinals(%v, %v, %v) = %v: %v", step, prev, desired, order, got, err)
			}
			if err := checkSticky(prev, got, reassigned, desired, order); err != nil {
				t.Fatalf("step %d: AssignOrdinals(%v, %v, %v) = %v, %v: %v", step, prev, desired, order, got, reassigned, err)
			}
			prev = got
		}
	})
}

// checkCover checks that ranges cover 0 … total-1 in order, one non-empty
// range per cluster, every cluster selected.
func checkCover(ranges []Range, total int32, order []string) error {
	var next int32
	seen := map[string]bool{}
	for _, r := range ranges {
		switch {
		case r.Start != next:
			return fmt.Errorf("range %v starts at %d, want %d", r, r.Start, next)
		case r.Count <= 0:
			return fmt.Errorf("range %v is empty", r)
		case seen[r.Cluster]:
			return fmt.Errorf("cluster %s has two ranges", r.Cluster)
		case !slices.Contains(order, r.Cluster):
			return fmt.Errorf("cluster %s is not selected", r.Cluster)
		}
		seen[r.Cluster] = true
		next += r.Count
	}
	if next != total {
		return fmt.Errorf("ranges cover 0 … %d, want 0 … %d", next-1, total-1)
	}
	return nil
}

// checkSticky checks that every ordinal below both totals keeps its
// cluster, except when one of them is in a deselected cluster: then all
// is laid out afresh, every cluster its desired share in order.
func checkSticky(prev, got []Range, reassigned bool, desired map[string]int32, order []string) error {
	kept := min(end(got), end(prev))
	departed := false
	for o := range kept {
		departed = departed || !slices.Contains(order, owner(prev, o))
	}
	if departed != reassigned {
		return fmt.Errorf("reassigned = %v, but a surviving pet's cluster left: %v", reassigned, departed)
	}
	if reassigned {
		if counts := Counts(got); !sameShares(counts, desired) {
			return fmt.Errorf("a fresh layout gives %v, want the desired %v", counts, desired)
		}
		return nil
	}
	for o := range kept {
		if a, b := owner(prev, o), owner(got, o); a != b {
			return fmt.Errorf("pet %d moved from %s to %s", o, a, b)
		}
	}
	return nil
}

// sameShares compares per-cluster counts, a missing cluster counting 0.
func sameShares(a, b map[string]int32) bool {
	for k := range a {
		if a[k] != b[k] {
			return false
		}
	}
	for k := range b {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}

// owner is the cluster whose range holds ordinal o, "" when none does.
func owner(ranges []Range, o int32) string {
	for _, r := range ranges {
		if o >= r.Start && o < r.Start+r.Count {
			return r.Cluster
		}
	}
	return ""
}

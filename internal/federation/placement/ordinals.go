package placement

import (
	"cmp"
	"slices"
)

// Range is the ordinals one cluster runs of a divided PetSet: Start to
// Start+Count-1. In a member, the cluster's PetSet has spec.replicas Count
// and spec.ordinals.start Start.
type Range struct {
	Cluster      string
	Start, Count int32
}

// AssignOrdinals divides the ordinals 0 … total-1 of a divided PetSet
// into one contiguous range per cluster, total being the sum of the
// desired shares of the clusters in order (the selected clusters; a share
// of a cluster not in order is ignored). The ranges are ordered by Start,
// cover every ordinal once, and omit clusters with no ordinal.
//
// A pet's identity must not move between clusters because of an unrelated
// change, so assignments are sticky, starting from prev (the last
// assignment), and the desired shares are only followed as far as that
// allows:
//
//   - no prev: ranges are laid out in order, each cluster its share;
//   - scale down: the highest ordinals are removed, cutting from the top
//     range down, whichever clusters they run in;
//   - scale up: the top range grows to its cluster's share, then clusters
//     with no range and a positive share get new ranges in order, and any
//     remainder goes to the last range;
//   - same total: prev stays.
//
// When a cluster that still holds a range afterwards is not in order any
// more (it is no longer selected), or prev is not a valid assignment,
// everything is laid out afresh as with no prev, and reassigned is true:
// pets move, and the caller must say so. A cluster that left while a
// scale-down removed its whole range moves nothing.
func AssignOrdinals(prev []Range, desired map[string]int32, order []string) (ranges []Range, reassigned bool) {
	order = unique(order)
	var total int32
	for _, c := range order {
		total += max(desired[c], 0)
	}
	cur, ok := normalize(prev)
	if !ok {
		return grow(nil, desired, order, total), true
	}
	switch had := end(cur); {
	case total < had:
		cur = truncate(cur, total)
	case total > had:
		cur = grow(cur, desired, order, total-had)
	}
	selected := set(order)
	for _, r := range cur {
		if !selected[r.Cluster] {
			return grow(nil, desired, order, total), true
		}
	}
	return cur, false
}

// Counts is the number of ordinals of each cluster in ranges.
func Counts(ranges []Range) map[string]int32 {
	out := make(map[string]int32, len(ranges))
	for _, r := range ranges {
		out[r.Cluster] += r.Count
	}
	return out
}

// normalize returns a sorted copy of prev without empty ranges, and
// whether it is a valid assignment: contiguous from 0, one range per
// cluster.
func normalize(prev []Range) ([]Range, bool) {
	var out []Range
	for _, r := range prev {
		if r.Count > 0 {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Range) int { return cmp.Compare(a.Start, b.Start) })
	seen := map[string]bool{}
	var next int32
	for _, r := range out {
		if r.Start != next || seen[r.Cluster] {
			return nil, false
		}
		seen[r.Cluster] = true
		next += r.Count
	}
	return out, true
}

// end is the first ordinal after the sorted, contiguous ranges.
func end(ranges []Range) int32 {
	if len(ranges) == 0 {
		return 0
	}
	last := ranges[len(ranges)-1]
	return last.Start + last.Count
}

// truncate removes the ordinals from total up.
func truncate(ranges []Range, total int32) []Range {
	var out []Range
	for _, r := range ranges {
		if r.Start >= total {
			break
		}
		r.Count = min(r.Count, total-r.Start)
		out = append(out, r)
	}
	return out
}

// grow adds n ordinals after the sorted, contiguous ranges: first to the
// top range, up to its cluster's share, then as new ranges for the
// clusters that have none, in order, up to their shares, and what is left
// to the last range.
func grow(ranges []Range, desired map[string]int32, order []string, n int32) []Range {
	if len(ranges) > 0 {
		top := &ranges[len(ranges)-1]
		more := min(max(desired[top.Cluster]-top.Count, 0), n)
		top.Count += more
		n -= more
	}
	has := map[string]bool{}
	for _, r := range ranges {
		has[r.Cluster] = true
	}
	for _, c := range order {
		if n == 0 {
			break
		}
		if share := min(desired[c], n); share > 0 && !has[c] {
			ranges = append(ranges, Range{Cluster: c, Start: end(ranges), Count: share})
			has[c] = true
			n -= share
		}
	}
	if n > 0 && len(ranges) > 0 {
		ranges[len(ranges)-1].Count += n
	}
	return ranges
}

// unique is names without repeats, in order of first appearance.
func unique(names []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

package placement

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// Divide divides total replicas among clusters (the selected clusters, in
// order) under ReplicaScheduling Divided. The result has an entry for
// every cluster, zero included, and its shares sum to total exactly.
//
// With weights, a cluster's share is proportional to the weight of the
// entry naming it (0 when none does); all weights zero is an error.
// Without weights, shares are proportional to capacity (how many replicas
// fit in each cluster; see FitReplicas): no cluster gets more than its
// capacity while total fits in the summed capacity. When it does not
// (Shortfall is positive) the same proportions divide the overflow too,
// and the caller reports the shortfall. All capacities zero divides
// equally. Capacities above math.MaxInt32 count as math.MaxInt32: such a
// cluster fits any total on its own.
//
// Both use the largest-remainder method, ties going to the cluster
// earlier in clusters.
func Divide(total int32, clusters []string, weights []v1.ClusterWeight, capacity map[string]int64) (map[string]int32, error) {
	if total < 0 {
		return nil, fmt.Errorf("placement: replicas: %d is negative", total)
	}
	if len(clusters) == 0 {
		if total == 0 {
			return map[string]int32{}, nil
		}
		return nil, fmt.Errorf("placement: no clusters to divide %d replicas among", total)
	}
	parts := make([]int64, len(clusters))
	if len(weights) > 0 {
		if err := weightsOf(clusters, weights, parts); err != nil {
			return nil, err
		}
	} else {
		for i, c := range clusters {
			parts[i] = min(max(capacity[c], 0), math.MaxInt32)
		}
	}
	if !slices.ContainsFunc(parts, func(p int64) bool { return p > 0 }) {
		if len(weights) > 0 {
			return nil, fmt.Errorf("placement: replicaScheduling.weights: no selected cluster (%v) has a weight above zero", clusters)
		}
		for i := range parts {
			parts[i] = 1
		}
	}
	shares := largestRemainder(int64(total), parts)
	out := make(map[string]int32, len(clusters))
	for i, c := range clusters {
		out[c] += int32(shares[i])
	}
	return out, nil
}

// Shortfall is how many of total replicas do not fit in the summed
// capacity of clusters (0 when they all fit): under dynamic division,
// Divide still places them, over capacity.
func Shortfall(total int32, clusters []string, capacity map[string]int64) int32 {
	var sum int64
	for _, c := range clusters {
		sum += min(max(capacity[c], 0), math.MaxInt32)
		if sum >= int64(total) {
			return 0
		}
	}
	return total - int32(sum)
}

// weightsOf fills parts with the weight of each cluster.
func weightsOf(clusters []string, weights []v1.ClusterWeight, parts []int64) error {
	byName := map[string]int64{}
	for i, w := range weights {
		if w.Weight < 0 {
			return fmt.Errorf("placement: replicaScheduling.weights[%d].weight: %d is negative", i, w.Weight)
		}
		for _, c := range w.Clusters {
			if _, dup := byName[c]; !dup {
				byName[c] = int64(w.Weight)
			}
		}
	}
	for i, c := range clusters {
		parts[i] = byName[c]
	}
	return nil
}

// largestRemainder divides total in proportion to parts (not all zero, each
// at most math.MaxInt32, so products fit in int64): each gets the floor of
// its quota, and what is left goes one by one to the largest remainders,
// earlier parts first on ties.
func largestRemainder(total int64, parts []int64) []int64 {
	var sum int64
	for _, p := range parts {
		sum += p
	}
	shares := make([]int64, len(parts))
	rems := make([]int64, len(parts))
	left := total
	for i, p := range parts {
		// total*p fits: total and p are at most MaxInt32.
		shares[i] = total * p / sum
		rems[i] = total * p % sum
		left -= shares[i]
	}
	idx := make([]int, len(parts))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(rems[b], rems[a]) })
	for _, i := range idx[:left] {
		shares[i]++
	}
	return shares
}

package placement

import (
	"fmt"
	"maps"
	"testing"

	"pgregory.net/rapid"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

func TestDivide(t *testing.T) {
	t.Parallel()
	abc := []string{"a", "b", "c"}
	tests := []struct {
		name      string
		total     int32
		clusters  []string
		weights   []v1.ClusterWeight
		capacity  map[string]int64
		want      map[string]int32
		shortfall int32
	}{
		{"equal weights, ties to the earlier cluster", 10, abc,
			[]v1.ClusterWeight{{Clusters: abc, Weight: 1}}, nil,
			map[string]int32{"a": 4, "b": 3, "c": 3}, 0},
		{"ties follow the order of clusters", 10, []string{"c", "b", "a"},
			[]v1.ClusterWeight{{Clusters: abc, Weight: 1}}, nil,
			map[string]int32{"c": 4, "b": 3, "a": 3}, 0},
		{"largest remainder, not the largest weight", 5, []string{"a", "b"},
			[]v1.ClusterWeight{{Clusters: []string{"a"}, Weight: 2}, {Clusters: []string{"b"}, Weight: 1}}, nil,
			map[string]int32{"a": 3, "b": 2}, 0},
		{"a cluster no weight names gets none", 6, abc,
			[]v1.ClusterWeight{{Clusters: []string{"a", "c"}, Weight: 1}}, nil,
			map[string]int32{"a": 3, "b": 0, "c": 3}, 0},
		{"weights over capacity: capacity ignored", 4, []string{"a", "b"},
			[]v1.ClusterWeight{{Clusters: []string{"a", "b"}, Weight: 1}}, map[string]int64{"a": 0, "b": 9},
			map[string]int32{"a": 2, "b": 2}, 0},
		{"by capacity", 5, []string{"a", "b"}, nil, map[string]int64{"a": 2, "b": 8},
			map[string]int32{"a": 1, "b": 4}, 0},
		{"by capacity, never over it", 50, []string{"a", "b"}, nil, map[string]int64{"a": 1, "b": 100},
			map[string]int32{"a": 0, "b": 50}, 0},
		{"by capacity, exactly full", 7, abc, nil, map[string]int64{"a": 1, "b": 2, "c": 4},
			map[string]int32{"a": 1, "b": 2, "c": 4}, 0},
		{"over capacity: overflow in the same proportions", 8, []string{"a", "b"}, nil, map[string]int64{"a": 1, "b": 3},
			map[string]int32{"a": 2, "b": 6}, 4},
		{"no capacity anywhere: equal", 5, abc, nil, map[string]int64{},
			map[string]int32{"a": 2, "b": 2, "c": 1}, 5},
		{"huge capacities count as MaxInt32", 3, []string{"a", "b"}, nil, map[string]int64{"a": 1 << 40, "b": 1 << 41},
			map[string]int32{"a": 2, "b": 1}, 0},
		{"zero replicas", 0, abc, nil, map[string]int64{"a": 1},
			map[string]int32{"a": 0, "b": 0, "c": 0}, 0},
		{"nothing to divide among nothing", 0, nil, nil, nil, map[string]int32{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Divide(tt.total, tt.clusters, tt.weights, tt.capacity)
			if err != nil {
				t.Fatalf("Divide: %v", err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("Divide = %v, want %v", got, tt.want)
			}
			if tt.weights == nil {
				if s := Shortfall(tt.total, tt.clusters, tt.capacity); s != tt.shortfall {
					t.Errorf("Shortfall = %d, want %d", s, tt.shortfall)
				}
			}
		})
	}
}

func TestDivideErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		total    int32
		clusters []string
		weights  []v1.ClusterWeight
		want     string
	}{
		{"all weights zero", 3, []string{"a", "b"},
			[]v1.ClusterWeight{{Clusters: []string{"a"}, Weight: 0}, {Clusters: []string{"z"}, Weight: 5}},
			"placement: replicaScheduling.weights: no selected cluster ([a b]) has a weight above zero"},
		{"negative weight", 3, []string{"a"}, []v1.ClusterWeight{{Clusters: []string{"a"}, Weight: -1}},
			"placement: replicaScheduling.weights[0].weight: -1 is negative"},
		{"negative total", -1, []string{"a"}, nil, "placement: replicas: -1 is negative"},
		{"no clusters", 2, nil, nil, "placement: no clusters to divide 2 replicas among"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Divide(tt.total, tt.clusters, tt.weights, nil)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Divide = %v, %v; want error %q", got, err, tt.want)
			}
		})
	}
}

// TestPropertyDivide: shares always sum to the total, a cluster without
// weight gets nothing, and by capacity no cluster is over its capacity
// while the total fits.
//
//	go test -run TestPropertyDivide ./internal/federation/placement/ -rapid.checks=10000
func TestPropertyDivide(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 6).Draw(t, "clusters")
		clusters := make([]string, n)
		capacity := map[string]int64{}
		var weights []v1.ClusterWeight
		useWeights := rapid.Bool().Draw(t, "weights")
		allZero := true
		for i := range clusters {
			clusters[i] = fmt.Sprintf("c%d", i)
			capacity[clusters[i]] = rapid.Int64Range(0, 50).Draw(t, "capacity")
			if useWeights {
				w := rapid.Int32Range(0, 10).Draw(t, "weight")
				weights = append(weights, v1.ClusterWeight{Clusters: []string{clusters[i]}, Weight: w})
				allZero = allZero && w == 0
			}
		}
		total := rapid.Int32Range(0, 200).Draw(t, "total")
		shares, err := Divide(total, clusters, weights, capacity)
		if useWeights && allZero {
			if err == nil {
				t.Fatalf("Divide with all weights zero = %v, want an error", shares)
			}
			return
		}
		if err != nil {
			t.Fatalf("Divide: %v", err)
		}
		var sum int32
		weightOf := map[string]int32{}
		for _, w := range weights {
			weightOf[w.Clusters[0]] = w.Weight
		}
		for _, c := range clusters {
			sum += shares[c]
			if useWeights && weightOf[c] == 0 && shares[c] != 0 {
				t.Fatalf("%s has no weight but %d replicas", c, shares[c])
			}
			if !useWeights && Shortfall(total, clusters, capacity) == 0 && int64(shares[c]) > capacity[c] {
				t.Fatalf("%s gets %d replicas, over its capacity %d", c, shares[c], capacity[c])
			}
		}
		if sum != total {
			t.Fatalf("shares %v sum to %d, want %d", shares, sum, total)
		}
	})
}

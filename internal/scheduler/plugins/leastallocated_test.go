package plugins

import (
	"slices"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

func TestLeastAllocated(t *testing.T) {
	node := func(name string, alloc ...string) *v1.Node {
		n := readyNode(name)
		n.Status.Allocatable = resources(alloc...)
		return n
	}
	busy := podWith("cpu", "1", "memory", "1Gi")
	tests := []struct {
		name   string
		plugin LeastAllocated
		pod    *v1.Pod
		nodes  []*framework.NodeInfo
		want   []int64
	}{
		{
			// cpu (4-1)/4 = 75, memory (8-2)/8 = 75.
			name: "Kubernetes formula", pod: podWith("cpu", "1", "memory", "2Gi"),
			nodes: []*framework.NodeInfo{framework.NewNodeInfo(node("a", "cpu", "4", "memory", "8Gi"))},
			want:  []int64{75},
		},
		{
			// cpu (4-2)/4 = 50, memory (8-3)/8 = 62 → 56; the empty node 75.
			name: "pods already there count", pod: podWith("cpu", "1", "memory", "2Gi"),
			nodes: []*framework.NodeInfo{
				framework.NewNodeInfo(node("a", "cpu", "4", "memory", "8Gi"), busy),
				framework.NewNodeInfo(node("b", "cpu", "4", "memory", "8Gi")),
			},
			want: []int64{56, 75},
		},
		{
			// 100m and 200Mi stand in: cpu (1000-100)/1000 = 90,
			// memory (1000Mi-200Mi)/1000Mi = 80.
			name: "no requests count as the defaults", pod: podWith(),
			nodes: []*framework.NodeInfo{framework.NewNodeInfo(node("a", "cpu", "1", "memory", "1000Mi"))},
			want:  []int64{85},
		},
		{
			name: "over-committed scores zero", pod: podWith("cpu", "8", "memory", "16Gi"),
			nodes: []*framework.NodeInfo{framework.NewNodeInfo(node("a", "cpu", "4", "memory", "8Gi"))},
			want:  []int64{0},
		},
		{
			// Only memory is advertised: (8-2)/8 = 75.
			name: "resources the node lacks are left out", pod: podWith("cpu", "1", "memory", "2Gi"),
			nodes: []*framework.NodeInfo{framework.NewNodeInfo(node("a", "memory", "8Gi"))},
			want:  []int64{75},
		},
		{
			// cpu 75 × 1, bandwidth (1000-900)/1000 = 10 × 3 → 105/4 = 26.
			name:   "custom weights and an extended resource",
			plugin: LeastAllocated{Resources: []ResourceWeight{{Name: v1.ResourceCPU, Weight: 1}, {Name: v1.ResourceNetworkBandwidth, Weight: 3}}},
			pod:    podWith("cpu", "1", v1.ResourceNetworkBandwidth, "900M"),
			nodes:  []*framework.NodeInfo{framework.NewNodeInfo(node("a", "cpu", "4", v1.ResourceNetworkBandwidth, "1G"))},
			want:   []int64{26},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scoreAll(t, tt.plugin, tt.pod, tt.nodes); !slices.Equal(got, tt.want) {
				t.Fatalf("scores = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestLeastAllocatedIsNodeResourcesFitsDefault: the deprecated plugin
// and NodeResourcesFit's default scoring strategy are one formula.
func TestLeastAllocatedIsNodeResourcesFitsDefault(t *testing.T) {
	nodes := []*framework.NodeInfo{
		framework.NewNodeInfo(allocNode("a", "cpu", "4", "memory", "8Gi"), podWith("cpu", "3")),
		framework.NewNodeInfo(allocNode("b", "cpu", "8", "memory", "4Gi"), podWith("memory", "1Gi")),
		framework.NewNodeInfo(allocNode("c", "memory", "16Gi")),
	}
	for _, pod := range []*v1.Pod{podWith(), podWith("cpu", "1", "memory", "1Gi"), podWith("cpu", "9")} {
		least, fit := scoreAll(t, LeastAllocated{}, pod, nodes), scoreAll(t, NodeResourcesFit{}, pod, nodes)
		if !slices.Equal(least, fit) {
			t.Fatalf("pod %v: LeastAllocated %v, NodeResourcesFit %v", pod.Spec.Containers[0].Resources.Requests, least, fit)
		}
	}
}

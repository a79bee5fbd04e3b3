package plugins

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

func TestBalancedAllocationScore(t *testing.T) {
	bw := v1.ResourceNetworkBandwidth
	withBW, err := NewBalancedAllocation(json.RawMessage(`{"resources":[{"name":"cpu"},{"name":"memory","weight":1},{"name":"` + bw + `"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		plugin BalancedAllocation
		pod    *v1.Pod
		nodes  []*framework.NodeInfo
		want   []int64
	}{
		{
			// cpu 1/4 = 0.25, memory 4/8 = 0.5: 1 - |0.25 - 0.5|/2 = 0.875.
			name: "Kubernetes formula", pod: podWith("cpu", "1", "memory", "4Gi"),
			nodes: []*framework.NodeInfo{framework.NewNodeInfo(allocNode("a", "cpu", "4", "memory", "8Gi"))},
			want:  []int64{87},
		},
		{
			// even: cpu 2/4, memory 4/8 → 100; lopsided: cpu 3/4, memory
			// 2/8 → 1 - 0.25 = 75.
			name: "the node left evenly used wins", pod: podWith("cpu", "1", "memory", "2Gi"),
			nodes: []*framework.NodeInfo{
				framework.NewNodeInfo(allocNode("lopsided", "cpu", "4", "memory", "8Gi"), podWith("cpu", "2")),
				framework.NewNodeInfo(allocNode("even", "cpu", "4", "memory", "8Gi"), podWith("cpu", "1", "memory", "2Gi")),
			},
			want: []int64{75, 100},
		},
		{
			// cpu 8/4 is capped at 1, memory 0: 1 - 1/2.
			name: "a fraction is capped at 1", pod: podWith("cpu", "8"),
			nodes: []*framework.NodeInfo{framework.NewNodeInfo(allocNode("a", "cpu", "4", "memory", "8Gi"))},
			want:  []int64{50},
		},
		{
			// The node's pods are not balanced, but a pod without
			// requests is not scored.
			name: "a pod without requests scores 0 everywhere", pod: podWith(),
			nodes: []*framework.NodeInfo{
				framework.NewNodeInfo(allocNode("a", "cpu", "4", "memory", "8Gi"), podWith("cpu", "4")),
				framework.NewNodeInfo(allocNode("b", "cpu", "4", "memory", "8Gi")),
			},
			want: []int64{0, 0},
		},
		{
			name: "a resource the node does not advertise is left out", pod: podWith("cpu", "1", "memory", "1Gi"),
			nodes: []*framework.NodeInfo{framework.NewNodeInfo(allocNode("a", "cpu", "4"))},
			want:  []int64{100},
		},
		{
			// Fractions 0.5, 0.5, 0.8: mean 0.6, variance 0.02, standard
			// deviation 0.1414 → 85.
			name: "three resources: the population standard deviation", plugin: *withBW,
			pod:   podWith("cpu", "2", "memory", "4Gi", bw, "800M"),
			nodes: []*framework.NodeInfo{framework.NewNodeInfo(allocNode("a", "cpu", "4", "memory", "8Gi", bw, "1G"))},
			want:  []int64{85},
		},
		{
			// The pod requests no bandwidth: cpu 2/4 and memory 4/8 only.
			name: "an extended resource the pod does not request is left out", plugin: *withBW,
			pod:   podWith("cpu", "2", "memory", "4Gi"),
			nodes: []*framework.NodeInfo{framework.NewNodeInfo(allocNode("a", "cpu", "4", "memory", "8Gi", bw, "1G"), podWith(bw, "900M"))},
			want:  []int64{100},
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

func TestNewBalancedAllocationArgs(t *testing.T) {
	errs := []struct{ name, args, want string }{
		{"a weight other than 1", `{"resources":[{"name":"cpu","weight":1},{"name":"memory","weight":2}]}`,
			"scheduler: NodeResourcesBalancedAllocation args: resources[1].weight: must be 1"},
		{"a resource named twice", `{"resources":[{"name":"cpu"},{"name":"cpu"}]}`,
			`scheduler: NodeResourcesBalancedAllocation args: resources[1].name: duplicate resource "cpu"`},
		{"unknown field", `{"resource":[]}`, `scheduler: NodeResourcesBalancedAllocation args: json: unknown field "resource"`},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewBalancedAllocation(json.RawMessage(tt.args))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}
	ok := []struct {
		name, args string
		want       []ResourceWeight
	}{
		{"none: cpu and memory", ``, DefaultLeastAllocatedResources()},
		{"an omitted weight is 1", `{"resources":[{"name":"cpu"},{"name":"memory","weight":0}]}`, DefaultLeastAllocatedResources()},
		{"other resources", `{"resources":[{"name":"cpu"},{"name":"kennel.io/network-bandwidth","weight":1}]}`,
			[]ResourceWeight{{Name: "cpu", Weight: 1}, {Name: "kennel.io/network-bandwidth", Weight: 1}}},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewBalancedAllocation(json.RawMessage(tt.args))
			if err != nil || !slices.Equal(got.resources, tt.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	if _, err := NewBalancedAllocation(json.RawMessage(`{"kind":"NodeResourcesBalancedAllocationArgs"}`)); err != nil {
		t.Fatalf("Kubernetes' kind: %v", err)
	}
	if _, err := NewBalancedAllocation(json.RawMessage(`{"kind":"NodeResourcesFitArgs"}`)); err == nil || !strings.Contains(err.Error(), "kind:") {
		t.Fatalf("another plugin's kind: %v, want a kind error", err)
	}
}

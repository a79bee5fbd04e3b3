package plugins

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

// newFit builds NodeResourcesFit from JSON args, failing the test on an
// error.
func newFit(t *testing.T, args string) *NodeResourcesFit {
	t.Helper()
	pl, err := NewNodeResourcesFit(json.RawMessage(args))
	if err != nil {
		t.Fatalf("NewNodeResourcesFit(%s): %v", args, err)
	}
	return pl
}

// allocNode is a ready node named name with the allocatable given as
// alternating names and quantities.
func allocNode(name string, alloc ...string) *v1.Node {
	n := readyNode(name)
	n.Status.Allocatable = resources(alloc...)
	return n
}

func TestNodeResourcesFit(t *testing.T) {
	small := allocNode("n", "cpu", "2", "memory", "2Gi", "pods", "2", v1.ResourceNetworkBandwidth, "1G")
	existing := podWith("cpu", "1500m", "memory", "1Gi", v1.ResourceNetworkBandwidth, "600M")
	existing.Name = "existing"
	initHeavy := podWith("cpu", "100m")
	initHeavy.Spec.InitContainers = []v1.Container{{Name: "init", Command: []string{"x"},
		Resources: v1.ResourceRequirements{Requests: resources("cpu", "1800m")}}}
	ignoring := newFit(t, `{"ignoredResources":["kennel.io/storage-iops"],"ignoredResourceGroups":["example.com"]}`)
	tests := []struct {
		name   string
		plugin *NodeResourcesFit
		pod    *v1.Pod
		node   *v1.Node
		pods   []*v1.Pod
		want   []string
	}{
		{"fits an empty node", nil, podWith("cpu", "2", "memory", "2Gi"), small, nil, nil},
		{"no requests fit anywhere with room for a pod", nil, podWith(), small, []*v1.Pod{existing}, nil},
		{"cpu left", nil, podWith("cpu", "500m"), small, []*v1.Pod{existing}, nil},
		{"cpu short", nil, podWith("cpu", "501m"), small, []*v1.Pod{existing}, []string{ReasonInsufficientCPU}},
		{"memory short", nil, podWith("memory", "1025Mi"), small, []*v1.Pod{existing}, []string{ReasonInsufficientMemory}},
		{"both short: both reasons", nil, podWith("cpu", "1", "memory", "2Gi"), small, []*v1.Pod{existing},
			[]string{ReasonInsufficientCPU, ReasonInsufficientMemory}},
		{"pods full", nil, podWith(), allocNode("n", "cpu", "2", "memory", "2Gi", "pods", "1"), []*v1.Pod{existing}, []string{ReasonTooManyPods}},
		{"no pods allocatable", nil, podWith(), allocNode("n", "cpu", "2"), nil, []string{ReasonTooManyPods}},
		{"extended resource short", nil, podWith(v1.ResourceNetworkBandwidth, "500M"), small, []*v1.Pod{existing},
			[]string{InsufficientReason(v1.ResourceNetworkBandwidth)}},
		{"extended resource left", nil, podWith(v1.ResourceNetworkBandwidth, "400M"), small, []*v1.Pod{existing}, nil},
		{"an extended resource the node does not advertise: it has none", nil, podWith(v1.ResourceStorageIOPS, "1000"), small, nil,
			[]string{InsufficientReason(v1.ResourceStorageIOPS)}},
		{"several extended resources short, in name order", nil,
			podWith(v1.ResourceStorageIOPS, "1", v1.ResourceNetworkBandwidth, "2G", "example.com/gpu", "1"), small, nil,
			[]string{InsufficientReason("example.com/gpu"), InsufficientReason(v1.ResourceNetworkBandwidth), InsufficientReason(v1.ResourceStorageIOPS)}},
		{"an ignored resource is not checked", ignoring, podWith(v1.ResourceStorageIOPS, "1000"), small, nil, nil},
		{"an ignored group is not checked", ignoring, podWith("example.com/gpu", "2"), small, nil, nil},
		{"ignoring one resource checks the others", ignoring, podWith(v1.ResourceStorageIOPS, "1000", "cpu", "3"), small, nil,
			[]string{ReasonInsufficientCPU}},
		{"a group is the part before the slash", ignoring, podWith("example.com.evil/gpu", "1"), small, nil,
			[]string{InsufficientReason("example.com.evil/gpu")}},
		{"ephemeral-storage is checked only where advertised", nil, podWith(v1.ResourceEphemeralStorage, "1Gi"), small, nil, nil},
		{"ephemeral-storage advertised and short", nil, podWith(v1.ResourceEphemeralStorage, "2Gi"),
			allocNode("n", "pods", "10", v1.ResourceEphemeralStorage, "1Gi"), nil, []string{InsufficientReason(v1.ResourceEphemeralStorage)}},
		{"init container max rule: init dominates", nil, initHeavy, small, []*v1.Pod{existing}, []string{ReasonInsufficientCPU}},
		{"init container max rule: fits alone", nil, initHeavy, small, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f framework.FilterPlugin = NodeResourcesFit{} // the zero value
			if tt.plugin != nil {
				f = tt.plugin
			}
			checkStatus(t, runFilter(t, f, tt.pod, framework.NewNodeInfo(tt.node, tt.pods...)), tt.want)
		})
	}
}

func TestNodeResourcesFitWithoutPreFilter(t *testing.T) {
	// A profile may run Filter without PreFilter (an extender asking about
	// one node): the requests are then computed on demand.
	n := framework.NewNodeInfo(readyNode("n"))
	s := NodeResourcesFit{}.Filter(t.Context(), framework.NewCycleState(), podWith("cpu", "5"), n)
	checkStatus(t, s, []string{ReasonInsufficientCPU})
}

func TestNodeResourcesFitScore(t *testing.T) {
	busy := podWith("cpu", "2", "memory", "4Gi")
	gpuBusy := podWith("cpu", "0", "memory", "0", "example.com/gpu", "3") // explicit zeros: no defaults
	nodes := func() []*framework.NodeInfo {
		return []*framework.NodeInfo{
			framework.NewNodeInfo(allocNode("empty", "cpu", "4", "memory", "8Gi", "example.com/gpu", "4")),
			framework.NewNodeInfo(allocNode("half", "cpu", "4", "memory", "8Gi", "example.com/gpu", "4"), busy, gpuBusy),
		}
	}
	tests := []struct {
		name   string
		plugin framework.ScorePlugin
		pod    *v1.Pod
		want   []int64
	}{
		{
			// empty: cpu (4-1)/4 = 75, memory (8-2)/8 = 75; half: cpu
			// (4-3)/4 = 25, memory (8-6)/8 = 25.
			name: "the zero value is LeastAllocated over cpu and memory: the empty node wins", plugin: NodeResourcesFit{},
			pod: podWith("cpu", "1", "memory", "2Gi"), want: []int64{75, 25},
		},
		{
			name: "LeastAllocated by args", plugin: newFit(t, `{"scoringStrategy":{"type":"LeastAllocated"}}`),
			pod: podWith("cpu", "1", "memory", "2Gi"), want: []int64{75, 25},
		},
		{
			name: "MostAllocated: the fuller node wins", plugin: newFit(t, `{"scoringStrategy":{"type":"MostAllocated"}}`),
			pod: podWith("cpu", "1", "memory", "2Gi"), want: []int64{25, 75},
		},
		{
			// cpu 6/4 capped at 100, memory (4+8)/8 capped at 100.
			name: "MostAllocated: over-committed counts as full", plugin: newFit(t, `{"scoringStrategy":{"type":"MostAllocated"}}`),
			pod: podWith("cpu", "4", "memory", "8Gi"), want: []int64{100, 100},
		},
		{
			// empty: cpu 75 × 1 + gpu (4-1)/4 = 75 × 3 → 75; half: cpu 25
			// × 1, gpu (4-4)/4 = 0 × 3 → 25/4 = 6.
			name:   "weights and an extended resource the pod requests",
			plugin: newFit(t, `{"scoringStrategy":{"resources":[{"name":"cpu","weight":1},{"name":"example.com/gpu","weight":3}]}}`),
			pod:    podWith("cpu", "1", "example.com/gpu", "1"), want: []int64{75, 6},
		},
		{
			// Only cpu counts: the idle GPUs of the empty node do not
			// make it look emptier, nor the busy ones the other fuller.
			name:   "an extended resource the pod does not request is left out",
			plugin: newFit(t, `{"scoringStrategy":{"resources":[{"name":"cpu"},{"name":"example.com/gpu","weight":100}]}}`),
			pod:    podWith("cpu", "1"), want: []int64{75, 25},
		},
		{
			// Defaults stand in, 100m and 200Mi: empty cpu 3900/4000,
			// memory 7992Mi/8192Mi → 97; half 1900/4000, 3896Mi/8192Mi → 47.
			name: "no requests count as the defaults", plugin: NodeResourcesFit{},
			pod: podWith(), want: []int64{97, 47},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scoreAll(t, tt.plugin, tt.pod, nodes()); !slices.Equal(got, tt.want) {
				t.Fatalf("scores = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewNodeResourcesFitArgs(t *testing.T) {
	errs := []struct {
		name, args, want string
	}{
		{"weight above 100", `{"scoringStrategy":{"type":"LeastAllocated","resources":[{"name":"cpu","weight":1},{"name":"memory","weight":101}]}}`,
			"scheduler: NodeResourcesFit args: scoringStrategy.resources[1].weight: must be between 1 and 100"},
		{"negative weight", `{"scoringStrategy":{"resources":[{"name":"cpu","weight":-1}]}}`,
			"scheduler: NodeResourcesFit args: scoringStrategy.resources[0].weight: must be between 1 and 100"},
		{"resource without a name", `{"scoringStrategy":{"resources":[{"weight":1}]}}`,
			"scheduler: NodeResourcesFit args: scoringStrategy.resources[0].name: must not be empty"},
		{"resource named twice", `{"scoringStrategy":{"resources":[{"name":"cpu"},{"name":"cpu"}]}}`,
			`scheduler: NodeResourcesFit args: scoringStrategy.resources[1].name: duplicate resource "cpu"`},
		{"unknown strategy", `{"scoringStrategy":{"type":"Random"}}`,
			`scheduler: NodeResourcesFit args: scoringStrategy.type: unsupported value "Random", want LeastAllocated or MostAllocated`},
		{"RequestedToCapacityRatio is not supported", `{"scoringStrategy":{"type":"RequestedToCapacityRatio"}}`,
			`scheduler: NodeResourcesFit args: scoringStrategy.type: unsupported value "RequestedToCapacityRatio", want LeastAllocated or MostAllocated`},
		{"cpu cannot be ignored", `{"ignoredResources":["example.com/a","cpu"]}`,
			`scheduler: NodeResourcesFit args: ignoredResources[1]: "cpu" cannot be ignored, only extended resources can`},
		{"invalid ignored resource", `{"ignoredResources":["bad name"]}`,
			`scheduler: NodeResourcesFit args: ignoredResources[0]: invalid resource name "bad name": `},
		{"a group with a slash", `{"ignoredResourceGroups":["example.com/gpu"]}`,
			`scheduler: NodeResourcesFit args: ignoredResourceGroups[0]: invalid resource group "example.com/gpu": must not contain '/'`},
		{"unknown field", `{"scoringStrategy":{"type":"LeastAllocated","shape":[]}}`,
			`scheduler: NodeResourcesFit args: json: unknown field "shape"`},
		{"wrong type", `{"ignoredResources":"example.com/a"}`, `scheduler: NodeResourcesFit args: json: cannot unmarshal`},
		{"not an object", `[1]`, `scheduler: NodeResourcesFit args: json: cannot unmarshal array`},
		{"trailing data", `{} {}`, `scheduler: NodeResourcesFit args: invalid character`},
		{"another plugin's kind", `{"kind":"InterPodAffinityArgs"}`,
			`scheduler: NodeResourcesFit args: kind: must be "NodeResourcesFitArgs", got "InterPodAffinityArgs"`},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewNodeResourcesFit(json.RawMessage(tt.args))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one starting %q", err, tt.want)
			}
		})
	}
	ok := []struct {
		name, args string
		want       NodeResourcesFit
	}{
		{"none", ``, NodeResourcesFit{strategy: StrategyLeastAllocated}},
		{"null", `null`, NodeResourcesFit{strategy: StrategyLeastAllocated}},
		{"Kubernetes' type meta", `{"apiVersion":"kubescheduler.config.k8s.io/v1","kind":"NodeResourcesFitArgs"}`,
			NodeResourcesFit{strategy: StrategyLeastAllocated}},
		{"an omitted weight is 1; no resources are cpu and memory", `{"scoringStrategy":{"type":"MostAllocated","resources":[{"name":"cpu"}]}}`,
			NodeResourcesFit{strategy: StrategyMostAllocated, resources: []ResourceWeight{{Name: "cpu", Weight: 1}}}},
		{"a strategy without resources scores cpu and memory", `{"scoringStrategy":{"type":"MostAllocated"}}`,
			NodeResourcesFit{strategy: StrategyMostAllocated, resources: DefaultLeastAllocatedResources()}},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			got := newFit(t, tt.args)
			if got.strategy != tt.want.strategy || !slices.Equal(got.resources, tt.want.resources) {
				t.Fatalf("got strategy %q resources %v, want %q %v", got.strategy, got.resources, tt.want.strategy, tt.want.resources)
			}
		})
	}
}

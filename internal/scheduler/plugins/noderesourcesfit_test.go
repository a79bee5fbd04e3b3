package plugins

import (
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

func TestNodeResourcesFit(t *testing.T) {
	node := func(alloc ...string) *v1.Node {
		n := readyNode("n")
		n.Status.Allocatable = resources(alloc...)
		return n
	}
	small := node("cpu", "2", "memory", "2Gi", "pods", "2", v1.ResourceNetworkBandwidth, "1G")
	existing := podWith("cpu", "1500m", "memory", "1Gi", v1.ResourceNetworkBandwidth, "600M")
	existing.Name = "existing"
	initHeavy := podWith("cpu", "100m")
	initHeavy.Spec.InitContainers = []v1.Container{{Name: "init", Command: []string{"x"},
		Resources: v1.ResourceRequirements{Requests: resources("cpu", "1800m")}}}
	tests := []struct {
		name string
		pod  *v1.Pod
		node *v1.Node
		pods []*v1.Pod
		want []string
	}{
		{"fits an empty node", podWith("cpu", "2", "memory", "2Gi"), small, nil, nil},
		{"no requests fit anywhere with room for a pod", podWith(), small, []*v1.Pod{existing}, nil},
		{"cpu left", podWith("cpu", "500m"), small, []*v1.Pod{existing}, nil},
		{"cpu short", podWith("cpu", "501m"), small, []*v1.Pod{existing}, []string{ReasonInsufficientCPU}},
		{"memory short", podWith("memory", "1025Mi"), small, []*v1.Pod{existing}, []string{ReasonInsufficientMemory}},
		{"both short: both reasons", podWith("cpu", "1", "memory", "2Gi"), small, []*v1.Pod{existing},
			[]string{ReasonInsufficientCPU, ReasonInsufficientMemory}},
		{"pods full", podWith(), node("cpu", "2", "memory", "2Gi", "pods", "1"), []*v1.Pod{existing}, []string{ReasonTooManyPods}},
		{"no pods allocatable", podWith(), node("cpu", "2"), nil, []string{ReasonTooManyPods}},
		{"extended resource short", podWith(v1.ResourceNetworkBandwidth, "500M"), small, []*v1.Pod{existing},
			[]string{InsufficientReason(v1.ResourceNetworkBandwidth)}},
		{"extended resource left", podWith(v1.ResourceNetworkBandwidth, "400M"), small, []*v1.Pod{existing}, nil},
		{"resource the node does not advertise is not ours to check", podWith(v1.ResourceStorageIOPS, "1000"), small, nil, nil},
		{"init container max rule: init dominates", initHeavy, small, []*v1.Pod{existing}, []string{ReasonInsufficientCPU}},
		{"init container max rule: fits alone", initHeavy, small, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkStatus(t, runFilter(t, NodeResourcesFit{}, tt.pod, framework.NewNodeInfo(tt.node, tt.pods...)), tt.want)
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

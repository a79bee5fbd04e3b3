package plugins

import (
	"context"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

// NodeAffinityName is the NodeAffinity plugin's name.
const NodeAffinityName = "NodeAffinity"

// ReasonNodeSelectorMismatch rejects a node whose labels the pod's
// nodeSelector or required node affinity does not match.
const ReasonNodeSelectorMismatch = "node(s) didn't match Pod's node affinity/selector"

// NodeAffinity keeps pods on the nodes their spec.nodeSelector and
// required node affinity select, and prefers the nodes their preferred
// node affinity weighs most.
type NodeAffinity struct{}

var (
	_ framework.FilterPlugin    = NodeAffinity{}
	_ framework.ScorePlugin     = NodeAffinity{}
	_ framework.ScoreNormalizer = NodeAffinity{}
)

// Name is NodeAffinityName.
func (NodeAffinity) Name() string { return NodeAffinityName }

// Filter rejects nodes the pod does not select.
func (NodeAffinity) Filter(_ context.Context, _ *framework.CycleState, pod *v1.Pod, n *framework.NodeInfo) *framework.Status {
	if n.Node == nil || !podSelectsNode(pod, n.Node) {
		return framework.NewStatus(framework.Unschedulable, ReasonNodeSelectorMismatch)
	}
	return nil
}

// Score sums the weights of the preferred terms node matches.
func (NodeAffinity) Score(_ context.Context, _ *framework.CycleState, pod *v1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || n.Node == nil {
		return 0, nil
	}
	var sum int64
	for _, p := range a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
		if p.Preference.Matches(n.Node) {
			sum += int64(p.Weight)
		}
	}
	return sum, nil
}

// NormalizeScore scales the sums so the best node scores MaxNodeScore.
func (NodeAffinity) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *v1.Pod, scores []framework.NodeScore) *framework.Status {
	normalize(scores, false)
	return nil
}

func podSelectsNode(pod *v1.Pod, node *v1.Node) bool {
	for k, v := range pod.Spec.NodeSelector {
		if got, ok := node.Labels[k]; !ok || got != v {
			return false
		}
	}
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return true
	}
	// The terms are ORed.
	for i, terms := 0, a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms; i < len(terms); i++ {
		if terms[i].Matches(node) {
			return true
		}
	}
	return false
}

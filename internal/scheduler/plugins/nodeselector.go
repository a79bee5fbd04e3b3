package plugins

import (
	"context"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

// NodeSelectorName is the NodeSelector plugin's name.
const NodeSelectorName = "NodeSelector"

// ReasonNodeSelectorMismatch rejects a node whose labels the pod's
// nodeSelector or required node affinity does not match.
const ReasonNodeSelectorMismatch = "node(s) didn't match Pod's node affinity/selector"

// NodeSelector keeps pods on the nodes their spec.nodeSelector and
// required node affinity select, and prefers the nodes their preferred
// node affinity weighs most.
type NodeSelector struct{}

var (
	_ framework.FilterPlugin    = NodeSelector{}
	_ framework.ScorePlugin     = NodeSelector{}
	_ framework.ScoreNormalizer = NodeSelector{}
)

// Name is NodeSelectorName.
func (NodeSelector) Name() string { return NodeSelectorName }

// Filter rejects nodes the pod does not select.
func (NodeSelector) Filter(_ context.Context, _ *framework.CycleState, pod *v1.Pod, n *framework.NodeInfo) *framework.Status {
	if n.Node == nil || !podSelectsNode(pod, n.Node) {
		return framework.NewStatus(framework.Unschedulable, ReasonNodeSelectorMismatch)
	}
	return nil
}

// Score sums the weights of the preferred terms node matches.
func (NodeSelector) Score(_ context.Context, _ *framework.CycleState, pod *v1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
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
func (NodeSelector) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *v1.Pod, scores []framework.NodeScore) *framework.Status {
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

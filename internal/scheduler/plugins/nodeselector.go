package plugins

import (
	"context"
	"slices"
	"strconv"

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
		if termMatches(&p.Preference, n.Node) {
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
		if termMatches(&terms[i], node) {
			return true
		}
	}
	return false
}

// termMatches ANDs a term's requirements; a term without any matches no
// node, as in Kubernetes. The only field matchFields knows is
// metadata.name.
func termMatches(t *v1.NodeSelectorTerm, node *v1.Node) bool {
	if len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0 {
		return false
	}
	for i := range t.MatchExpressions {
		r := &t.MatchExpressions[i]
		v, ok := node.Labels[r.Key]
		if !requirementMatches(r, v, ok) {
			return false
		}
	}
	for i := range t.MatchFields {
		r := &t.MatchFields[i]
		if r.Key != "metadata.name" || !requirementMatches(r, node.Name, true) {
			return false
		}
	}
	return true
}

// requirementMatches applies one requirement to a label's value (present
// tells whether the node has the label at all).
func requirementMatches(r *v1.NodeSelectorRequirement, value string, present bool) bool {
	switch r.Operator {
	case v1.NodeSelectorOpIn:
		return present && slices.Contains(r.Values, value)
	case v1.NodeSelectorOpNotIn:
		return !present || !slices.Contains(r.Values, value)
	case v1.NodeSelectorOpExists:
		return present
	case v1.NodeSelectorOpDoesNotExist:
		return !present
	case v1.NodeSelectorOpGt, v1.NodeSelectorOpLt:
		if !present || len(r.Values) != 1 {
			return false
		}
		have, err1 := strconv.ParseInt(value, 10, 64)
		want, err2 := strconv.ParseInt(r.Values[0], 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if r.Operator == v1.NodeSelectorOpGt {
			return have > want
		}
		return have < want
	}
	return false
}

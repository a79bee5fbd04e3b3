package v1

import (
	"slices"
	"strconv"
)

// Matches reports whether the node satisfies the selector: its terms are
// ORed. A nil selector matches every node.
func (s *NodeSelector) Matches(node *Node) bool {
	if s == nil {
		return true
	}
	for i := range s.NodeSelectorTerms {
		if s.NodeSelectorTerms[i].Matches(node) {
			return true
		}
	}
	return false
}

// Matches ANDs the term's requirements; a term without any matches no
// node, as in Kubernetes. The only field matchFields knows is
// metadata.name.
func (t *NodeSelectorTerm) Matches(node *Node) bool {
	if len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0 {
		return false
	}
	for i := range t.MatchExpressions {
		r := &t.MatchExpressions[i]
		v, ok := node.Labels[r.Key]
		if !r.matches(v, ok) {
			return false
		}
	}
	for i := range t.MatchFields {
		r := &t.MatchFields[i]
		if r.Key != "metadata.name" || !r.matches(node.Name, true) {
			return false
		}
	}
	return true
}

// matches applies one requirement to a label's value (present tells
// whether the node has the label at all).
func (r *NodeSelectorRequirement) matches(value string, present bool) bool {
	switch r.Operator {
	case NodeSelectorOpIn:
		return present && slices.Contains(r.Values, value)
	case NodeSelectorOpNotIn:
		return !present || !slices.Contains(r.Values, value)
	case NodeSelectorOpExists:
		return present
	case NodeSelectorOpDoesNotExist:
		return !present
	case NodeSelectorOpGt, NodeSelectorOpLt:
		if !present || len(r.Values) != 1 {
			return false
		}
		have, err1 := strconv.ParseInt(value, 10, 64)
		want, err2 := strconv.ParseInt(r.Values[0], 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if r.Operator == NodeSelectorOpGt {
			return have > want
		}
		return have < want
	}
	return false
}

// Admits reports whether a volume's node affinity lets it be used from
// node. A volume without node affinity is usable from every node.
func (a *VolumeNodeAffinity) Admits(node *Node) bool {
	if a == nil {
		return true
	}
	return a.Required.Matches(node)
}

// TopologyAdmits reports whether a class's allowedTopologies admit node,
// as in Kubernetes: no terms admit every node; the terms are ORed, the
// expressions of a term ANDed, each holding when the node's label has one
// of the values; a term without expressions admits nothing.
func TopologyAdmits(terms []TopologySelectorTerm, node *Node) bool {
	if len(terms) == 0 {
		return true
	}
	for _, t := range terms {
		if len(t.MatchLabelExpressions) == 0 {
			continue
		}
		ok := true
		for _, r := range t.MatchLabelExpressions {
			if v, has := node.Labels[r.Key]; !has || !slices.Contains(r.Values, v) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

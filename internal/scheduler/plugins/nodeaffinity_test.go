package plugins

import (
	"slices"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

func TestNodeSelectorFilter(t *testing.T) {
	node := readyNode("n1")
	node.Labels = map[string]string{"disk": "ssd", "zone": "a", "cores": "16"}
	req := func(key string, op v1.NodeSelectorOperator, values ...string) v1.NodeSelectorRequirement {
		return v1.NodeSelectorRequirement{Key: key, Operator: op, Values: values}
	}
	required := func(terms ...v1.NodeSelectorTerm) *v1.Affinity {
		return &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{NodeSelectorTerms: terms}}}
	}
	exprs := func(rs ...v1.NodeSelectorRequirement) v1.NodeSelectorTerm {
		return v1.NodeSelectorTerm{MatchExpressions: rs}
	}
	mismatch := []string{ReasonNodeSelectorMismatch}
	tests := []struct {
		name     string
		selector map[string]string
		affinity *v1.Affinity
		want     []string
	}{
		{"nothing asked", nil, nil, nil},
		{"selector matches", map[string]string{"disk": "ssd"}, nil, nil},
		{"selector value differs", map[string]string{"disk": "hdd"}, nil, mismatch},
		{"selector label missing", map[string]string{"gpu": "yes"}, nil, mismatch},
		{"affinity without required terms", nil, &v1.Affinity{NodeAffinity: &v1.NodeAffinity{}}, nil},
		{"In", nil, required(exprs(req("zone", v1.NodeSelectorOpIn, "a", "b"))), nil},
		{"In misses", nil, required(exprs(req("zone", v1.NodeSelectorOpIn, "c"))), mismatch},
		{"NotIn", nil, required(exprs(req("zone", v1.NodeSelectorOpNotIn, "c"))), nil},
		{"NotIn on a missing label", nil, required(exprs(req("rack", v1.NodeSelectorOpNotIn, "r1"))), nil},
		{"Exists", nil, required(exprs(req("disk", v1.NodeSelectorOpExists))), nil},
		{"DoesNotExist", nil, required(exprs(req("disk", v1.NodeSelectorOpDoesNotExist))), mismatch},
		{"Gt", nil, required(exprs(req("cores", v1.NodeSelectorOpGt, "8"))), nil},
		{"Lt", nil, required(exprs(req("cores", v1.NodeSelectorOpLt, "8"))), mismatch},
		{"Gt on a non-number", nil, required(exprs(req("zone", v1.NodeSelectorOpGt, "1"))), mismatch},
		{"expressions are ANDed", nil, required(exprs(req("zone", v1.NodeSelectorOpIn, "a"), req("disk", v1.NodeSelectorOpIn, "hdd"))), mismatch},
		{"terms are ORed", nil, required(exprs(req("zone", v1.NodeSelectorOpIn, "z")), exprs(req("disk", v1.NodeSelectorOpIn, "ssd"))), nil},
		{"an empty term matches nothing", nil, required(v1.NodeSelectorTerm{}), mismatch},
		{"matchFields on the name", nil, required(v1.NodeSelectorTerm{MatchFields: []v1.NodeSelectorRequirement{req("metadata.name", v1.NodeSelectorOpIn, "n1")}}), nil},
		{"matchFields on another name", nil, required(v1.NodeSelectorTerm{MatchFields: []v1.NodeSelectorRequirement{req("metadata.name", v1.NodeSelectorOpIn, "n2")}}), mismatch},
		{"selector and affinity both apply", map[string]string{"disk": "hdd"}, required(exprs(req("zone", v1.NodeSelectorOpIn, "a"))), mismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := podWith()
			pod.Spec.NodeSelector, pod.Spec.Affinity = tt.selector, tt.affinity
			checkStatus(t, runFilter(t, NodeAffinity{}, pod, framework.NewNodeInfo(node)), tt.want)
		})
	}
}

func TestNodeSelectorScore(t *testing.T) {
	labelled := func(name, zone string) *framework.NodeInfo {
		n := readyNode(name)
		n.Labels = map[string]string{"zone": zone}
		return framework.NewNodeInfo(n)
	}
	nodes := []*framework.NodeInfo{labelled("a", "a"), labelled("b", "b"), labelled("c", "c")}
	prefer := func(weight int32, zone string) v1.PreferredSchedulingTerm {
		return v1.PreferredSchedulingTerm{Weight: weight, Preference: v1.NodeSelectorTerm{
			MatchExpressions: []v1.NodeSelectorRequirement{{Key: "zone", Operator: v1.NodeSelectorOpIn, Values: []string{zone}}}}}
	}
	tests := []struct {
		name  string
		terms []v1.PreferredSchedulingTerm
		want  []int64
	}{
		{"no preference", nil, []int64{0, 0, 0}},
		{"one preferred zone", []v1.PreferredSchedulingTerm{prefer(10, "b")}, []int64{0, 100, 0}},
		{"weights scale", []v1.PreferredSchedulingTerm{prefer(80, "a"), prefer(20, "c")}, []int64{100, 0, 25}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := podWith()
			pod.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: tt.terms}}
			if got := scoreAll(t, NodeAffinity{}, pod, nodes); !slices.Equal(got, tt.want) {
				t.Fatalf("scores = %v, want %v", got, tt.want)
			}
		})
	}
}

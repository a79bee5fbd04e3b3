package plugins

import (
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// TestTopologyAdmits holds allowedTopologies to Kubernetes' meaning: no
// terms admit every node; terms are ORed; a term's expressions are ANDed;
// a term without expressions admits nothing. The volume binding
// controller runs the same table against its copy.
func TestTopologyAdmits(t *testing.T) {
	expr := func(key string, values ...string) v1.TopologySelectorLabelRequirement {
		return v1.TopologySelectorLabelRequirement{Key: key, Values: values}
	}
	term := func(exprs ...v1.TopologySelectorLabelRequirement) v1.TopologySelectorTerm {
		return v1.TopologySelectorTerm{MatchLabelExpressions: exprs}
	}
	node := &v1.Node{ObjectMeta: v1.ObjectMeta{Name: "n1", Labels: map[string]string{"zone": "a", "rack": "r1"}}}
	tests := []struct {
		name  string
		terms []v1.TopologySelectorTerm
		want  bool
	}{
		{"no terms", nil, true},
		{"one empty term", []v1.TopologySelectorTerm{{}}, false},
		{"an empty term ORed with a matching one", []v1.TopologySelectorTerm{{}, term(expr("zone", "a"))}, true},
		{"value listed", []v1.TopologySelectorTerm{term(expr("zone", "b", "a"))}, true},
		{"value not listed", []v1.TopologySelectorTerm{term(expr("zone", "b"))}, false},
		{"label missing", []v1.TopologySelectorTerm{term(expr("region", "a"))}, false},
		{"expressions ANDed, all hold", []v1.TopologySelectorTerm{term(expr("zone", "a"), expr("rack", "r1"))}, true},
		{"expressions ANDed, one fails", []v1.TopologySelectorTerm{term(expr("zone", "a"), expr("rack", "r2"))}, false},
		{"terms ORed", []v1.TopologySelectorTerm{term(expr("zone", "b")), term(expr("rack", "r1"))}, true},
		{"no term holds", []v1.TopologySelectorTerm{term(expr("zone", "b")), term(expr("rack", "r2"))}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := topologyAdmits(tt.terms, node); got != tt.want {
				t.Errorf("topologyAdmits(%+v) = %v, want %v", tt.terms, got, tt.want)
			}
		})
	}
}

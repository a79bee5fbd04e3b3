package v1

import "testing"

// TestTopologyAdmits holds allowedTopologies to Kubernetes' meaning: no
// terms admit every node; terms are ORed; a term's expressions are ANDed;
// a term without expressions admits nothing.
func TestTopologyAdmits(t *testing.T) {
	expr := func(key string, values ...string) TopologySelectorLabelRequirement {
		return TopologySelectorLabelRequirement{Key: key, Values: values}
	}
	term := func(exprs ...TopologySelectorLabelRequirement) TopologySelectorTerm {
		return TopologySelectorTerm{MatchLabelExpressions: exprs}
	}
	node := &Node{ObjectMeta: ObjectMeta{Name: "n1", Labels: map[string]string{"zone": "a", "rack": "r1"}}}
	tests := []struct {
		name  string
		terms []TopologySelectorTerm
		want  bool
	}{
		{"no terms", nil, true},
		{"one empty term", []TopologySelectorTerm{{}}, false},
		{"an empty term ORed with a matching one", []TopologySelectorTerm{{}, term(expr("zone", "a"))}, true},
		{"value listed", []TopologySelectorTerm{term(expr("zone", "b", "a"))}, true},
		{"value not listed", []TopologySelectorTerm{term(expr("zone", "b"))}, false},
		{"label missing", []TopologySelectorTerm{term(expr("region", "a"))}, false},
		{"expressions ANDed, all hold", []TopologySelectorTerm{term(expr("zone", "a"), expr("rack", "r1"))}, true},
		{"expressions ANDed, one fails", []TopologySelectorTerm{term(expr("zone", "a"), expr("rack", "r2"))}, false},
		{"terms ORed", []TopologySelectorTerm{term(expr("zone", "b")), term(expr("rack", "r1"))}, true},
		{"no term holds", []TopologySelectorTerm{term(expr("zone", "b")), term(expr("rack", "r2"))}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TopologyAdmits(tt.terms, node); got != tt.want {
				t.Errorf("TopologyAdmits(%+v) = %v, want %v", tt.terms, got, tt.want)
			}
		})
	}
}

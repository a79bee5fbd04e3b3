package placement

import (
	"encoding/json"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

const dbManifest = `{"apiVersion":"kennel.io/v1","kind":"PetSet",` +
	`"metadata":{"name":"db","labels":{"app":"db"}},` +
	`"spec":{"replicas":3,"ordinals":{"start":0},"template":{"spec":{"containers":[{"name":"db","image":"db:1"}]}},` +
	`"volumeClaimTemplates":[{"metadata":{"name":"data"},"spec":{"storageClassName":"local"}}]}}`

// equalJSONText reports whether two JSON texts hold the same value.
func equalJSONText(t *testing.T, a, b []byte) bool {
	t.Helper()
	x, err := decodeJSON(a)
	if err != nil {
		t.Fatalf("decode %s: %v", a, err)
	}
	y, err := decodeJSON(b)
	if err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return equalJSON(x, y)
}

func setField(path, value string) v1.FieldOverride {
	return v1.FieldOverride{Path: path, Value: json.RawMessage(value)}
}

func TestRender(t *testing.T) {
	t.Parallel()
	eu := cluster("eu-1", "eu", label("security", "high"))
	gold := &v1.LabelSelector{MatchLabels: map[string]string{"security": "high"}}
	tests := []struct {
		name      string
		overrides []v1.ClusterOverride
		want      string // "" is the manifest unchanged
	}{{
		name: "set: a nested field, an index, a new label, a dotted key",
		overrides: []v1.ClusterOverride{{Clusters: []string{"eu-1"}, Set: []v1.FieldOverride{
			setField("spec.volumeClaimTemplates[0].spec.storageClassName", `"fast-eu"`),
			setField("spec.template.spec.containers[0]", `{"name":"db","image":"db:2"}`),
			setField("metadata.labels.tier", `"gold"`),
			setField(`metadata.labels["kennel.io/region"]`, `"eu"`),
		}}},
		want: `{"apiVersion":"kennel.io/v1","kind":"PetSet",` +
			`"metadata":{"name":"db","labels":{"app":"db","tier":"gold","kennel.io/region":"eu"}},` +
			`"spec":{"replicas":3,"ordinals":{"start":0},"template":{"spec":{"containers":[{"name":"db","image":"db:2"}]}},` +
			`"volumeClaimTemplates":[{"metadata":{"name":"data"},"spec":{"storageClassName":"fast-eu"}}]}}`,
	}, {
		name: "overrides apply in order, set before jsonPatch",
		overrides: []v1.ClusterOverride{
			{LabelSelector: gold, Set: []v1.FieldOverride{setField("spec.replicas", "5")},
				JSONPatch: []v1.JSONPatchOperation{{Op: "test", Path: "/spec/replicas", Value: json.RawMessage("5")}, {Op: "remove", Path: "/spec/ordinals"}}},
			{Clusters: []string{"eu-1"}, LabelSelector: gold, Set: []v1.FieldOverride{setField("spec.replicas", "7")}},
		},
		want: `{"apiVersion":"kennel.io/v1","kind":"PetSet",` +
			`"metadata":{"name":"db","labels":{"app":"db"}},` +
			`"spec":{"replicas":7,"template":{"spec":{"containers":[{"name":"db","image":"db:1"}]}},` +
			`"volumeClaimTemplates":[{"metadata":{"name":"data"},"spec":{"storageClassName":"local"}}]}}`,
	}, {
		name:      "another cluster's override does not apply",
		overrides: []v1.ClusterOverride{{Clusters: []string{"us-1"}, Set: []v1.FieldOverride{setField("spec.replicas", "5")}}},
	}, {
		name: "both must match",
		overrides: []v1.ClusterOverride{{Clusters: []string{"eu-1"}, LabelSelector: &v1.LabelSelector{MatchLabels: map[string]string{"security": "low"}},
			Set: []v1.FieldOverride{setField("spec.replicas", "5")}}},
	}, {
		name:      "neither set: applies nowhere",
		overrides: []v1.ClusterOverride{{Set: []v1.FieldOverride{setField("spec.nope.x", "5")}}},
	}, {
		name: "an override that does not apply is not checked",
		overrides: []v1.ClusterOverride{{Clusters: []string{"us-1"},
			JSONPatch: []v1.JSONPatchOperation{{Op: "remove", Path: "/spec/nope"}}}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Render(json.RawMessage(dbManifest), tt.overrides, eu)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if tt.want == "" {
				if string(got) != dbManifest {
					t.Errorf("Render = %s, want the manifest unchanged", got)
				}
				return
			}
			if !equalJSONText(t, got, []byte(tt.want)) {
				t.Errorf("Render = %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	eu := cluster("eu-1", "eu")
	on := func(sets ...v1.FieldOverride) v1.ClusterOverride {
		return v1.ClusterOverride{Clusters: []string{"eu-1"}, Set: sets}
	}
	patch := func(ops ...v1.JSONPatchOperation) v1.ClusterOverride {
		return v1.ClusterOverride{Clusters: []string{"eu-1"}, JSONPatch: ops}
	}
	tests := []struct {
		name      string
		overrides []v1.ClusterOverride
		want      string
	}{
		{"a missing field on the way", []v1.ClusterOverride{on(setField("spec.replicas", "1"), setField("spec.foo.bar", "1"))},
			`placement: overrides[0].set[1] "spec.foo.bar": no field "foo" in spec`},
		{"a missing top field", []v1.ClusterOverride{on(setField("status.x", "1"))},
			`placement: overrides[0].set[0] "status.x": no field "status" in the object`},
		{"an index out of range", []v1.ClusterOverride{on(setField("spec.volumeClaimTemplates[1].spec", "{}"))},
			`placement: overrides[0].set[0] "spec.volumeClaimTemplates[1].spec": index 1 out of range in spec.volumeClaimTemplates (length 1)`},
		{"a last index out of range", []v1.ClusterOverride{on(setField("spec.template.spec.containers[3]", "{}"))},
			`placement: overrides[0].set[0] "spec.template.spec.containers[3]": index 3 out of range in spec.template.spec.containers (length 1)`},
		{"an index into an object", []v1.ClusterOverride{on(setField("spec[0]", "1"))},
			`placement: overrides[0].set[0] "spec[0]": spec is not a list`},
		{"a field of a number", []v1.ClusterOverride{on(setField("spec.replicas.x", "1"))},
			`placement: overrides[0].set[0] "spec.replicas.x": spec.replicas is not an object`},
		{"an empty field name", []v1.ClusterOverride{on(setField("spec..x", "1"))},
			`placement: overrides[0].set[0] "spec..x": offset 5: empty field name`},
		{"a bad index", []v1.ClusterOverride{on(setField("spec.x[a]", "1"))},
			`placement: overrides[0].set[0] "spec.x[a]": offset 6: index "a" is not a number`},
		{"junk after an index", []v1.ClusterOverride{on(setField("spec.x[0]y", "1"))},
			`placement: overrides[0].set[0] "spec.x[0]y": offset 9: want . or [ after spec.x[0]`},
		{"a value that is not JSON", []v1.ClusterOverride{on(setField("spec.replicas", "five"))},
			`placement: overrides[0].set[0] "spec.replicas": value: invalid character 'i' in literal false (expecting 'a')`},
		{"no value", []v1.ClusterOverride{on(v1.FieldOverride{Path: "spec.replicas"})},
			`placement: overrides[0].set[0] "spec.replicas": no value`},
		{"a patch of a missing member, second override", []v1.ClusterOverride{
			on(setField("spec.replicas", "1")), patch(v1.JSONPatchOperation{Op: "replace", Path: "/spec/x", Value: json.RawMessage("1")})},
			`placement: overrides[1].jsonPatch[0] replace "/spec/x": no such member`},
		{"an invalid label selector", []v1.ClusterOverride{{LabelSelector: &v1.LabelSelector{
			MatchExpressions: []v1.LabelSelectorRequirement{{Key: "a", Operator: "Is"}}}}},
			`placement: overrides[0].labelSelector: "Is" is not a valid label selector operator`},
		{"a patch that leaves no object", []v1.ClusterOverride{patch(v1.JSONPatchOperation{Op: "replace", Path: "", Value: json.RawMessage("[]")})},
			`placement: overrides: the rendered manifest is not a JSON object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Render(json.RawMessage(dbManifest), tt.overrides, eu)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Render = %s, %v\nwant error %s", got, err, tt.want)
			}
			if got != nil {
				t.Errorf("Render returned %s with its error", got)
			}
		})
	}
}

func TestRenderKeepsNumbers(t *testing.T) {
	t.Parallel()
	m := json.RawMessage(`{"kind":"X","spec":{"big":12345678901234567890,"f":1.50,"html":"<a&b>"}}`)
	o := []v1.ClusterOverride{{Clusters: []string{"a"}, Set: []v1.FieldOverride{setField("spec.n", "1")}}}
	got, err := Render(m, o, cluster("a", "eu"))
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	if want := `{"kind":"X","spec":{"big":12345678901234567890,"f":1.50,"html":"<a&b>","n":1}}`; string(got) != want {
		t.Errorf("Render = %s, want %s", got, want)
	}
}

func TestSetReplicas(t *testing.T) {
	t.Parallel()
	start := int32(4)
	tests := []struct {
		name     string
		manifest string
		start    *int32
		want     string
	}{
		{"replicas only, ordinals untouched", `{"kind":"PetSet","spec":{"replicas":3,"ordinals":{"start":1}}}`, nil,
			`{"kind":"PetSet","spec":{"ordinals":{"start":1},"replicas":2}}`},
		{"ordinals created", `{"kind":"PetSet","spec":{"replicas":3}}`, &start,
			`{"kind":"PetSet","spec":{"ordinals":{"start":4},"replicas":2}}`},
		{"ordinals replaced, other fields kept", `{"kind":"PetSet","spec":{"ordinals":{"start":0,"x":true}}}`, &start,
			`{"kind":"PetSet","spec":{"ordinals":{"start":4,"x":true},"replicas":2}}`},
		{"spec created", `{"kind":"Deployment"}`, nil,
			`{"kind":"Deployment","spec":{"replicas":2}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := SetReplicas(json.RawMessage(tt.manifest), 2, tt.start)
			if err != nil {
				t.Fatalf("SetReplicas: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("SetReplicas = %s, want %s", got, tt.want)
			}
		})
	}
	for _, tt := range []struct{ manifest, want string }{
		{`[1]`, "placement: decode manifest: not a JSON object"},
		{`{"spec":1}`, "placement: spec: not an object"},
		{`{"spec":{"ordinals":[]}}`, "placement: spec.ordinals: not an object"},
		{`{} {}`, "placement: decode manifest: offset 2: data after the JSON value"},
	} {
		if got, err := SetReplicas(json.RawMessage(tt.manifest), 1, &start); err == nil || err.Error() != tt.want {
			t.Errorf("SetReplicas(%s) = %s, %v; want error %q", tt.manifest, got, err, tt.want)
		}
	}
}

package v1

import (
	"bytes"
	"encoding/json"
	"slices"
)

// changedFields returns the top-level JSON fields of two structs of the
// same type that differ, sorted. Comparing the encodings makes nil and
// empty the same, as they are on the wire.
func changedFields(old, new any) []string {
	o, n := jsonFields(old), jsonFields(new)
	var out []string
	for k, v := range o {
		if w, ok := n[k]; !ok || !bytes.Equal(v, w) {
			out = append(out, k)
		}
	}
	for k := range n {
		if _, ok := o[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func jsonFields(v any) map[string]json.RawMessage {
	m := map[string]json.RawMessage{}
	b, err := json.Marshal(v)
	if err != nil {
		return m
	}
	_ = json.Unmarshal(b, &m)
	return m
}

// semanticEqual reports whether two values encode to the same JSON.
func semanticEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

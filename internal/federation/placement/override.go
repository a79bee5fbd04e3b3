package placement

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/labels"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// Render applies to manifest (a JSON object) the overrides that apply to
// cluster, in order: each override's Set, then its JSONPatch. An override
// applies when at least one of Clusters and LabelSelector is set and each
// that is set matches (Clusters names the cluster, LabelSelector matches
// its labels).
//
// Errors name the override, the operation and its path
// (`placement: overrides[0].set[1] "spec.foo.bar": no field "foo" in
// spec`); on error nothing is returned, so no half-rendered object can be
// propagated. When no override applies, manifest is returned as it is;
// otherwise it is re-encoded (object keys sorted).
func Render(manifest json.RawMessage, overrides []v1.ClusterOverride, cluster *v1.Cluster) (json.RawMessage, error) {
	var doc any
	decoded := false
	for i := range overrides {
		o := &overrides[i]
		ok, err := applies(o, cluster)
		if err != nil {
			return nil, fmt.Errorf("placement: overrides[%d].labelSelector: %w", i, err)
		}
		if !ok {
			continue
		}
		if !decoded {
			if doc, err = decodeObject(manifest); err != nil {
				return nil, err
			}
			decoded = true
		}
		if doc, err = applyOverride(i, o, doc); err != nil {
			return nil, err
		}
	}
	if !decoded {
		return manifest, nil
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, errors.New("placement: overrides: the rendered manifest is not a JSON object")
	}
	return encodeJSON(doc)
}

// applies reports whether override o applies to cluster c.
func applies(o *v1.ClusterOverride, c *v1.Cluster) (bool, error) {
	if len(o.Clusters) == 0 && o.LabelSelector == nil {
		return false, nil
	}
	if len(o.Clusters) > 0 && !slices.Contains(o.Clusters, c.Name) {
		return false, nil
	}
	if o.LabelSelector == nil {
		return true, nil
	}
	s, err := o.LabelSelector.AsSelector()
	if err != nil {
		return false, err
	}
	return s.Matches(labels.Set(c.Labels)), nil
}

func applyOverride(i int, o *v1.ClusterOverride, doc any) (any, error) {
	for j, f := range o.Set {
		if err := setPath(doc, f.Path, f.Value); err != nil {
			return nil, fmt.Errorf("placement: overrides[%d].set[%d] %q: %w", i, j, f.Path, err)
		}
	}
	for j, op := range o.JSONPatch {
		var err error
		if doc, err = applyPatchOp(doc, op); err != nil {
			return nil, fmt.Errorf("placement: overrides[%d].jsonPatch[%d] %s %q: %w", i, j, op.Op, op.Path, err)
		}
	}
	return doc, nil
}

// SetReplicas sets spec.replicas of manifest (a JSON object) and, when
// ordinalStart is not nil, spec.ordinals.start, creating spec.ordinals
// (and spec) when missing: what one cluster's share of a divided
// workload is.
func SetReplicas(manifest json.RawMessage, replicas int32, ordinalStart *int32) (json.RawMessage, error) {
	doc, err := decodeObject(manifest)
	if err != nil {
		return nil, err
	}
	spec, err := childObject(doc.(map[string]any), "spec")
	if err != nil {
		return nil, fmt.Errorf("placement: spec: %w", err)
	}
	spec["replicas"] = replicas
	if ordinalStart != nil {
		ordinals, err := childObject(spec, "ordinals")
		if err != nil {
			return nil, fmt.Errorf("placement: spec.ordinals: %w", err)
		}
		ordinals["start"] = *ordinalStart
	}
	return encodeJSON(doc)
}

// childObject returns the object m[key], adding an empty one when it is
// missing or null.
func childObject(m map[string]any, key string) (map[string]any, error) {
	switch c := m[key].(type) {
	case nil:
		child := map[string]any{}
		m[key] = child
		return child, nil
	case map[string]any:
		return c, nil
	default:
		return nil, errors.New("not an object")
	}
}

// decodeObject decodes a manifest, which must be one JSON object.
func decodeObject(manifest json.RawMessage) (any, error) {
	doc, err := decodeJSON(manifest)
	if err != nil {
		return nil, fmt.Errorf("placement: decode manifest: %w", err)
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, errors.New("placement: decode manifest: not a JSON object")
	}
	return doc, nil
}

// decodeJSON decodes exactly one JSON value, keeping numbers as written
// (json.Number), so that rendering does not round large integers.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(data[dec.InputOffset():])) > 0 {
		return nil, fmt.Errorf("offset %d: data after the JSON value", dec.InputOffset())
	}
	return v, nil
}

// encodeJSON encodes v without HTML escaping and without a final newline.
func encodeJSON(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("placement: encode manifest: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

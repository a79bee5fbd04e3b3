package member

import (
	"encoding/json"
	"fmt"
	"reflect"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// decodeManifest strictly decodes a Work's manifest into the one object
// it holds, canonical (a StatefulSet becomes a PetSet), in the namespace
// it names (or the federated object's, or default).
func decodeManifest(reg *v1.Registry, work *v1.Work) (v1.Object, *v1.Kind, error) {
	objs, err := reg.Decode(work.Spec.Manifest)
	if err != nil {
		return nil, nil, fmt.Errorf("member: Work %s: spec.manifest: %w", v1.ObjectKey(work), err)
	}
	if len(objs) != 1 {
		return nil, nil, fmt.Errorf("member: Work %s: spec.manifest: must hold one object, holds %d", v1.ObjectKey(work), len(objs))
	}
	obj := objs[0]
	kind, ok := v1.KindOf(reg, obj)
	if !ok {
		return nil, nil, fmt.Errorf("member: Work %s: spec.manifest: kind %q is not known", v1.ObjectKey(work), obj.GetTypeMeta().Kind)
	}
	if err := reg.Canonicalize(obj); err != nil {
		return nil, nil, fmt.Errorf("member: Work %s: spec.manifest: %w", v1.ObjectKey(work), err)
	}
	m := obj.GetObjectMeta()
	if m.Name == "" {
		return nil, nil, fmt.Errorf("member: Work %s: spec.manifest: metadata.name: required", v1.ObjectKey(work))
	}
	m.Namespace = targetNamespace(kind, m.Namespace, work)
	return obj, kind, nil
}

// targetOf is the member object a Work applies, read cheaply (without
// the strict decoding of decodeManifest), for the target index.
func targetOf(reg *v1.Registry, work *v1.Work) (objectRef, error) {
	var head struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(work.Spec.Manifest, &head); err != nil {
		return objectRef{}, fmt.Errorf("member: Work %s: spec.manifest: %w", v1.ObjectKey(work), err)
	}
	kind, ok := reg.ByKind(head.Kind)
	if !ok || head.Metadata.Name == "" {
		return objectRef{}, fmt.Errorf("member: Work %s: spec.manifest: no known kind and name", v1.ObjectKey(work))
	}
	return objectRef{Kind: kind.Kind, Namespace: targetNamespace(kind, head.Metadata.Namespace, work), Name: head.Metadata.Name}, nil
}

func targetNamespace(kind *v1.Kind, ns string, work *v1.Work) string {
	switch {
	case !kind.Namespaced:
		return ""
	case ns != "":
		return ns
	case work.Spec.Source.Namespace != "":
		return work.Spec.Source.Namespace
	}
	return v1.NamespaceDefault
}

// subsetMap reports whether every entry of want is in have.
func subsetMap(want, have map[string]string) bool {
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			return false
		}
	}
	return true
}

// covers reports whether have holds everything want says, as decoded
// JSON: every key of a want object with a covered value, arrays of the
// same length covered element by element, equal scalars. A null in want
// says nothing.
func covers(have, want any) bool {
	switch w := want.(type) {
	case nil:
		return true
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return len(w) == 0 && have == nil
		}
		for k, wv := range w {
			if !covers(h[k], wv) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok {
			return len(w) == 0 && have == nil
		}
		if len(h) != len(w) {
			return false
		}
		for i := range w {
			if !covers(h[i], w[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(have, want)
}

// jsonOf is v as generic decoded JSON, for comparisons that must not
// depend on how v's Go value is built (nil or empty, raw JSON spacing).
func jsonOf(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return nil
	}
	return out
}

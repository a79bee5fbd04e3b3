package controller

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// AnnotationOrdinals on a Work of a divided PetSet is the range of
// ordinals its cluster is assigned ("start-end", or "" for none), which
// may be ahead of the replicas delivered while OrderedReady start-up or
// scale-down goes from cluster to cluster.
const AnnotationOrdinals = "kennel.io/federation-ordinals"

// baseManifest is obj as a member should get it: its kind, apiVersion,
// name, namespace, labels, annotations and spec; no status, no server-set
// metadata.
func baseManifest(kind *v1.Kind, obj v1.Object) (json.RawMessage, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	m["apiVersion"] = kind.APIVersions[0]
	m["kind"] = kind.Kind
	meta, _ := m["metadata"].(map[string]any)
	keep := map[string]any{}
	for _, k := range []string{"name", "namespace", "labels", "annotations"} {
		if v, ok := meta[k]; ok {
			keep[k] = v
		}
	}
	m["metadata"] = keep
	return json.Marshal(m)
}

// workName is the name of the Work of a federated object in a member's
// namespace.
func workName(ns, kind, name string) string {
	return ns + "." + strings.ToLower(kind) + "." + name
}

// sameJSON reports whether two JSON documents hold the same value.
func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// formatRange is "start-end" of count ordinals from start; "" for none.
func formatRange(start, count int32) string {
	if count <= 0 {
		return ""
	}
	return fmt.Sprintf("%d-%d", start, start+count-1)
}

// parseRange reads formatRange's output.
func parseRange(s string) (start, count int32, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	x, err1 := strconv.Atoi(a)
	y, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || y < x || x < 0 {
		return 0, 0, false
	}
	return int32(x), int32(y - x + 1), true
}

// deliveredReplicas is spec.replicas of a Work's manifest (-1 if unset).
func deliveredReplicas(w *v1.Work) int32 {
	var m struct {
		Spec struct {
			Replicas *int32 `json:"replicas"`
		} `json:"spec"`
	}
	if w == nil || json.Unmarshal(w.Spec.Manifest, &m) != nil || m.Spec.Replicas == nil {
		return -1
	}
	return *m.Spec.Replicas
}

// replicaStatus is what a member reports of a PetSet's or Deployment's
// replicas, and whether it reports for the Work's current generation.
type replicaStatus struct {
	Replicas, Ready int32
	Current         bool
}

func reportedReplicas(w *v1.Work) replicaStatus {
	var st struct {
		Replicas      int32 `json:"replicas"`
		ReadyReplicas int32 `json:"readyReplicas"`
	}
	if w == nil || len(w.Status.ResourceStatus) == 0 || json.Unmarshal(w.Status.ResourceStatus, &st) != nil {
		return replicaStatus{}
	}
	return replicaStatus{Replicas: st.Replicas, Ready: st.ReadyReplicas, Current: w.Status.AppliedGeneration == w.Generation}
}

// setAnnotations adds annotations to a manifest's metadata.
func setAnnotations(manifest json.RawMessage, ann map[string]string) (json.RawMessage, error) {
	var m map[string]any
	if err := json.Unmarshal(manifest, &m); err != nil {
		return nil, err
	}
	meta, _ := m["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		m["metadata"] = meta
	}
	cur, _ := meta["annotations"].(map[string]any)
	if cur == nil {
		cur = map[string]any{}
	}
	for k, v := range ann {
		cur[k] = v
	}
	meta["annotations"] = cur
	return json.Marshal(m)
}

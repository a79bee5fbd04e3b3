package v1

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeInto checks that strict decoding never panics and never
// accepts what json.Unmarshal rejects. Run longer with
//
//	go test ./api/v1 -run '^$' -fuzz FuzzDecodeInto -fuzztime 1m
func FuzzDecodeInto(f *testing.F) {
	f.Add([]byte(`{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i","ports":[{"containerPort":80}]}]}}`))
	f.Add([]byte(`{"metadata":{"annotations":{"a":"x\"}]{y"},"creationTimestamp":"2025-01-01T00:00:00Z"}}`))
	f.Add([]byte(`{"spec":{"containers":[{"resources":{"limits":{"cpu":"1"}},"readinessProbe":{"httpGet":{"port":"http"}}}]}}`))
	f.Add([]byte(`{"spec":{"hostNetwork":true,"volumes":[{"name":"v","nfs":{}}]},"status":{"phase":1}}`))
	f.Add([]byte(`{"a":`))
	r := NewRegistry()
	k, _ := r.ByKind("Pod")
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := r.DecodeInto(data, k)
		var p Pod
		if err == nil && json.Unmarshal(data, &p) != nil {
			t.Errorf("accepted what json.Unmarshal rejects: %q", data)
		}
	})
}

// FuzzDecode checks that decoding manifests never panics.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: List\nitems: []\n"))
	f.Add([]byte("--- # c\r\napiVersion: apps/v1\nkind: StatefulSet\nspec: {replicas: x}\n...\n"))
	f.Add([]byte(`{"apiVersion":"v1","kind":"Pod"}{"kind":"List","items":[{}]}`))
	r := NewRegistry()
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := r.Decode(data)
		if err != nil && objs != nil {
			t.Error("objects returned with an error")
		}
	})
}

package v1

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

// BenchmarkDecodeInto compares strict decoding of a pod with plain
// json.Unmarshal, which checks nothing. Run:
//
//	go test ./api/v1 -run '^$' -bench Decode -benchmem
func BenchmarkDecodeInto(b *testing.B) {
	data, err := os.ReadFile("testdata/pod.json")
	if err != nil {
		b.Fatal(err)
	}
	r := NewRegistry()
	k, _ := r.ByKind("Pod")
	b.Run("strict", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.DecodeInto(data, k); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			var p Pod
			if err := json.Unmarshal(data, &p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("walk-only", func(b *testing.B) {
		s := r.schemas[reflect.TypeFor[*Pod]()]
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if errs, bad := walk(data, s); len(errs) > 0 || bad {
				b.Fatal(errs)
			}
		}
	})
}

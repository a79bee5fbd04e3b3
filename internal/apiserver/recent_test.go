package apiserver

import (
	"fmt"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

func TestRecentStaysWithinBounds(t *testing.T) {
	r := newRecent(3, 100)
	put := func(k string, n int, rev int64) { r.put(k, make([]byte, n), rev, &v1.ConfigMap{}) }
	for i := 0; i < 5; i++ {
		put(fmt.Sprint(i), 10, int64(i+1))
	}
	if len(r.m) != 3 || r.bytes != 30 {
		t.Fatalf("entries %d bytes %d, want 3 and 30", len(r.m), r.bytes)
	}
	if _, ok := r.get("0", 1); ok {
		t.Fatal("least recently written entry kept")
	}
	if _, ok := r.get("4", 5); !ok {
		t.Fatal("most recent entry dropped")
	}
	if _, ok := r.get("4", 4); ok {
		t.Fatal("entry served for another revision")
	}
	put("big", 95, 9)
	if r.bytes > 100 || len(r.m) != 1 {
		t.Fatalf("over the byte budget: %d bytes in %d entries", r.bytes, len(r.m))
	}
	r.drop("big")
	if r.bytes != 0 || len(r.m) != 0 || r.order.Len() != 0 {
		t.Fatalf("after drop: %d bytes, %d entries", r.bytes, len(r.m))
	}
}

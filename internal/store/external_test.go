package store

import (
	"context"
	"strings"
	"testing"
	"time"
)

// The external mode, pointed at another store's embedded etcd through its
// client URL: the same verbs work over the network.
func TestExternalEtcd(t *testing.T) {
	backing := startTestStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := Start(ctx, Config{Endpoints: []string{backing.ClientURL()}, Prefix: "/other"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Embedded() {
		t.Fatal("store with endpoints says it is embedded")
	}
	if _, err := s.Create(ctx, "/other/a", []byte("x")); err != nil {
		t.Fatal(err)
	}
	kv, err := backing.Get(ctx, "/other/a")
	if err != nil || string(kv.Value) != "x" {
		t.Fatalf("write through the external client not in etcd: %+v %v", kv, err)
	}
}

func TestExternalEtcdErrorsHideCredentials(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := Start(ctx, Config{Endpoints: []string{"http://admin:s3cret@127.0.0.1:1"}, DialTimeout: time.Second})
	if err == nil {
		t.Fatal("start against a closed port succeeded")
	}
	if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "admin:") {
		t.Fatalf("error leaks the endpoint's credentials: %v", err)
	}
}

package namespace_test

import (
	"context"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
	"github.com/kennel-dev/kennel/internal/controller/namespace"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

func TestDeletingNamespaceDeletesEverythingInIt(t *testing.T) {
	tc := testcluster.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	nsc, err := namespace.New(tc.Admin, nil, controller.Options{})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { nsc.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()

	nss := client.For[*v1.Namespace](tc.Admin, "")
	if _, err := nss.Create(ctx, &v1.Namespace{ObjectMeta: v1.ObjectMeta{Name: "team"}}); err != nil {
		t.Fatal(err)
	}
	cms := client.For[*v1.ConfigMap](tc.Admin, "team")
	for _, n := range []string{"a", "b"} {
		if _, err := cms.Create(ctx, &v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Name: n}}); err != nil {
			t.Fatal(err)
		}
	}
	held := &v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Name: "held", Finalizers: []string{"example.com/hold"}}}
	if _, err := cms.Create(ctx, held); err != nil {
		t.Fatal(err)
	}
	// Same names in another namespace are untouched.
	if _, err := client.For[*v1.ConfigMap](tc.Admin, "default").Create(ctx, &v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Name: "a"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := nss.Delete(ctx, "team", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, 20*time.Second, "namespace to be Terminating", func() bool {
		ns, err := nss.Get(ctx, "team")
		return err == nil && ns.Status.Phase == v1.NamespaceTerminating
	})
	if _, err := cms.Create(ctx, &v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Name: "late"}}); !v1.IsForbidden(err) {
		t.Fatalf("create in terminating namespace: %v, want Forbidden", err)
	}
	testcluster.Eventually(t, 20*time.Second, "unheld contents to go", func() bool {
		l, err := cms.List(ctx, client.ListOptions{})
		return err == nil && len(l.Items) == 1
	})
	if _, err := nss.Get(ctx, "team"); err != nil {
		t.Fatalf("namespace gone while an object with a finalizer remains: %v", err)
	}
	if _, err := cms.Patch(ctx, "held", []byte(`{"metadata":{"finalizers":null}}`)); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, 20*time.Second, "namespace to go", func() bool {
		_, err := nss.Get(ctx, "team")
		return v1.IsNotFound(err)
	})
	if _, err := client.For[*v1.ConfigMap](tc.Admin, "default").Get(ctx, "a"); err != nil {
		t.Fatalf("object in another namespace deleted: %v", err)
	}
}

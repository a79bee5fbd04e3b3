package garbagecollector_test

import (
	"context"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
	"github.com/kennel-dev/kennel/internal/controller/garbagecollector"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

func startGC(t *testing.T, tc *testcluster.Cluster) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	gc, err := garbagecollector.New(tc.Admin, nil, controller.Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { gc.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// family creates an owner ConfigMap and n dependents (a Secret and
// ConfigMaps) that reference it.
func family(t *testing.T, ctx context.Context, c *client.Client, n int) (*v1.ConfigMap, []string) {
	t.Helper()
	cms := client.For[*v1.ConfigMap](c, "default")
	owner, err := cms.Create(ctx, &v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Name: "owner"}})
	if err != nil {
		t.Fatal(err)
	}
	ref := v1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID}
	var names []string
	for i := 0; i < n; i++ {
		d := &v1.ConfigMap{ObjectMeta: v1.ObjectMeta{GenerateName: "dep-", OwnerReferences: []v1.OwnerReference{ref}}}
		got, err := cms.Create(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, got.Name)
	}
	sec := &v1.Secret{ObjectMeta: v1.ObjectMeta{Name: "dep-secret", OwnerReferences: []v1.OwnerReference{ref}}}
	if _, err := client.For[*v1.Secret](c, "default").Create(ctx, sec); err != nil {
		t.Fatal(err)
	}
	return owner, names
}

func exists(ctx context.Context, c *client.Client, name string) bool {
	_, err := client.For[*v1.ConfigMap](c, "default").Get(ctx, name)
	return err == nil
}

func TestBackgroundCascade(t *testing.T) {
	tc := testcluster.Start(t)
	startGC(t, tc)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, deps := family(t, ctx, tc.Admin, 3)
	// A dependent with a second, living owner keeps living.
	other, _ := client.For[*v1.ConfigMap](tc.Admin, "default").Create(ctx, &v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Name: "other"}})
	owner, _ := client.For[*v1.ConfigMap](tc.Admin, "default").Get(ctx, "owner")
	shared := &v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Name: "shared", OwnerReferences: []v1.OwnerReference{
		{APIVersion: "v1", Kind: "ConfigMap", Name: "owner", UID: owner.UID},
		{APIVersion: "v1", Kind: "ConfigMap", Name: "other", UID: other.UID},
	}}}
	if _, err := client.For[*v1.ConfigMap](tc.Admin, "default").Create(ctx, shared); err != nil {
		t.Fatal(err)
	}
	if _, err := client.For[*v1.ConfigMap](tc.Admin, "default").Delete(ctx, "owner", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, 20*time.Second, "dependents to be collected", func() bool {
		for _, d := range deps {
			if exists(ctx, tc.Admin, d) {
				return false
			}
		}
		_, err := client.For[*v1.Secret](tc.Admin, "default").Get(ctx, "dep-secret")
		return v1.IsNotFound(err)
	})
	s, err := client.For[*v1.ConfigMap](tc.Admin, "default").Get(ctx, "shared")
	if err != nil {
		t.Fatalf("dependent with a living owner was deleted: %v", err)
	}
	testcluster.Eventually(t, 10*time.Second, "dangling reference to be dropped", func() bool {
		s, err = client.For[*v1.ConfigMap](tc.Admin, "default").Get(ctx, "shared")
		return err == nil && len(s.OwnerReferences) == 1 && s.OwnerReferences[0].Name == "other"
	})
}

func TestOrphan(t *testing.T) {
	tc := testcluster.Start(t)
	startGC(t, tc)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, deps := family(t, ctx, tc.Admin, 3)
	if _, err := client.For[*v1.ConfigMap](tc.Admin, "default").Delete(ctx, "owner", client.DeleteOptions{PropagationPolicy: "Orphan"}); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, 20*time.Second, "owner to be deleted", func() bool { return !exists(ctx, tc.Admin, "owner") })
	for _, d := range deps {
		cm, err := client.For[*v1.ConfigMap](tc.Admin, "default").Get(ctx, d)
		if err != nil {
			t.Fatalf("orphaned dependent %s deleted: %v", d, err)
		}
		if len(cm.OwnerReferences) != 0 {
			t.Fatalf("orphaned dependent %s keeps owner references %v", d, cm.OwnerReferences)
		}
	}
}

func TestForeground(t *testing.T) {
	tc := testcluster.Start(t)
	startGC(t, tc)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, deps := family(t, ctx, tc.Admin, 2)
	// A dependent with a finalizer holds its owner in foreground deletion.
	cms := client.For[*v1.ConfigMap](tc.Admin, "default")
	d0, _ := cms.Get(ctx, deps[0])
	d0.Finalizers = []string{"example.com/hold"}
	if _, err := cms.Update(ctx, d0); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Delete(ctx, "owner", client.DeleteOptions{PropagationPolicy: "Foreground"}); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, 20*time.Second, "other dependents to go", func() bool { return !exists(ctx, tc.Admin, deps[1]) })
	if !exists(ctx, tc.Admin, "owner") {
		t.Fatal("owner deleted while a dependent remains")
	}
	if _, err := cms.Patch(ctx, deps[0], []byte(`{"metadata":{"finalizers":null}}`)); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, 20*time.Second, "owner to go after its dependents", func() bool { return !exists(ctx, tc.Admin, "owner") })
}

package garbagecollector

import (
	"context"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// idleGC is a cluster and a collector that is not run: its caches stay
// empty, and a test hands it the (stale) versions to judge.
func idleGC(t *testing.T) (*testcluster.Cluster, context.Context, *GC) {
	t.Helper()
	tc := testcluster.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	g, err := New(tc.Admin, nil, controller.Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	return tc, ctx, g
}

// A dependent judged from a cache that is behind must not be deleted for
// owners it no longer has: a PetSet deleted with the Orphan policy and
// recreated adopts its pods, and a garbage collector whose cache still
// showed the old owner deleted them (seen in CI).
func TestCollectSparesAnObjectNewerThanItsCachedVersion(t *testing.T) {
	tc, ctx, g := idleGC(t)
	cms := client.For[*v1.ConfigMap](tc.Admin, "default")
	old, err := cms.Create(ctx, &v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Name: "old-owner"}})
	if err != nil {
		t.Fatal(err)
	}
	stale, err := cms.Create(ctx, &v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Name: "pet", OwnerReferences: []v1.OwnerReference{
		{APIVersion: "v1", Kind: "ConfigMap", Name: old.Name, UID: old.UID}}}})
	if err != nil {
		t.Fatal(err)
	}
	// Orphaned, its old owner deleted, then adopted by a new owner.
	if _, err := cms.Patch(ctx, "pet", []byte(`{"metadata":{"ownerReferences":null}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Delete(ctx, old.Name, client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	adopter, err := cms.Create(ctx, &v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Name: "new-owner"}})
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := cms.Get(ctx, "pet")
	cur.OwnerReferences = []v1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: adopter.Name, UID: adopter.UID}}
	if _, err := cms.Update(ctx, cur); err != nil {
		t.Fatal(err)
	}

	kind, _ := tc.Admin.Registry().ByResource("configmaps")
	if err := g.collect(ctx, kind, stale); err != nil {
		t.Fatalf("collect: %v", err)
	}
	got, err := cms.Get(ctx, "pet")
	if err != nil {
		t.Fatalf("an adopted object was deleted for the owner its stale cached version named: %v", err)
	}
	if len(got.OwnerReferences) != 1 || got.OwnerReferences[0].UID != adopter.UID {
		t.Errorf("owners %v, want the adopter only", got.OwnerReferences)
	}
}

// A foreground deletion deletes the version of a dependent its cache
// holds, not one written since: a claim the user kept (its owner
// reference to the PetSet removed) must survive the set's foreground
// deletion when the cache still shows the set as its owner.
func TestForegroundSparesADependentReleasedSinceItsCachedVersion(t *testing.T) {
	tc, ctx, g := idleGC(t)
	cms := client.For[*v1.ConfigMap](tc.Admin, "default")
	owner, err := cms.Create(ctx, &v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Name: "set"}})
	if err != nil {
		t.Fatal(err)
	}
	ref := v1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID}
	stale, err := cms.Create(ctx, &v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Name: "kept", OwnerReferences: []v1.OwnerReference{ref}}})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := cms.Create(ctx, &v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Name: "dropped", OwnerReferences: []v1.OwnerReference{ref}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Patch(ctx, "kept", []byte(`{"metadata":{"ownerReferences":null}}`)); err != nil {
		t.Fatal(err)
	}

	kind, _ := tc.Admin.Registry().ByResource("configmaps")
	if changed, err := g.deleteDependent(ctx, kind, stale); err != nil || !changed {
		t.Fatalf("delete the stale version of kept: changed %v, err %v; want changed, no error", changed, err)
	}
	if k, err := cms.Get(ctx, "kept"); err != nil || k.DeletionTimestamp != nil {
		t.Fatalf("a dependent released since its cached version was deleted (err %v)", err)
	}
	if changed, err := g.deleteDependent(ctx, kind, gone); err != nil || changed {
		t.Fatalf("delete dropped: changed %v, err %v; want deleted", changed, err)
	}
	// In foreground, the API server marks it and the collector ends it.
	if d, err := cms.Get(ctx, "dropped"); err == nil && d.DeletionTimestamp == nil {
		t.Errorf("dropped, current in the cache, not deleted")
	}
}

package apiserver_test

import (
	"os"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// TestCRUDEveryKind creates, reads, lists, updates and deletes one object
// of every kind the API serves, from Kubernetes-style manifests.
func TestCRUDEveryKind(t *testing.T) {
	tc := testcluster.Start(t)
	ctx := ctxT(t)
	reg := tc.Admin.Registry()
	data, err := os.ReadFile("testdata/every-kind.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := reg.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, obj := range objs {
		kind, _ := reg.ByKind(obj.GetTypeMeta().Kind)
		m := obj.GetObjectMeta()
		t.Run(obj.GetTypeMeta().Kind+"/"+m.Name, func(t *testing.T) {
			res := client.ForKind(tc.Admin, kind, m.Namespace)
			created, err := res.Create(ctx, obj)
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			cm := created.GetObjectMeta()
			if cm.UID == "" || cm.ResourceVersion == "" || cm.CreationTimestamp == nil {
				t.Fatalf("create did not fill metadata: %+v", cm)
			}
			if _, err := res.Create(ctx, obj); !v1.IsAlreadyExists(err) {
				t.Fatalf("second create: %v, want AlreadyExists", err)
			}
			got, err := res.Get(ctx, m.Name)
			if err != nil || got.GetObjectMeta().UID != cm.UID {
				t.Fatalf("get: %v", err)
			}
			list, err := res.List(ctx, client.ListOptions{FieldSelector: "metadata.name=" + m.Name})
			if err != nil || len(list.Items) != 1 {
				t.Fatalf("list: %d items, %v", len(list.Items), err)
			}
			got.GetObjectMeta().Labels = map[string]string{"touched": "yes"}
			updated, err := res.Update(ctx, got)
			if err != nil {
				t.Fatalf("update: %v", err)
			}
			if updated.GetObjectMeta().Labels["touched"] != "yes" || updated.GetObjectMeta().ResourceVersion == cm.ResourceVersion {
				t.Fatalf("update not applied: %+v", updated.GetObjectMeta())
			}
			if kind.Resource != "namespaces" {
				if _, err := res.Delete(ctx, m.Name, client.DeleteOptions{}); err != nil {
					t.Fatalf("delete: %v", err)
				}
				if _, err := res.Get(ctx, m.Name); !v1.IsNotFound(err) {
					t.Fatalf("get after delete: %v, want NotFound", err)
				}
			}
			covered[kind.Kind] = true
		})
	}
	for _, k := range reg.All() {
		if !covered[k.Kind] {
			t.Errorf("kind %s has no CRUD case", k.Kind)
		}
	}
}

func TestSecretStringDataIsWriteOnly(t *testing.T) {
	tc := testcluster.Start(t)
	ctx := ctxT(t)
	s, err := client.For[*v1.Secret](tc.Admin, "default").Create(ctx, &v1.Secret{
		ObjectMeta: v1.ObjectMeta{Name: "pw"}, StringData: map[string]string{"password": "hunter2"}})
	if err != nil {
		t.Fatal(err)
	}
	if string(s.Data["password"]) != "hunter2" || len(s.StringData) != 0 {
		t.Fatalf("stringData not merged into data: %+v", s)
	}
}

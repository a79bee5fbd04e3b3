package apiserver_test

import (
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/testcluster"
	"k8s.io/apimachinery/pkg/api/resource"
)

// TestClaimsGetTheDefaultStorageClass: a claim that names no class is
// stored with the default class; one that names "" keeps no class; with
// no default class nothing is set.
func TestClaimsGetTheDefaultStorageClass(t *testing.T) {
	tc := testcluster.Start(t)
	ctx := ctxT(t)
	claims := client.For[*v1.PersistentVolumeClaim](tc.Admin, "default")
	claim := func(name string, class *string) *v1.PersistentVolumeClaim {
		c := &v1.PersistentVolumeClaim{ObjectMeta: v1.ObjectMeta{Name: name}}
		c.Spec.AccessModes = []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}
		c.Spec.Resources.Requests = v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")}
		c.Spec.StorageClassName = class
		got, err := claims.Create(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if c := claim("before", nil); c.Spec.StorageClassName != nil {
		t.Fatalf("with no default class, got class %q", *c.Spec.StorageClassName)
	}
	for _, name := range []string{"plain", "fast"} {
		sc := &v1.StorageClass{ObjectMeta: v1.ObjectMeta{Name: name}, Provisioner: v1.ProvisionerLocal}
		if name == "fast" {
			sc.Annotations = map[string]string{v1.AnnotationDefaultStorageClass: "true"}
		}
		if _, err := client.For[*v1.StorageClass](tc.Admin, "").Create(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	if c := claim("defaulted", nil); c.Spec.StorageClassName == nil || *c.Spec.StorageClassName != "fast" {
		t.Fatalf("claim with no class got %v, want the default class fast", c.Spec.StorageClassName)
	}
	empty := ""
	if c := claim("none", &empty); c.Spec.StorageClassName == nil || *c.Spec.StorageClassName != "" {
		t.Fatalf("claim with class \"\" got %v, want it kept", c.Spec.StorageClassName)
	}
}

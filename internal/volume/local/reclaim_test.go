package local

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// TestReclaimSparesAVolumeChangedSinceItsCachedVersion: the data of a
// Released volume whose reclaim policy is Delete is deleted only while
// the API server still holds the version judged. One kept by its
// administrator (policy set to Retain) after the agent's cache saw it
// keeps its data and object; one that did not change loses both.
func TestReclaimSparesAVolumeChangedSinceItsCachedVersion(t *testing.T) {
	tc := testcluster.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool := t.TempDir()
	dev := v1.NodeStorageDevice{Name: "data0", Path: pool, Capacity: resource.MustParse("10Gi")}
	p, err := NewProvisioner(ProvisionerConfig{Client: tc.Admin, NodeName: "node-1", Devices: []v1.NodeStorageDevice{dev}})
	if err != nil {
		t.Fatal(err)
	}
	volumes := client.For[*v1.PersistentVolume](tc.Admin, "")
	released := func(name string) (*v1.PersistentVolume, string) {
		path := filepath.Join(pool, VolumesDir, name)
		if err := os.MkdirAll(path, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(path, "data"), []byte("rows"), 0o644); err != nil {
			t.Fatal(err)
		}
		pv, err := volumes.Create(ctx, &v1.PersistentVolume{
			ObjectMeta: v1.ObjectMeta{Name: name, Annotations: map[string]string{v1.AnnotationProvisionedBy: v1.ProvisionerLocal,
				v1.AnnotationVolumeNode: "node-1", v1.AnnotationVolumeDevice: "data0"}},
			Spec: v1.PersistentVolumeSpec{Capacity: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")},
				PersistentVolumeSource:        v1.PersistentVolumeSource{Local: &v1.LocalVolumeSource{Path: path}},
				AccessModes:                   []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
				PersistentVolumeReclaimPolicy: v1.PersistentVolumeReclaimDelete,
				NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
					MatchExpressions: []v1.NodeSelectorRequirement{{Key: v1.LabelHostname, Operator: v1.NodeSelectorOpIn, Values: []string{"node-1"}}},
				}}}}}})
		if err != nil {
			t.Fatal(err)
		}
		pv.Status.Phase = v1.VolumeReleased
		if pv, err = volumes.UpdateStatus(ctx, pv); err != nil {
			t.Fatal(err)
		}
		if !p.reclaimable(pv) {
			t.Fatalf("volume %s is not reclaimable", name)
		}
		return pv, path
	}

	stale, keptPath := released("kept")
	if _, err := volumes.Patch(ctx, "kept", []byte(`{"spec":{"persistentVolumeReclaimPolicy":"Retain"}}`)); err != nil {
		t.Fatal(err)
	}
	if err := p.reclaim(ctx, stale); err != nil {
		t.Fatalf("reclaim kept: %v", err)
	}
	if _, err := os.Stat(filepath.Join(keptPath, "data")); err != nil {
		t.Errorf("the data of a volume set to Retain since its cached version was deleted: %v", err)
	}
	if _, err := volumes.Get(ctx, "kept"); err != nil {
		t.Errorf("volume kept: %v", err)
	}

	current, gonePath := released("gone")
	if err := p.reclaim(ctx, current); err != nil {
		t.Fatalf("reclaim gone: %v", err)
	}
	if _, err := os.Stat(gonePath); !os.IsNotExist(err) {
		t.Errorf("data of the released volume still there: %v", err)
	}
	if _, err := volumes.Get(ctx, "gone"); !v1.IsNotFound(err) {
		t.Errorf("released volume object: %v, want it deleted", err)
	}
}

package scheduler

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// TestWhichChangesRetryWaitingPods: a claim's own selection (the
// scheduler's write) wakes nobody; a selection given up wakes every pod;
// binding wakes its namespace; a device's reservations reported by the
// agent are not a change of the node.
func TestWhichChangesRetryWaitingPods(t *testing.T) {
	base := &v1.PersistentVolumeClaim{ObjectMeta: v1.ObjectMeta{Namespace: "default", Name: "data"}}
	selected := v1.Clone(base)
	selected.Annotations = map[string]string{v1.AnnotationSelectedNode: "n1", v1.AnnotationSelectedDevice: "d0"}
	moved := v1.Clone(selected)
	moved.Annotations[v1.AnnotationSelectedDevice] = "d1"
	bound := v1.Clone(selected)
	bound.Spec.VolumeName = "pv-1"
	deleting := v1.Clone(selected)
	deleting.DeletionTimestamp = &v1.Time{}
	tests := []struct {
		name           string
		old, new       *v1.PersistentVolumeClaim
		frees, changed bool
	}{
		{"selected by the scheduler", base, selected, false, false},
		{"moved to another device", selected, moved, true, false},
		{"selection removed", selected, base, true, false},
		{"bound", selected, bound, false, true},
		{"being deleted", selected, deleting, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := freesReservation(tt.old, tt.new); got != tt.frees {
				t.Errorf("freesReservation = %v, want %v", got, tt.frees)
			}
			if got := claimChanged(tt.old, tt.new); got != tt.changed {
				t.Errorf("claimChanged = %v, want %v", got, tt.changed)
			}
		})
	}

	dev := v1.NodeStorageDevice{Name: "d0", Capacity: resource.MustParse("100Gi")}
	reserved := dev
	reserved.Reserved = &v1.StorageReservation{Volumes: 1}
	bigger := dev
	bigger.Capacity = resource.MustParse("200Gi")
	if !sameDevices([]v1.NodeStorageDevice{dev}, []v1.NodeStorageDevice{reserved}) {
		t.Error("a reservation report counts as a device change")
	}
	if sameDevices([]v1.NodeStorageDevice{dev}, []v1.NodeStorageDevice{bigger}) || sameDevices(nil, []v1.NodeStorageDevice{dev}) {
		t.Error("a grown or added device is not a change")
	}
}

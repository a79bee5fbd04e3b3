package plugins

import (
	"maps"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

// volumeScores runs VolumeBinding's PreFilter, Filter and Score over the
// store's nodes and returns the score of each node that passed.
func volumeScores(t *testing.T, pl *VolumeBinding, f *fakeVolumes, pod *v1.Pod) map[string]int64 {
	t.Helper()
	state := framework.NewCycleState()
	if s := pl.PreFilter(t.Context(), state, pod); !s.IsSuccess() {
		t.Fatalf("PreFilter: %s", s.Message())
	}
	out := map[string]int64{}
	for name, node := range f.nodes {
		n := framework.NewNodeInfo(node)
		if !pl.Filter(t.Context(), state, pod, n).IsSuccess() {
			continue
		}
		v, s := pl.Score(t.Context(), state, pod, n)
		if !s.IsSuccess() {
			t.Fatalf("Score(%s): %s", name, s.Message())
		}
		out[name] = v
	}
	return out
}

// TestVolumeBindingScore: the node whose devices keep the most headroom
// once the pod's local volumes are carved wins; the score is the
// smallest share left of capacity, IOPS or bandwidth of those devices.
func TestVolumeBindingScore(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(f *fakeVolumes)
		claims []string
		want   map[string]int64 // feasible node → score
	}{
		{
			// roomy: IOPS 800/1000 left, capacity 99/100 → 80. busy-iops:
			// 100/1000 → 10. nearly-full: capacity 2/10Gi → 20.
			name: "the device with the most headroom wins",
			setup: func(f *fakeVolumes) {
				f.addNode(storageNode("roomy", nil, device("d0", "100Gi", "1000", "")))
				f.addNode(storageNode("busy-iops", nil, device("d0", "100Gi", "1000", "")))
				f.addNode(storageNode("nearly-full", nil, device("d0", "10Gi", "1000", "")))
				f.addPV(carvedPV("pv-iops", "busy-iops", "d0", "uid-1", "1Gi", "700"))
				f.addPV(carvedPV("pv-big", "nearly-full", "d0", "uid-2", "7Gi", "0"))
				f.addClass(localClass("fast", v1.ParamWriteIOPS, "200"))
				f.addClaim(claim("default", "data", "fast", "1Gi"))
			},
			claims: []string{"data"},
			want:   map[string]int64{"roomy": 80, "busy-iops": 10, "nearly-full": 20},
		},
		{
			// The claim goes to d1, the device with the most IOPS free,
			// as PreBind would select it: 800/1000 left.
			name: "a node's score is the device the claim is carved from",
			setup: func(f *fakeVolumes) {
				f.addNode(storageNode("two", nil, device("d0", "100Gi", "1000", ""), device("d1", "100Gi", "1000", "")))
				f.addPV(carvedPV("pv-iops", "two", "d0", "uid-1", "1Gi", "700"))
				f.addClass(localClass("fast", v1.ParamWriteIOPS, "200"))
				f.addClaim(claim("default", "data", "fast", "1Gi"))
			},
			claims: []string{"data"},
			want:   map[string]int64{"two": 80},
		},
		{
			// Bandwidth 400Mi of 1Gi taken → 60; capacity 99, IOPS not
			// figured.
			name: "bandwidth counts",
			setup: func(f *fakeVolumes) {
				f.addNode(storageNode("n1", nil, device("d0", "100Gi", "", "1Gi")))
				f.addClass(localClass("fast", v1.ParamReadBandwidth, "200Mi", v1.ParamWriteBandwidth, "200Mi"))
				f.addClaim(claim("default", "data", "fast", "1Gi"))
			},
			claims: []string{"data"},
			want:   map[string]int64{"n1": 60},
		},
		{
			// Both 300-IOPS claims on the one device: 400/1000 left.
			name: "the pod's claims count together",
			setup: func(f *fakeVolumes) {
				f.addNode(storageNode("n1", nil, device("d0", "100Gi", "1000", "")))
				f.addClass(localClass("fast", v1.ParamWriteIOPS, "300"))
				f.addClaim(claim("default", "data", "fast", "1Gi"))
				f.addClaim(claim("default", "wal", "fast", "1Gi"))
			},
			claims: []string{"data", "wal"},
			want:   map[string]int64{"n1": 40},
		},
		{
			// node-1's volume made in advance takes nothing from a device.
			name: "a volume made in advance beats carving one",
			setup: func(f *fakeVolumes) {
				f.addNode(storageNode("node-1", nil))
				f.addNode(storageNode("node-2", nil, device("d0", "100Gi", "1000", "")))
				f.addClass(localClass("fast", v1.ParamWriteIOPS, "100"))
				f.addPV(pinnedPV("pv-static", "fast", "10Gi", "node-1"))
				f.addClaim(claim("default", "data", "fast", "5Gi"))
			},
			claims: []string{"data"},
			want:   map[string]int64{"node-1": framework.MaxNodeScore, "node-2": 90},
		},
		{
			name: "a claim already selected for its device carves nothing new",
			setup: func(f *fakeVolumes) {
				f.addNode(storageNode("n1", nil, device("d0", "100Gi", "300", "")))
				f.addClass(localClass("fast", v1.ParamWriteIOPS, "300"))
				c := f.addClaim(claim("default", "data", "fast", "1Gi"))
				c.Annotations = map[string]string{v1.AnnotationSelectedNode: "n1", v1.AnnotationSelectedDevice: "d0"}
			},
			claims: []string{"data"},
			want:   map[string]int64{"n1": framework.MaxNodeScore},
		},
		{
			name: "claims of other provisioners, or bound ones, are neutral",
			setup: func(f *fakeVolumes) {
				f.addNode(storageNode("n1", nil, device("d0", "100Gi", "1000", "")))
				f.addNode(storageNode("n2", nil))
				f.addClass(classOf("flex", v1.ProvisionerFlex))
				f.addClaim(claim("default", "scratch", "flex", "1Gi"))
				f.addPV(pinnedPV("pv-bound", "fast", "1Gi", "n1", "n2"))
				f.addClaim(claim("default", "bound", "fast", "1Gi")).Spec.VolumeName = "pv-bound"
			},
			claims: []string{"scratch", "bound"},
			want:   map[string]int64{"n1": framework.MaxNodeScore, "n2": framework.MaxNodeScore},
		},
		{
			name:   "a pod without claims is neutral",
			setup:  func(f *fakeVolumes) { f.addNode(storageNode("n1", nil)) },
			claims: nil,
			want:   map[string]int64{"n1": framework.MaxNodeScore},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeVolumes()
			tt.setup(f)
			got := volumeScores(t, NewVolumeBinding(f, f), f, podClaiming("p", tt.claims...))
			if !maps.Equal(got, tt.want) {
				t.Fatalf("scores = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestVolumeBindingScoreCountsReservations: a pod reserved on a device
// but not yet written lowers its headroom for the next pod.
func TestVolumeBindingScoreCountsReservations(t *testing.T) {
	f := newFakeVolumes()
	f.lagging = true
	f.addNode(storageNode("n1", nil, device("d0", "100Gi", "1000", "")))
	f.addNode(storageNode("n2", nil, device("d0", "100Gi", "1000", "")))
	f.addClass(localClass("fast", v1.ParamWriteIOPS, "300"))
	f.addClaim(claim("default", "a", "fast", "1Gi"))
	f.addClaim(claim("default", "b", "fast", "1Gi"))
	pl := NewVolumeBinding(f, f)
	mustReserve(t, pl, podClaiming("a", "a"), "n1")
	got := volumeScores(t, pl, f, podClaiming("b", "b"))
	if want := map[string]int64{"n1": 40, "n2": 70}; !maps.Equal(got, want) {
		t.Fatalf("scores = %v, want %v", got, want)
	}
}

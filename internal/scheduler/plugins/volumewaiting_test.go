package plugins

import (
	"context"
	"maps"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/volume"
)

// classOf is a WaitForFirstConsumer class of provisioner.
func classOf(name, provisioner string) *v1.StorageClass {
	sc := localClass(name)
	sc.Provisioner = provisioner
	return sc
}

// inZone restricts a class to the zones.
func inZone(sc *v1.StorageClass, zones ...string) *v1.StorageClass {
	sc.AllowedTopologies = []v1.TopologySelectorTerm{{MatchLabelExpressions: []v1.TopologySelectorLabelRequirement{{Key: "zone", Values: zones}}}}
	return sc
}

// TestVolumeBindingFilterWaitingClaims: an unbound WaitForFirstConsumer
// claim of any class fits a node where a volume made in advance admits
// it, or where its class's provisioner can make one.
func TestVolumeBindingFilterWaitingClaims(t *testing.T) {
	fits := []string(nil)
	zoned := func(f *fakeVolumes) {
		f.addNode(storageNode("in-a", map[string]string{"zone": "a"}, device("d0", "100Gi", "1000", "")))
		f.addNode(storageNode("in-b", map[string]string{"zone": "b"}, device("d0", "100Gi", "1000", "")))
	}
	tests := []struct {
		name   string
		setup  func(f *fakeVolumes)
		claims []string
		want   map[string][]string // node → reasons (nil: fits)
	}{
		{
			name: "a class without a provisioner fits only where a volume made in advance is",
			setup: func(f *fakeVolumes) {
				f.addNode(storageNode("node-1", nil))
				f.addNode(storageNode("node-2", nil))
				f.addNode(storageNode("node-3", nil))
				f.addClass(classOf("static", ProvisionerNone))
				f.addPV(pinnedPV("pv-1", "static", "10Gi", "node-1"))
				f.addPV(pinnedPV("pv-3-small", "static", "1Gi", "node-3"))
				f.addClaim(claim("default", "data", "static", "5Gi"))
			},
			claims: []string{"data"},
			want:   map[string][]string{"node-1": fits, "node-2": {ReasonNoVolumesToBind}, "node-3": {ReasonNoVolumesToBind}},
		},
		{
			name: "an external provisioner makes volumes on any node",
			setup: func(f *fakeVolumes) {
				f.addNode(storageNode("node-1", nil))
				f.addNode(storageNode("node-2", nil))
				f.addClass(classOf("nfs", "example.com/nfs"))
				f.addClaim(claim("default", "data", "nfs", "5Gi"))
			},
			claims: []string{"data"},
			want:   map[string][]string{"node-1": fits, "node-2": fits},
		},
		{
			name: "a volume made in advance admits its node outside the class's allowedTopologies",
			setup: func(f *fakeVolumes) {
				zoned(f)
				f.addNode(storageNode("no-zone", nil, device("d0", "100Gi", "1000", "")))
				f.addClass(inZone(classOf("flex", v1.ProvisionerFlex), "a"))
				f.addPV(pinnedPV("pv-b", "flex", "10Gi", "in-b"))
				f.addClaim(claim("default", "data", "flex", "5Gi"))
			},
			claims: []string{"data"},
			want:   map[string][]string{"in-a": fits, "in-b": fits, "no-zone": {ReasonAllowedTopologies}},
		},
		{
			name: "so does one of a local class",
			setup: func(f *fakeVolumes) {
				zoned(f)
				f.addClass(inZone(localClass("fast"), "a"))
				f.addPV(pinnedPV("pv-b", "fast", "10Gi", "in-b"))
				f.addClaim(claim("default", "data", "fast", "5Gi"))
			},
			claims: []string{"data"},
			want:   map[string][]string{"in-a": fits, "in-b": fits},
		},
		{
			name: "a FlexVolume claim selected for a node keeps its pods there",
			setup: func(f *fakeVolumes) {
				zoned(f)
				f.addClass(classOf("flex", v1.ProvisionerFlex))
				c := f.addClaim(claim("default", "data", "flex", "1Gi"))
				c.Annotations = map[string]string{v1.AnnotationSelectedNode: "in-b"}
			},
			claims: []string{"data"},
			want:   map[string][]string{"in-a": {ReasonSelectedNodeConflict}, "in-b": fits},
		},
		{
			name: "every claim of the pod must get its volume on the node",
			setup: func(f *fakeVolumes) {
				f.addNode(storageNode("node-1", nil, device("d0", "100Gi", "1000", "")))
				f.addNode(storageNode("node-2", nil, device("d0", "100Gi", "100", "")))
				f.addNode(storageNode("node-3", nil, device("d0", "100Gi", "1000", "")))
				f.addClass(classOf("static", ProvisionerNone))
				f.addClass(localClass("fast", v1.ParamWriteIOPS, "500"))
				f.addClass(classOf("flex", v1.ProvisionerFlex))
				f.addPV(pinnedPV("pv-12", "static", "10Gi", "node-1", "node-2"))
				f.addClaim(claim("default", "data", "fast", "1Gi"))
				f.addClaim(claim("default", "static", "static", "1Gi"))
				f.addClaim(claim("default", "flex", "flex", "1Gi"))
			},
			claims: []string{"flex", "static", "data"},
			want:   map[string][]string{"node-1": fits, "node-2": {volume.ReasonIOPS}, "node-3": {ReasonNoVolumesToBind}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeVolumes()
			tt.setup(f)
			pre, perNode := decide(t, NewVolumeBinding(f, f), f, podClaiming("p", tt.claims...))
			if pre != nil {
				t.Fatalf("PreFilter = %s %q, want success", pre.Code(), pre.Message())
			}
			if len(perNode) != len(tt.want) {
				t.Fatalf("filtered %d nodes, the test expects verdicts for %d", len(perNode), len(tt.want))
			}
			for node, want := range tt.want {
				t.Run(node, func(t *testing.T) {
					checkStatus(t, perNode[node], want)
				})
			}
		})
	}
}

// TestVolumeBindingPreBindSelectsEveryWaitingClaim: PreBind writes the
// node on every unbound WaitForFirstConsumer claim of the pod, whatever
// its class, and a device only on the local claim it carves; a second
// pod of the FlexVolume claim, decided before the informer shows the
// write, is held to the same node.
func TestVolumeBindingPreBindSelectsEveryWaitingClaim(t *testing.T) {
	f := newFakeVolumes()
	f.lagging = true
	f.addNode(storageNode("node-1", nil, device("d0", "100Gi", "1000", "")))
	f.addNode(storageNode("node-2", nil, device("d0", "100Gi", "1000", "")))
	f.addClass(localClass("fast"))
	f.addClass(classOf("flex", v1.ProvisionerFlex))
	f.addClass(classOf("nfs", "example.com/nfs"))
	f.addClass(classOf("static", ProvisionerNone))
	f.addPV(pinnedPV("pv-static", "static", "10Gi", "node-2"))
	for _, name := range []string{"fast", "flex", "nfs", "static"} {
		f.addClaim(claim("default", name, name, "1Gi"))
	}
	pl := NewVolumeBinding(f, f)
	pod := podClaiming("p", "fast", "flex", "nfs", "static")
	if _, perNode := decide(t, pl, f, pod); !perNode["node-2"].IsSuccess() || perNode["node-1"].IsSuccess() {
		t.Fatalf("node-1: %q, node-2: %q; want only node-2 (the static volume's)", perNode["node-1"].Reasons(), perNode["node-2"].Reasons())
	}
	if s := pl.PreBind(context.Background(), nil, pod, "node-2"); !s.IsSuccess() {
		t.Fatalf("PreBind: %s %s", s.Code(), s.Message())
	}
	want := map[string]map[string]string{
		"fast":   {v1.AnnotationSelectedNode: "node-2", v1.AnnotationSelectedDevice: "d0"},
		"flex":   {v1.AnnotationSelectedNode: "node-2"},
		"nfs":    {v1.AnnotationSelectedNode: "node-2"},
		"static": {v1.AnnotationSelectedNode: "node-2"},
	}
	for name, ann := range want {
		if got := f.apiClaim("default", name).Annotations; !maps.Equal(got, ann) {
			t.Errorf("claim %s annotations = %v, want %v", name, got, ann)
		}
	}
	_, perNode := decide(t, pl, f, podClaiming("q", "flex"))
	checkStatus(t, perNode["node-1"], []string{ReasonSelectedNodeConflict})
	checkStatus(t, perNode["node-2"], nil)

	f.caughtUp()
	decide(t, pl, f, podClaiming("q", "flex"))
	if len(pl.assumed) != 1 {
		t.Fatalf("assumed = %v, want only the static claim's, until its volume names it", pl.assumed)
	}
}

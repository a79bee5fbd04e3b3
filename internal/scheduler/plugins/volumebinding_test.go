package plugins

import (
	"context"
	"slices"
	"strings"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
	"github.com/kennel-dev/kennel/internal/volume"
)

func TestVolumeBindingPreFilter(t *testing.T) {
	immediate := v1.VolumeBindingImmediate
	tests := []struct {
		name   string
		setup  func(f *fakeVolumes)
		claims []string
		pre    string // PreFilter's reason for every node
	}{
		{
			name: "the volume of a bound claim is missing",
			setup: func(f *fakeVolumes) {
				f.addNode(storageNode("n1", nil))
				f.addClaim(claim("default", "data", "fast", "1Gi")).Spec.VolumeName = "pv-gone"
			},
			claims: []string{"data"},
			pre:    `persistentvolume "pv-gone" not found`,
		},
		{
			name:   "the claim does not exist",
			setup:  func(f *fakeVolumes) { f.addNode(storageNode("n1", nil)) },
			claims: []string{"missing"},
			pre:    `persistentvolumeclaim "missing" not found`,
		},
		{
			name: "the claim is being deleted",
			setup: func(f *fakeVolumes) {
				f.addNode(storageNode("n1", nil))
				f.addClaim(claim("default", "data", "fast", "1Gi")).DeletionTimestamp = &v1.Time{}
			},
			claims: []string{"data"},
			pre:    `persistentvolumeclaim "data" is being deleted`,
		},
		{
			name: "an unbound claim of an Immediate class waits for the controller",
			setup: func(f *fakeVolumes) {
				f.addNode(storageNode("n1", nil, device("d0", "100Gi", "1000", "")))
				sc := localClass("now")
				sc.VolumeBindingMode = &immediate
				f.addClass(sc)
				f.addClaim(claim("default", "data", "now", "1Gi"))
			},
			claims: []string{"data"},
			pre:    ReasonUnboundImmediateClaims,
		},
		{
			name: "an unbound claim of no class waits for the controller",
			setup: func(f *fakeVolumes) {
				f.addNode(storageNode("n1", nil))
				f.addClaim(claim("default", "data", "", "1Gi"))
			},
			claims: []string{"data"},
			pre:    ReasonUnboundImmediateClaims,
		},
		{
			name: "the class does not exist",
			setup: func(f *fakeVolumes) {
				f.addNode(storageNode("n1", nil))
				f.addClaim(claim("default", "data", "nope", "1Gi"))
			},
			claims: []string{"data"},
			pre:    `storageclass "nope" not found`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeVolumes()
			tt.setup(f)
			pre, _ := decide(t, NewVolumeBinding(f, f), f, podClaiming("p", tt.claims...))
			if pre.Code() != framework.Unschedulable || pre.Message() != tt.pre {
				t.Fatalf("PreFilter = %s %q, want Unschedulable %q", pre.Code(), pre.Message(), tt.pre)
			}
		})
	}
}

func TestVolumeBindingFilter(t *testing.T) {
	fits := []string(nil)
	tests := []struct {
		name   string
		setup  func(f *fakeVolumes)
		claims []string
		want   map[string][]string // node → reasons (nil: fits)
	}{
		{
			name:   "a pod without claims fits anywhere",
			setup:  func(f *fakeVolumes) { f.addNode(storageNode("n1", nil)) },
			claims: nil,
			want:   map[string][]string{"n1": fits},
		},
		{
			name: "a bound local volume pins its pods to its node",
			setup: func(f *fakeVolumes) {
				f.addNode(storageNode("node-1", nil))
				f.addNode(storageNode("node-2", nil))
				f.addPV(pinnedPV("pv-data", "fast", "1Gi", "node-2"))
				c := f.addClaim(claim("default", "data", "fast", "1Gi"))
				c.Spec.VolumeName = "pv-data"
			},
			claims: []string{"data"},
			want:   map[string][]string{"node-1": {ReasonVolumeNodeAffinityConflict}, "node-2": fits},
		},
		{
			name: "IOPS over-commit is rejected",
			setup: func(f *fakeVolumes) {
				f.addNode(storageNode("busy", nil, device("d0", "100Gi", "1000", "")))
				f.addNode(storageNode("idle", nil, device("d0", "100Gi", "1000", "")))
				f.addPV(carvedPV("pv-old", "busy", "d0", "uid-old", "1Gi", "900"))
				f.addClass(localClass("fast", v1.ParamReadIOPS, "100", v1.ParamWriteIOPS, "100"))
				f.addClaim(claim("default", "data", "fast", "1Gi"))
			},
			claims: []string{"data"},
			want:   map[string][]string{"busy": {volume.ReasonIOPS}, "idle": fits},
		},
		{
			name: "an annotated claim of another namespace holds its reservation",
			setup: func(f *fakeVolumes) {
				f.addNode(storageNode("n1", nil, device("d0", "100Gi", "300", "")))
				f.addClass(localClass("fast", v1.ParamWriteIOPS, "200"))
				other := f.addClaim(claim("other", "theirs", "fast", "1Gi"))
				other.Annotations = map[string]string{v1.AnnotationSelectedNode: "n1", v1.AnnotationSelectedDevice: "d0"}
				f.addClaim(claim("default", "data", "fast", "1Gi"))
			},
			claims: []string{"data"},
			want:   map[string][]string{"n1": {volume.ReasonIOPS}},
		},
		{
			name: "capacity over-commit is rejected",
			setup: func(f *fakeVolumes) {
				f.addNode(storageNode("small", nil, device("d0", "10Gi", "1000", "")))
				f.addNode(storageNode("big", nil, device("d0", "100Gi", "1000", "")))
				f.addPV(carvedPV("pv-old", "small", "d0", "uid-old", "8Gi", "0"))
				f.addClass(localClass("fast"))
				f.addClaim(claim("default", "data", "fast", "5Gi"))
			},
			claims: []string{"data"},
			want:   map[string][]string{"small": {volume.ReasonCapacity}, "big": fits},
		},
		{
			name: "bandwidth over-commit is rejected, and a device without a figure promises none",
			setup: func(f *fakeVolumes) {
				f.addNode(storageNode("slow", nil, device("d0", "100Gi", "", "100Mi")))
				f.addNode(storageNode("uncounted", nil, device("d0", "100Gi", "", "")))
				f.addNode(storageNode("fast", nil, device("d0", "100Gi", "", "1Gi")))
				f.addClass(localClass("fast", v1.ParamReadBandwidth, "100Mi", v1.ParamWriteBandwidth, "100Mi"))
				f.addClaim(claim("default", "data", "fast", "1Gi"))
			},
			claims: []string{"data"},
			want: map[string][]string{"slow": {volume.ReasonBandwidth}, "uncounted": {volume.ReasonBandwidth},
				"fast": fits},
		},
		{
			name: "no storage device, or none of the class's device name",
			setup: func(f *fakeVolumes) {
				f.addNode(storageNode("bare", nil))
				f.addNode(storageNode("hdd-only", nil, device("hdd", "100Gi", "1000", "")))
				f.addNode(storageNode("has-nvme", nil, device("hdd", "100Gi", "1000", ""), device("nvme", "100Gi", "1000", "")))
				f.addClass(localClass("fast", v1.ParamDevice, "nvme"))
				f.addClaim(claim("default", "data", "fast", "1Gi"))
			},
			claims: []string{"data"},
			want:   map[string][]string{"bare": {volume.ReasonNoDevice}, "hdd-only": {volume.ReasonNoDevice}, "has-nvme": fits},
		},
		{
			name: "two claims of one pod fit only together on a bigger device",
			setup: func(f *fakeVolumes) {
				// Each claim alone fits the 300-IOPS device; both need 400.
				f.addNode(storageNode("small", nil, device("d0", "100Gi", "300", "")))
				f.addNode(storageNode("big", nil, device("d0", "100Gi", "500", "")))
				f.addNode(storageNode("two-small", nil, device("d0", "100Gi", "300", ""), device("d1", "100Gi", "300", "")))
				f.addClass(localClass("fast", v1.ParamWriteIOPS, "200"))
				f.addClaim(claim("default", "data", "fast", "1Gi"))
				f.addClaim(claim("default", "wal", "fast", "1Gi"))
			},
			claims: []string{"data", "wal", "data"}, // a claim named twice counts once
			want:   map[string][]string{"small": {volume.ReasonIOPS}, "big": fits, "two-small": fits},
		},
		{
			name: "allowedTopologies must admit the node",
			setup: func(f *fakeVolumes) {
				f.addNode(storageNode("in-a", map[string]string{"zone": "a"}, device("d0", "100Gi", "1000", "")))
				f.addNode(storageNode("in-b", map[string]string{"zone": "b"}, device("d0", "100Gi", "1000", "")))
				f.addNode(storageNode("no-zone", nil, device("d0", "100Gi", "1000", "")))
				sc := localClass("fast")
				sc.AllowedTopologies = []v1.TopologySelectorTerm{{MatchLabelExpressions: []v1.TopologySelectorLabelRequirement{{Key: "zone", Values: []string{"a"}}}}}
				f.addClass(sc)
				f.addClaim(claim("default", "data", "fast", "1Gi"))
			},
			claims: []string{"data"},
			want:   map[string][]string{"in-a": fits, "in-b": {ReasonAllowedTopologies}, "no-zone": {ReasonAllowedTopologies}},
		},
		{
			name: "a WaitForFirstConsumer claim of another provisioner goes anywhere its topology allows",
			setup: func(f *fakeVolumes) {
				f.addNode(storageNode("in-a", map[string]string{"zone": "a"}))
				f.addNode(storageNode("in-b", map[string]string{"zone": "b"}))
				sc := localClass("flex")
				sc.Provisioner = v1.ProvisionerFlex
				sc.AllowedTopologies = []v1.TopologySelectorTerm{{MatchLabelExpressions: []v1.TopologySelectorLabelRequirement{{Key: "zone", Values: []string{"a", "c"}}}}}
				f.addClass(sc)
				f.addClaim(claim("default", "data", "flex", "1Gi"))
			},
			claims: []string{"data"},
			want:   map[string][]string{"in-a": fits, "in-b": {ReasonAllowedTopologies}},
		},
		{
			name: "an Available volume made in advance satisfies the claim on its node only",
			setup: func(f *fakeVolumes) {
				f.addNode(storageNode("node-1", nil))
				f.addNode(storageNode("node-2", nil))
				f.addNode(storageNode("node-3", nil))
				f.addClass(localClass("fast"))
				f.addPV(pinnedPV("pv-static", "fast", "10Gi", "node-1"))
				small := pinnedPV("pv-small", "fast", "1Gi", "node-2") // too small
				f.addPV(small)
				other := pinnedPV("pv-other-class", "slow", "10Gi", "node-3")
				f.addPV(other)
				f.addClaim(claim("default", "data", "fast", "5Gi"))
			},
			claims: []string{"data"},
			want: map[string][]string{"node-1": fits, "node-2": {volume.ReasonNoDevice},
				"node-3": {volume.ReasonNoDevice}},
		},
		{
			name: "a claim selected for a node keeps its pods there",
			setup: func(f *fakeVolumes) {
				f.addNode(storageNode("chosen", nil, device("d0", "100Gi", "300", "")))
				f.addNode(storageNode("other", nil, device("d0", "100Gi", "1000", "")))
				f.addClass(localClass("fast", v1.ParamWriteIOPS, "300"))
				c := f.addClaim(claim("default", "data", "fast", "1Gi"))
				// Its own reservation does not count against it.
				c.Annotations = map[string]string{v1.AnnotationSelectedNode: "chosen", v1.AnnotationSelectedDevice: "d0"}
			},
			claims: []string{"data"},
			want:   map[string][]string{"chosen": fits, "other": {ReasonSelectedNodeConflict}},
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
					got, ok := perNode[node]
					if !ok {
						t.Fatalf("no node %s", node)
					}
					checkStatus(t, got, want)
				})
			}
		})
	}
}

// TestVolumeBindingPreBindSelectsNodeAndDevice checks the annotations a
// chosen node's claims get, and that claims already selected for it are
// not written again.
func TestVolumeBindingPreBindSelectsNodeAndDevice(t *testing.T) {
	f := newFakeVolumes()
	f.addNode(storageNode("n1", nil, device("hdd", "100Gi", "100", ""), device("ssd", "100Gi", "1000", "")))
	f.addClass(localClass("fast", v1.ParamWriteIOPS, "200"))
	f.addClass(localClass("anywhere"))
	f.addClaim(claim("default", "data", "fast", "1Gi"))
	done := f.addClaim(claim("default", "done", "anywhere", "1Gi"))
	done.Annotations = map[string]string{v1.AnnotationSelectedNode: "n1", v1.AnnotationSelectedDevice: "hdd"}
	pl := NewVolumeBinding(f, f)
	pod := podClaiming("p", "data", "done")
	if pre, perNode := decide(t, pl, f, pod); pre != nil || !perNode["n1"].IsSuccess() {
		t.Fatalf("pod does not fit n1: %v %v", pre.Message(), perNode["n1"].Message())
	}
	if s := pl.PreBind(context.Background(), nil, pod, "n1"); !s.IsSuccess() {
		t.Fatalf("PreBind: %s %s", s.Code(), s.Message())
	}
	got := f.apiClaim("default", "data").Annotations
	if got[v1.AnnotationSelectedNode] != "n1" || got[v1.AnnotationSelectedDevice] != "ssd" {
		t.Fatalf("claim annotations = %v, want n1 and ssd (the only device with 200 IOPS free)", got)
	}
	if f.writes != 1 {
		t.Fatalf("%d claim writes, want 1: the claim already selected for n1 is left as it is", f.writes)
	}
	// The informer shows the annotation: the assumption is forgotten and
	// the reservation still counts, once.
	f.caughtUp()
	if pre, perNode := decide(t, pl, f, pod); pre != nil || !perNode["n1"].IsSuccess() {
		t.Fatalf("after the informer caught up the pod no longer fits n1: %v", perNode["n1"].Message())
	}
	if len(pl.assumed) != 0 {
		t.Fatalf("assumed claims = %v, want none once the informer shows them", pl.assumed)
	}
}

// TestVolumeBindingBurstNeverOverCommits places pods with a 200-IOPS
// claim each on one 1000-IOPS device while the informer shows none of
// the writes: the sixth is rejected by Filter, and a pod that passed
// Filter before the others' PreBind is stopped by its own PreBind.
func TestVolumeBindingBurstNeverOverCommits(t *testing.T) {
	f := newFakeVolumes()
	f.lagging = true
	f.addNode(storageNode("n1", nil, device("d0", "100Gi", "1000", "")))
	f.addClass(localClass("fast", v1.ParamReadIOPS, "100", v1.ParamWriteIOPS, "100"))
	names := []string{"a", "b", "c", "d", "e", "f"}
	for _, n := range names {
		f.addClaim(claim("default", n, "fast", "1Gi"))
	}
	pl := NewVolumeBinding(f, f)
	// e and f are decided before anyone's PreBind ran.
	early := map[string]bool{}
	for _, n := range []string{"e", "f"} {
		_, perNode := decide(t, pl, f, podClaiming(n, n))
		early[n] = perNode["n1"].IsSuccess()
	}
	if !early["e"] || !early["f"] {
		t.Fatalf("with nothing reserved yet, e and f should fit: %v", early)
	}
	for _, n := range names[:4] {
		pod := podClaiming(n, n)
		if _, perNode := decide(t, pl, f, pod); !perNode["n1"].IsSuccess() {
			t.Fatalf("pod %s rejected: %s", n, perNode["n1"].Message())
		}
		if s := pl.PreBind(context.Background(), nil, pod, "n1"); !s.IsSuccess() {
			t.Fatalf("PreBind %s: %s", n, s.Message())
		}
	}
	if s := pl.PreBind(context.Background(), nil, podClaiming("e", "e"), "n1"); !s.IsSuccess() {
		t.Fatalf("PreBind e (the fifth 200 IOPS of 1000): %s", s.Message())
	}
	s := pl.PreBind(context.Background(), nil, podClaiming("f", "f"), "n1")
	if s.Code() != framework.Unschedulable || s.Message() != volume.ReasonIOPS {
		t.Fatalf("PreBind f = %s %q, want Unschedulable %q", s.Code(), s.Message(), volume.ReasonIOPS)
	}
	if c := f.apiClaim("default", "f"); c.Annotations[v1.AnnotationSelectedNode] != "" {
		t.Fatalf("claim f was selected: %v", c.Annotations)
	}
	if _, perNode := decide(t, pl, f, podClaiming("f", "f")); !slices.Equal(perNode["n1"].Reasons(), []string{volume.ReasonIOPS}) {
		t.Fatalf("f decided again: %q, want %q", perNode["n1"].Reasons(), volume.ReasonIOPS)
	}
	if f.writes != 5 {
		t.Fatalf("%d claims selected, want 5", f.writes)
	}

	// A selected claim that is deleted frees its reservation.
	delete(f.claims, "default/a")
	delete(f.written, "default/a")
	if _, perNode := decide(t, pl, f, podClaiming("f", "f")); !perNode["n1"].IsSuccess() {
		t.Fatalf("after claim a went, f still rejected: %s", perNode["n1"].Message())
	}
}

// TestVolumeBindingPreBindConflictForgets: a claim that changed since
// the informer showed it is not written, its reservation is dropped, and
// the pod is to be decided again.
func TestVolumeBindingPreBindConflictForgets(t *testing.T) {
	f := newFakeVolumes()
	f.lagging = true
	f.addNode(storageNode("n1", nil, device("d0", "100Gi", "1000", "")))
	f.addClass(localClass("fast", v1.ParamWriteIOPS, "600"))
	f.addClaim(claim("default", "data", "fast", "1Gi"))
	f.written["default/data"] = v1.Clone(f.claims["default/data"])
	f.written["default/data"].ResourceVersion = "7" // changed by someone else
	pl := NewVolumeBinding(f, f)
	s := pl.PreBind(context.Background(), nil, podClaiming("p", "data"), "n1")
	if s.Code() != framework.Unschedulable || !strings.Contains(s.Message(), "has been modified") {
		t.Fatalf("PreBind = %s %q, want Unschedulable for the conflict", s.Code(), s.Message())
	}
	if len(pl.assumed) != 0 {
		t.Fatalf("assumed = %v after a failed write, want none", pl.assumed)
	}
	f.addClaim(claim("default", "other", "fast", "1Gi"))
	if _, perNode := decide(t, pl, f, podClaiming("q", "other")); !perNode["n1"].IsSuccess() {
		t.Fatalf("the failed reservation still counts: %s", perNode["n1"].Message())
	}
}

// TestVolumeBindingStaticVolumeOnce: a volume made in advance is selected
// (node, no device) for one claim of a burst; the next claim, whose pod
// is decided before the informer shows it, cannot count on it.
func TestVolumeBindingStaticVolumeOnce(t *testing.T) {
	f := newFakeVolumes()
	f.lagging = true
	f.addNode(storageNode("node-1", nil))
	f.addClass(localClass("fast"))
	f.addPV(pinnedPV("pv-static", "fast", "10Gi", "node-1"))
	f.addClaim(claim("default", "first", "fast", "5Gi"))
	f.addClaim(claim("default", "second", "fast", "5Gi"))
	pl := NewVolumeBinding(f, f)
	if s := pl.PreBind(context.Background(), nil, podClaiming("p1", "first"), "node-1"); !s.IsSuccess() {
		t.Fatalf("PreBind first: %s", s.Message())
	}
	got := f.apiClaim("default", "first").Annotations
	if got[v1.AnnotationSelectedNode] != "node-1" || got[v1.AnnotationSelectedDevice] != "" {
		t.Fatalf("first claim annotations = %v, want node-1 and no device", got)
	}
	if _, perNode := decide(t, pl, f, podClaiming("p2", "second")); !slices.Equal(perNode["node-1"].Reasons(), []string{volume.ReasonNoDevice}) {
		t.Fatalf("second claim on node-1: %q, want %q (the volume is taken)", perNode["node-1"].Reasons(), volume.ReasonNoDevice)
	}
	// Once the volume names its claim, the assumption is no longer needed.
	f.pvs["pv-static"].Spec.ClaimRef = &v1.ObjectReference{Namespace: "default", Name: "first", UID: "uid-default-first"}
	f.caughtUp()
	decide(t, pl, f, podClaiming("p2", "second"))
	if len(pl.assumed) != 0 {
		t.Fatalf("assumed = %v, want none once the volume names its claim", pl.assumed)
	}
}

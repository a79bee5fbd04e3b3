package volumebinding

import (
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/volume"
)

func TestMismatch(t *testing.T) {
	node := &v1.Node{ObjectMeta: v1.ObjectMeta{Name: "n1", Labels: map[string]string{"zone": "a"}}}
	affinity := func(term v1.NodeSelectorTerm) *v1.VolumeNodeAffinity {
		return &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{term}}}
	}
	block := v1.PersistentVolumeBlock
	tests := []struct {
		name   string
		change func(*v1.PersistentVolume)
		node   *v1.Node
		want   string
	}{
		{"fits", func(*v1.PersistentVolume) {}, nil, ""},
		{"bigger fits", func(pv *v1.PersistentVolume) { pv.Spec.Capacity[v1.ResourceStorage] = qty("9Gi") }, nil, ""},
		{"class", func(pv *v1.PersistentVolume) { pv.Spec.StorageClassName = "other" }, nil,
			`storage class "other" is not the claim's "c"`},
		{"size", func(pv *v1.PersistentVolume) { pv.Spec.Capacity[v1.ResourceStorage] = qty("1Gi") }, nil,
			"capacity 1Gi is less than the 2Gi requested"},
		{"modes", func(pv *v1.PersistentVolume) { pv.Spec.AccessModes = []v1.PersistentVolumeAccessMode{v1.ReadOnlyMany} }, nil,
			"access modes [ReadOnlyMany] do not include ReadWriteOnce"},
		{"volume mode", func(pv *v1.PersistentVolume) { pv.Spec.VolumeMode = &block }, nil,
			"volume mode Block is not the claim's Filesystem"},
		{"affinity ignored without a node", func(pv *v1.PersistentVolume) {
			pv.Spec.NodeAffinity = affinity(v1.NodeSelectorTerm{MatchFields: []v1.NodeSelectorRequirement{
				{Key: "metadata.name", Operator: v1.NodeSelectorOpIn, Values: []string{"n2"}}}})
		}, nil, ""},
		{"affinity by name", func(pv *v1.PersistentVolume) {
			pv.Spec.NodeAffinity = affinity(v1.NodeSelectorTerm{MatchFields: []v1.NodeSelectorRequirement{
				{Key: "metadata.name", Operator: v1.NodeSelectorOpIn, Values: []string{"n2"}}}})
		}, node, "node affinity does not admit node n1"},
		{"affinity by label", func(pv *v1.PersistentVolume) {
			pv.Spec.NodeAffinity = affinity(v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{
				{Key: "zone", Operator: v1.NodeSelectorOpIn, Values: []string{"a", "b"}}}})
		}, node, ""},
		{"affinity with an empty term", func(pv *v1.PersistentVolume) { pv.Spec.NodeAffinity = affinity(v1.NodeSelectorTerm{}) },
			node, "node affinity does not admit node n1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claim := claimSpec("c", ptr("c"), "2Gi")
			pv := volumeSpec("v", "c", "2Gi")
			tt.change(pv)
			if got := mismatch(claim, "c", pv, tt.node); got != tt.want {
				t.Errorf("mismatch = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBestVolume(t *testing.T) {
	claim := claimSpec("c", ptr("c"), "2Gi")
	claim.Namespace, claim.UID = ns, "uid-c"
	taken := volumeSpec("a-taken", "c", "2Gi")
	taken.Spec.ClaimRef = &v1.ObjectReference{Namespace: ns, Name: "other", UID: "uid-other"}
	reserved := volumeSpec("z-reserved", "c", "8Gi")
	reserved.Spec.ClaimRef = &v1.ObjectReference{Namespace: ns, Name: "c"}
	reservedElsewhere := volumeSpec("b-reserved", "c", "2Gi")
	reservedElsewhere.Spec.ClaimRef = &v1.ObjectReference{Namespace: ns, Name: "other"}
	deleting := volumeSpec("b-deleting", "c", "2Gi")
	deleting.DeletionTimestamp = v1.Now()
	tests := []struct {
		name string
		pvs  []*v1.PersistentVolume
		want string
	}{
		{"none", nil, ""},
		{"smallest", []*v1.PersistentVolume{volumeSpec("a", "c", "5Gi"), volumeSpec("b", "c", "3Gi"), volumeSpec("c", "c", "1Gi")}, "b"},
		{"first of equals", []*v1.PersistentVolume{volumeSpec("a", "c", "3Gi"), volumeSpec("b", "c", "3Gi")}, "a"},
		{"not taken, reserved for another or deleting", []*v1.PersistentVolume{taken, reservedElsewhere, deleting, volumeSpec("c", "c", "4Gi")}, "c"},
		{"reserved for the claim first", []*v1.PersistentVolume{volumeSpec("a", "c", "2Gi"), reserved}, "z-reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := bestVolume(claim, "c", nil, tt.pvs)
			if name := nameOf(got); name != tt.want {
				t.Errorf("bestVolume = %q, want %q", name, tt.want)
			}
		})
	}
}

func nameOf(pv *v1.PersistentVolume) string {
	if pv == nil {
		return ""
	}
	return pv.Name
}

// readyNode is a Ready node with devices.
func readyNode(name string, devices ...v1.NodeStorageDevice) *v1.Node {
	return &v1.Node{ObjectMeta: v1.ObjectMeta{Name: name, Labels: map[string]string{"zone": name}},
		Status: v1.NodeStatus{Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}}, Storage: devices}}
}

func TestChoose(t *testing.T) {
	gi := int64(1 << 30)
	cordoned := readyNode("cordoned", device("data0", "100Gi", "1000"))
	cordoned.Spec.Unschedulable = true
	down := readyNode("down", device("data0", "100Gi", "1000"))
	down.Status.Conditions[0].Status = v1.ConditionUnknown
	tests := []struct {
		name     string
		nodes    []*v1.Node
		class    *v1.StorageClass
		req      volume.Request
		want     string // node/device
		rejected map[string]string
	}{{
		name:  "most free IOPS",
		nodes: []*v1.Node{readyNode("a", device("data0", "10Gi", "100")), readyNode("b", device("data0", "10Gi", "500"))},
		req:   volume.Request{Demand: volume.Demand{Storage: gi, IOPS: 50}},
		want:  "b/data0",
	}, {
		name:  "most free capacity when IOPS tie",
		nodes: []*v1.Node{readyNode("a", device("data0", "10Gi", "")), readyNode("b", device("data0", "20Gi", ""))},
		req:   volume.Request{Demand: volume.Demand{Storage: gi}},
		want:  "b/data0",
	}, {
		name:  "the class's device",
		nodes: []*v1.Node{readyNode("a", device("data0", "10Gi", ""), device("data1", "1Gi", ""))},
		req:   volume.Request{Demand: volume.Demand{Storage: gi}, Device: "data1"},
		want:  "a/data1",
	}, {
		name: "why each node is refused",
		nodes: []*v1.Node{readyNode("slow", device("data0", "10Gi", "10")), readyNode("uncounted", device("data0", "10Gi", "")),
			readyNode("full", device("data0", "1Gi", "1000")), readyNode("bare"), cordoned, down},
		req: volume.Request{Demand: volume.Demand{Storage: 2 * gi, IOPS: 100}},
		rejected: map[string]string{"slow": volume.ReasonIOPS, "uncounted": volume.ReasonIOPS, "full": volume.ReasonCapacity,
			"bare": volume.ReasonNoDevice, "cordoned": reasonUnschedulable, "down": reasonNotReady},
	}, {
		name:  "allowed topologies",
		nodes: []*v1.Node{readyNode("a", device("data0", "50Gi", "")), readyNode("b", device("data0", "10Gi", ""))},
		class: &v1.StorageClass{AllowedTopologies: []v1.TopologySelectorTerm{{MatchLabelExpressions: []v1.TopologySelectorLabelRequirement{
			{Key: "zone", Values: []string{"b"}}}}}},
		req:  volume.Request{Demand: volume.Demand{Storage: gi}},
		want: "b/data0",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			class := tt.class
			if class == nil {
				class = &v1.StorageClass{}
			}
			at, rejected := choose(volume.NewLedger(), tt.nodes, class, tt.req)
			got := ""
			if at != nil {
				got = at.String()
			}
			if got != tt.want {
				t.Errorf("choose = %q, want %q (rejected %v)", got, tt.want, rejected)
			}
			if tt.rejected != nil && !equalMaps(rejected, tt.rejected) {
				t.Errorf("rejected = %v, want %v", rejected, tt.rejected)
			}
		})
	}
}

// TestChooseCountsLedger places around what the ledger holds.
func TestChooseCountsLedger(t *testing.T) {
	gi := int64(1 << 30)
	l := volume.NewLedger()
	l.Add("held", volume.DeviceKey{Node: "a", Device: "data0"}, volume.Demand{Storage: 8 * gi})
	nodes := []*v1.Node{readyNode("a", device("data0", "10Gi", "")), readyNode("b", device("data0", "5Gi", ""))}
	at, _ := choose(l, nodes, &v1.StorageClass{}, volume.Request{Holder: "new", Demand: volume.Demand{Storage: 3 * gi}})
	if at == nil || at.String() != "b/data0" {
		t.Errorf("choose = %v, want b/data0 (a has 2Gi left)", at)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestNoFitMessage(t *testing.T) {
	head := "no node has a storage device that can hold claim ns/c: "
	tests := []struct {
		rejected map[string]string
		device   string
		want     string
	}{
		{nil, "", head + "there are no nodes"},
		{map[string]string{"a": volume.ReasonCapacity, "b": volume.ReasonCapacity, "c": volume.ReasonNoDevice}, "",
			head + "2 nodes insufficient storage capacity, 1 node has no storage device"},
		{map[string]string{"a": volume.ReasonNoDevice, "b": volume.ReasonNoDevice}, "data1",
			head + `2 nodes have no storage device "data1"`},
		{map[string]string{"a": reasonNotReady, "b": reasonUnschedulable, "c": reasonTopology, "d": volume.ReasonIOPS}, "",
			head + "1 node insufficient storage IOPS, 1 node is not ready, 1 node is outside the class's allowed topologies, 1 node is unschedulable"},
	}
	for _, tt := range tests {
		if got := noFitMessage("ns/c", tt.rejected, tt.device); got != tt.want {
			t.Errorf("noFitMessage(%v) =\n%q, want\n%q", tt.rejected, got, tt.want)
		}
	}
}

func TestPlacementChanged(t *testing.T) {
	base := readyNode("a", device("data0", "10Gi", ""))
	tests := []struct {
		name   string
		change func(*v1.Node)
		want   bool
	}{
		{"reserved only", func(n *v1.Node) { n.Status.Storage[0].Reserved = &v1.StorageReservation{Volumes: 3} }, false},
		{"heartbeat", func(n *v1.Node) { n.Status.Conditions[0].Message = "still here" }, false},
		{"not ready", func(n *v1.Node) { n.Status.Conditions[0].Status = v1.ConditionFalse }, true},
		{"cordoned", func(n *v1.Node) { n.Spec.Unschedulable = true }, true},
		{"labels", func(n *v1.Node) { n.Labels["zone"] = "b" }, true},
		{"new device", func(n *v1.Node) { n.Status.Storage = append(n.Status.Storage, device("data1", "1Gi", "")) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := v1.Clone(base)
			tt.change(n)
			if got := placementChanged(base, n); got != tt.want {
				t.Errorf("placementChanged = %v, want %v", got, tt.want)
			}
		})
	}
}

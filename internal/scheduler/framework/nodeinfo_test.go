package framework

import (
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

func container(kv ...string) v1.Container {
	rl := v1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		rl[kv[i]] = resource.MustParse(kv[i+1])
	}
	return v1.Container{Name: "c", Command: []string{"x"}, Resources: v1.ResourceRequirements{Requests: rl}}
}

func TestPodRequests(t *testing.T) {
	const gi = 1 << 30
	tests := []struct {
		name             string
		containers, init []v1.Container
		want, nonZero    Resource
	}{
		{
			name:       "containers are summed",
			containers: []v1.Container{container("cpu", "500m", "memory", "1Gi"), container("cpu", "250m", "ephemeral-storage", "1k")},
			want:       Resource{MilliCPU: 750, Memory: gi, Pods: 1, Scalars: []ScalarQuantity{{"ephemeral-storage", 1000}}},
			nonZero:    Resource{MilliCPU: 750, Memory: gi + DefaultMemoryRequest, Pods: 1, Scalars: []ScalarQuantity{{"ephemeral-storage", 1000}}},
		},
		{
			name:       "the largest init container wins where it is larger",
			containers: []v1.Container{container("cpu", "1", "memory", "1Gi"), container("cpu", "1")},
			init:       []v1.Container{container("cpu", "3"), container("memory", "512Mi", v1.ResourceNetworkBandwidth, "10M")},
			want:       Resource{MilliCPU: 3000, Memory: gi, Pods: 1, Scalars: []ScalarQuantity{{v1.ResourceNetworkBandwidth, 10_000_000}}},
			nonZero:    Resource{MilliCPU: 3000, Memory: gi + DefaultMemoryRequest, Pods: 1, Scalars: []ScalarQuantity{{v1.ResourceNetworkBandwidth, 10_000_000}}},
		},
		{
			name:       "no requests",
			containers: []v1.Container{container(), container()},
			want:       Resource{Pods: 1},
			nonZero:    Resource{MilliCPU: 2 * DefaultMilliCPURequest, Memory: 2 * DefaultMemoryRequest, Pods: 1},
		},
		{
			name:       "an explicit zero stays zero",
			containers: []v1.Container{container("cpu", "0", "memory", "0")},
			want:       Resource{Pods: 1, Memory: 0},
			nonZero:    Resource{Pods: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &v1.Pod{Spec: v1.PodSpec{Containers: tt.containers, InitContainers: tt.init}}
			if got := PodRequests(pod); !equalResource(got, tt.want) {
				t.Errorf("PodRequests = %+v, want %+v", got, tt.want)
			}
			if got := NonZeroPodRequests(pod); !equalResource(got, tt.nonZero) {
				t.Errorf("NonZeroPodRequests = %+v, want %+v", got, tt.nonZero)
			}
		})
	}
}

func equalResource(a, b Resource) bool {
	if a.MilliCPU != b.MilliCPU || a.Memory != b.Memory || a.Pods != b.Pods {
		return false
	}
	// Zero amounts count as absent.
	for _, r := range []Resource{a, b} {
		for _, s := range r.Scalars {
			if a.Get(s.Name) != b.Get(s.Name) {
				return false
			}
		}
	}
	return true
}

func namedPod(name string, kv ...string) *v1.Pod {
	return &v1.Pod{ObjectMeta: v1.ObjectMeta{Name: name, Namespace: "ns"}, Spec: v1.PodSpec{Containers: []v1.Container{container(kv...)}}}
}

func TestNodeInfoAddRemoveClone(t *testing.T) {
	node := &v1.Node{ObjectMeta: v1.ObjectMeta{Name: "n"}, Status: v1.NodeStatus{Allocatable: v1.ResourceList{
		"cpu": resource.MustParse("4"), "memory": resource.MustParse("8Gi"), "pods": resource.MustParse("10"),
		v1.ResourceNetworkBandwidth: resource.MustParse("1G"),
	}}}
	a, b := namedPod("a", "cpu", "1", v1.ResourceNetworkBandwidth, "100M"), namedPod("b", "cpu", "2")
	n := NewNodeInfo(node, a, b)
	if n.Name() != "n" || n.Allocatable.MilliCPU != 4000 || n.Allocatable.Pods != 10 || n.Allocatable.Get(v1.ResourceNetworkBandwidth) != 1e9 {
		t.Fatalf("allocatable = %+v", n.Allocatable)
	}
	if n.Requested.MilliCPU != 3000 || n.Requested.Pods != 2 || n.Requested.Get(v1.ResourceNetworkBandwidth) != 1e8 {
		t.Fatalf("requested = %+v, want 3 cpu, 2 pods, 100M bandwidth", n.Requested)
	}
	c := n.Clone()
	if !c.RemovePod(namedPod("a")) {
		t.Fatal("RemovePod(a) = false on the clone")
	}
	if c.RemovePod(namedPod("a")) {
		t.Fatal("RemovePod(a) = true twice")
	}
	c.AddPod(namedPod("c", "cpu", "500m"))
	if c.Requested.MilliCPU != 2500 || c.Requested.Pods != 2 || c.Requested.Get(v1.ResourceNetworkBandwidth) != 0 {
		t.Fatalf("clone requested = %+v, want 2.5 cpu, 2 pods, no bandwidth", c.Requested)
	}
	// The original is untouched.
	if n.Requested.MilliCPU != 3000 || len(n.Pods) != 2 || n.Pods[0].Name != "a" || n.Requested.Get(v1.ResourceNetworkBandwidth) != 1e8 {
		t.Fatalf("original changed by its clone: %+v, pods %d", n.Requested, len(n.Pods))
	}
	if NewNodeInfo(nil).Name() != "" {
		t.Fatal("a NodeInfo without node has a name")
	}
}

// More extended resources than fit in a NodeInfo spill to the heap; a
// clone changed on either side must not change the other.
func TestNodeInfoCloneWithManyExtendedResources(t *testing.T) {
	names := []string{v1.ResourceNetworkBandwidth, v1.ResourceEphemeralStorage, "example.com/gpu", "example.com/fpga"}
	alloc := v1.ResourceList{"pods": resource.MustParse("10")}
	for _, name := range names {
		alloc[name] = resource.MustParse("100")
	}
	n := NewNodeInfo(&v1.Node{ObjectMeta: v1.ObjectMeta{Name: "n"}, Status: v1.NodeStatus{Allocatable: alloc}})
	var kv []string
	for _, name := range names {
		kv = append(kv, name, "1")
	}
	for i := 0; i < 3; i++ {
		n.AddPod(namedPod(fmt.Sprint("p", i), kv...))
	}
	c := n.Clone()
	c.AddPod(namedPod("extra", kv...))
	n.RemovePod(namedPod("p0"))
	for _, name := range names {
		if got := n.Requested.Get(name); got != 2 {
			t.Errorf("original %s requested %d, want 2", name, got)
		}
		if got := c.Requested.Get(name); got != 4 {
			t.Errorf("clone %s requested %d, want 4", name, got)
		}
		if n.Allocatable.Get(name) != 100 || c.Allocatable.Get(name) != 100 {
			t.Errorf("%s allocatable %d and %d, want 100", name, n.Allocatable.Get(name), c.Allocatable.Get(name))
		}
	}
}

// What plugins read of the node through the NodeInfo is the node's.
func TestNodeInfoSummary(t *testing.T) {
	node := &v1.Node{
		ObjectMeta: v1.ObjectMeta{Name: "n1", Labels: map[string]string{
			v1.LabelHostname: "host-1", v1.LabelTopologyZone: "z1", "disk": "ssd"}},
		Spec: v1.NodeSpec{Unschedulable: true, Taints: []v1.Taint{{Key: "dedicated", Value: "db", Effect: v1.TaintEffectNoSchedule}}},
		Status: v1.NodeStatus{Conditions: []v1.NodeCondition{
			{Type: "MemoryPressure", Status: v1.ConditionTrue}, {Type: v1.NodeReady, Status: v1.ConditionTrue}}},
	}
	n := NewNodeInfo(node)
	if n.Name() != "n1" || !n.Unschedulable() || !n.Ready() || len(n.Taints()) != 1 || !n.HasLabels() {
		t.Fatalf("summary of %+v wrong: name %q unschedulable %v ready %v taints %v", node, n.Name(), n.Unschedulable(), n.Ready(), n.Taints())
	}
	for key, want := range map[string]string{v1.LabelHostname: "host-1", v1.LabelTopologyZone: "z1", "disk": "ssd"} {
		if got, ok := n.Label(key); !ok || got != want {
			t.Errorf("Label(%s) = %q, %v; want %q", key, got, ok, want)
		}
	}
	for _, key := range []string{v1.LabelTopologyRegion, "missing"} {
		if _, ok := n.Label(key); ok {
			t.Errorf("Label(%s) found on a node without it", key)
		}
	}
	// A new node object replaces the summary.
	up := *node
	up.Spec = v1.NodeSpec{}
	up.Status.Conditions = []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionFalse}}
	up.Labels = nil
	c := n.Clone()
	c.SetNode(&up)
	if c.Unschedulable() || c.Ready() || len(c.Taints()) != 0 || c.HasLabels() {
		t.Errorf("summary not replaced by SetNode")
	}
	if _, ok := c.Label(v1.LabelTopologyZone); ok {
		t.Errorf("zone label kept after SetNode")
	}
	if !n.Ready() || !n.Unschedulable() {
		t.Errorf("original changed by its clone's SetNode")
	}
	empty := NewNodeInfo(nil)
	if empty.Ready() || empty.HasLabels() || empty.Name() != "" {
		t.Errorf("a NodeInfo without a node is ready or has labels")
	}
	if _, ok := empty.Label(v1.LabelHostname); ok {
		t.Errorf("a NodeInfo without a node has a hostname")
	}
}

// A node's few extended amounts are kept inside its NodeInfo (no extra
// cache miss per node and cycle), after SetNode, AddPod and Clone alike.
func TestNodeInfoKeepsFewExtendedAmountsInline(t *testing.T) {
	node := &v1.Node{ObjectMeta: v1.ObjectMeta{Name: "n"}, Status: v1.NodeStatus{Allocatable: v1.ResourceList{
		"pods": resource.MustParse("10"), v1.ResourceNetworkBandwidth: resource.MustParse("1G")}}}
	inline := func(n *NodeInfo, what string) {
		t.Helper()
		for i, r := range []Resource{n.Allocatable, n.Requested, n.NonZeroRequested} {
			if len(r.Scalars) == 0 || &r.Scalars[0] != &n.scalars[i*inlineScalars] {
				t.Errorf("%s: resource %d's extended amounts %v are not inside the NodeInfo", what, i, r.Scalars)
			}
		}
	}
	n := NewNodeInfo(node, namedPod("a", v1.ResourceNetworkBandwidth, "10M"))
	inline(n, "new")
	c := n.Clone()
	c.AddPod(namedPod("b", v1.ResourceNetworkBandwidth, "10M"))
	inline(c, "clone")
	c.SetNode(node)
	inline(c, "after SetNode")
	if c.Requested.Get(v1.ResourceNetworkBandwidth) != 2e7 || n.Requested.Get(v1.ResourceNetworkBandwidth) != 1e7 {
		t.Errorf("requested bandwidth %d and %d, want 20M on the clone and 10M on the original",
			c.Requested.Get(v1.ResourceNetworkBandwidth), n.Requested.Get(v1.ResourceNetworkBandwidth))
	}
}

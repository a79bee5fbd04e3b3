package framework

import (
	"maps"
	"slices"
	"strings"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// What a container that requests no cpu or memory is counted as when
// nodes are scored (not when they are filtered), as in Kubernetes, so that
// pods without requests still spread.
const (
	DefaultMilliCPURequest int64 = 100
	DefaultMemoryRequest   int64 = 200 * 1024 * 1024
)

// Resource is an amount of every resource, in integers: cpu in
// millicores, memory and the rest in their base unit.
type Resource struct {
	MilliCPU int64
	Memory   int64
	// Pods is a number of pods: allowed on a node, or placed on it.
	Pods int64
	// Scalars hold every other resource (ephemeral-storage,
	// kennel.io/network-bandwidth, …), sorted by name: a short slice, so
	// that a cycle reading one resource on 500 nodes touches one block of
	// memory per node instead of a map's.
	Scalars []ScalarQuantity
}

// ScalarQuantity is the amount of one resource other than cpu, memory
// and pods.
type ScalarQuantity struct {
	Name  string
	Value int64
}

// ResourceFromList converts a resource list.
func ResourceFromList(rl v1.ResourceList) Resource {
	var r Resource
	for name, q := range rl {
		switch name {
		case v1.ResourceCPU:
			r.MilliCPU += q.MilliValue()
		case v1.ResourceMemory:
			r.Memory += q.Value()
		case v1.ResourcePods:
			r.Pods += q.Value()
		default:
			name = canonical(name)
			v, _ := r.Scalar(name)
			r.setScalar(name, v+q.Value())
		}
	}
	return r
}

// canonical returns the well-known resource names and topology label
// keys as the constants themselves, so that every node and pod shares one
// copy of the name:
// comparing names then finds equal pointers without reading the bytes,
// which matters when a cycle looks a resource up on 500 nodes.
func canonical(name string) string {
	switch name {
	case v1.ResourceNetworkBandwidth:
		return v1.ResourceNetworkBandwidth
	case v1.ResourceEphemeralStorage:
		return v1.ResourceEphemeralStorage
	case v1.ResourceStorageIOPS:
		return v1.ResourceStorageIOPS
	case v1.ResourceStorageBandwidth:
		return v1.ResourceStorageBandwidth
	case v1.ResourceStorage:
		return v1.ResourceStorage
	case v1.LabelHostname:
		return v1.LabelHostname
	case v1.LabelTopologyZone:
		return v1.LabelTopologyZone
	case v1.LabelTopologyRegion:
		return v1.LabelTopologyRegion
	}
	return name
}

// Scalar returns the amount of a resource other than cpu, memory and
// pods, and whether r has it at all (a node advertises it).
func (r *Resource) Scalar(name string) (int64, bool) {
	for _, s := range r.Scalars {
		if s.Name == name {
			return s.Value, true
		}
	}
	return 0, false
}

// ScalarNames are the names of r's other resources, sorted.
func (r *Resource) ScalarNames() []string {
	out := make([]string, len(r.Scalars))
	for i, s := range r.Scalars {
		out[i] = s.Name
	}
	return out
}

func (r *Resource) setScalar(name string, v int64) {
	i, found := slices.BinarySearchFunc(r.Scalars, name, func(s ScalarQuantity, n string) int { return strings.Compare(s.Name, n) })
	if found {
		r.Scalars[i].Value = v
		return
	}
	r.Scalars = slices.Insert(r.Scalars, i, ScalarQuantity{Name: name, Value: v})
}

// Get returns the amount of the named resource.
func (r *Resource) Get(name string) int64 {
	switch name {
	case v1.ResourceCPU:
		return r.MilliCPU
	case v1.ResourceMemory:
		return r.Memory
	case v1.ResourcePods:
		return r.Pods
	}
	v, _ := r.Scalar(name)
	return v
}

// Add adds o to r.
func (r *Resource) Add(o Resource) { r.combine(o, 1) }

// Sub subtracts o from r.
func (r *Resource) Sub(o Resource) { r.combine(o, -1) }

func (r *Resource) combine(o Resource, sign int64) {
	r.MilliCPU += sign * o.MilliCPU
	r.Memory += sign * o.Memory
	r.Pods += sign * o.Pods
	for _, s := range o.Scalars {
		v, _ := r.Scalar(s.Name)
		r.setScalar(s.Name, v+sign*s.Value)
	}
}

// setMax raises each resource of r to o's where o's is larger.
func (r *Resource) setMax(o Resource) {
	r.MilliCPU = max(r.MilliCPU, o.MilliCPU)
	r.Memory = max(r.Memory, o.Memory)
	r.Pods = max(r.Pods, o.Pods)
	for _, s := range o.Scalars {
		if v, ok := r.Scalar(s.Name); !ok || s.Value > v {
			r.setScalar(s.Name, s.Value)
		}
	}
}

// Clone returns a copy that shares nothing with r.
func (r Resource) Clone() Resource {
	r.Scalars = slices.Clone(r.Scalars)
	return r
}

// PodRequests is what the scheduler reserves for pod, as Kubernetes
// computes it: for each resource, the larger of the sum over the
// containers and the largest request of one init container (they run one
// at a time, before the containers). Pods is 1.
func PodRequests(pod *v1.Pod) Resource { return podRequests(pod, false) }

// NonZeroPodRequests is PodRequests with DefaultMilliCPURequest and
// DefaultMemoryRequest standing in for a container's missing cpu and
// memory requests. Scorers use it; filters never do.
func NonZeroPodRequests(pod *v1.Pod) Resource { return podRequests(pod, true) }

func podRequests(pod *v1.Pod, nonZero bool) Resource {
	var sum Resource
	for i := range pod.Spec.Containers {
		sum.Add(containerRequests(&pod.Spec.Containers[i], nonZero))
	}
	for i := range pod.Spec.InitContainers {
		sum.setMax(containerRequests(&pod.Spec.InitContainers[i], nonZero))
	}
	sum.Pods = 1
	return sum
}

func containerRequests(c *v1.Container, nonZero bool) Resource {
	r := ResourceFromList(c.Resources.Requests)
	if nonZero {
		// As in Kubernetes, only a missing request is replaced; an
		// explicit zero is the user's word.
		if _, ok := c.Resources.Requests[v1.ResourceCPU]; !ok {
			r.MilliCPU = DefaultMilliCPURequest
		}
		if _, ok := c.Resources.Requests[v1.ResourceMemory]; !ok {
			r.Memory = DefaultMemoryRequest
		}
	}
	return r
}

// NodeInfo is the scheduler's view of one node: the node and the pods
// that count against it (bound, and assumed while their binding is in
// flight), with their requests summed. NodeInfos handed to plugins are
// shared and must not be changed; the scheduler's cache replaces a
// NodeInfo rather than change it.
type NodeInfo struct {
	// Node is nil while pods are known to be bound to a node that is not.
	Node *v1.Node
	Pods []*v1.Pod
	// Allocatable is the node's status.allocatable.
	Allocatable Resource
	// Requested sums PodRequests of Pods; Requested.Pods is len(Pods).
	Requested Resource
	// NonZeroRequested sums NonZeroPodRequests of Pods.
	NonZeroRequested Resource
	// ByOwner counts Pods by the UID of their controller (a PetSet, a
	// ReplicaSet), so that spreading plugins count a pod's siblings on a
	// node with one lookup instead of matching every pod's labels.
	ByOwner map[string]int

	sum nodeSummary
	// scalars holds the extended amounts of Allocatable, Requested and
	// NonZeroRequested (inlineScalars each) inside the NodeInfo, so that
	// reading a node's bandwidth is no extra cache miss; more than that
	// spill to the heap (see own).
	scalars [3 * inlineScalars]ScalarQuantity
}

// inlineScalars is how many extended resources of each of a NodeInfo's
// Resources live in the NodeInfo itself.
const inlineScalars = 2

// own gives each of n's Resources extended amounts that only n holds: in
// n's own buffer when they fit, copied to the heap otherwise. A clone
// calls it while its slices are still its original's.
func (n *NodeInfo) own() {
	for i, r := range [...]*Resource{&n.Allocatable, &n.Requested, &n.NonZeroRequested} {
		buf := n.scalars[i*inlineScalars : i*inlineScalars : (i+1)*inlineScalars]
		switch {
		case len(r.Scalars) > inlineScalars:
			r.Scalars = slices.Clone(r.Scalars)
		case len(r.Scalars) > 0 && &r.Scalars[0] == &n.scalars[i*inlineScalars]:
			// already in place
		default:
			r.Scalars = append(buf, r.Scalars...)
		}
	}
}

// nodeSummary is what filters and scorers read of the node on every node
// of every cycle, copied by SetNode into the NodeInfo itself: on a large
// cluster each separate object read per node (the node, its conditions,
// its taints, its labels map) is a cache miss of its own, and those
// misses, not the plugins' arithmetic, were the scheduler's cost.
type nodeSummary struct {
	name                            string
	unschedulable, ready, hasLabels bool
	hasHostname, hasZone, hasRegion bool
	hostname, zone, region          string
	taints                          []v1.Taint
}

func summarize(node *v1.Node) nodeSummary {
	if node == nil {
		return nodeSummary{}
	}
	s := nodeSummary{name: node.Name, unschedulable: node.Spec.Unschedulable, hasLabels: len(node.Labels) > 0, taints: node.Spec.Taints}
	for _, c := range node.Status.Conditions {
		if c.Type == v1.NodeReady {
			s.ready = c.Status == v1.ConditionTrue
			break
		}
	}
	s.hostname, s.hasHostname = node.Labels[v1.LabelHostname]
	s.zone, s.hasZone = node.Labels[v1.LabelTopologyZone]
	s.region, s.hasRegion = node.Labels[v1.LabelTopologyRegion]
	return s
}

// Unschedulable reports the node's spec.unschedulable (cordoned).
func (n *NodeInfo) Unschedulable() bool { return n.sum.unschedulable }

// Ready reports whether the node's Ready condition is True; false without
// a node.
func (n *NodeInfo) Ready() bool { return n.sum.ready }

// Taints are the node's taints, shared with the node: not to be changed.
func (n *NodeInfo) Taints() []v1.Taint { return n.sum.taints }

// HasLabels reports whether the node has any label.
func (n *NodeInfo) HasLabels() bool { return n.sum.hasLabels }

// Label returns the value of the node's label key, and whether it has it;
// the hostname, zone and region labels are read without a map lookup.
func (n *NodeInfo) Label(key string) (string, bool) {
	switch key {
	case v1.LabelHostname:
		return n.sum.hostname, n.sum.hasHostname
	case v1.LabelTopologyZone:
		return n.sum.zone, n.sum.hasZone
	case v1.LabelTopologyRegion:
		return n.sum.region, n.sum.hasRegion
	}
	if !n.sum.hasLabels {
		return "", false
	}
	v, ok := n.Node.Labels[key]
	return v, ok
}

// OwnerUID is the UID of pod's controller, or "" when it has none.
func OwnerUID(pod *v1.Pod) string {
	if ref := v1.GetControllerOf(pod); ref != nil {
		return ref.UID
	}
	return ""
}

// NewNodeInfo returns the view of node with pods on it.
func NewNodeInfo(node *v1.Node, pods ...*v1.Pod) *NodeInfo {
	n := &NodeInfo{}
	n.SetNode(node)
	for _, p := range pods {
		n.AddPod(p)
	}
	return n
}

// Name is the node's name, or "" when Node is nil.
func (n *NodeInfo) Name() string { return n.sum.name }

// SetNode replaces the node, keeping the pods. The NodeInfo holds a
// shallow copy whose well-known label keys (hostname, zone, region) are
// the constants themselves (see canonical).
func (n *NodeInfo) SetNode(node *v1.Node) {
	n.Node = withCanonicalLabels(node)
	n.sum = summarize(n.Node)
	n.Allocatable = Resource{}
	if node != nil {
		n.Allocatable = ResourceFromList(node.Status.Allocatable)
	}
	n.own()
}

// AddPod counts pod against the node.
func (n *NodeInfo) AddPod(pod *v1.Pod) {
	n.Pods = append(n.Pods, pod)
	n.Requested.Add(PodRequests(pod))
	n.NonZeroRequested.Add(NonZeroPodRequests(pod))
	if uid := OwnerUID(pod); uid != "" {
		if n.ByOwner == nil {
			n.ByOwner = map[string]int{}
		}
		n.ByOwner[uid]++
	}
}

// RemovePod stops counting the pod with pod's namespace and name, and
// reports whether it was there.
func (n *NodeInfo) RemovePod(pod *v1.Pod) bool {
	for i, p := range n.Pods {
		if p.Namespace != pod.Namespace || p.Name != pod.Name {
			continue
		}
		last := len(n.Pods) - 1
		n.Pods[i] = n.Pods[last]
		n.Pods[last] = nil
		n.Pods = n.Pods[:last]
		n.Requested.Sub(PodRequests(p))
		n.NonZeroRequested.Sub(NonZeroPodRequests(p))
		if uid := OwnerUID(p); uid != "" {
			if n.ByOwner[uid]--; n.ByOwner[uid] <= 0 {
				delete(n.ByOwner, uid)
			}
		}
		return true
	}
	return false
}

// Clone returns a NodeInfo that can be changed without changing n. The
// node and pods themselves are shared: they are never changed in place.
func (n *NodeInfo) Clone() *NodeInfo {
	c := &NodeInfo{
		Node:             n.Node,
		Pods:             append([]*v1.Pod(nil), n.Pods...),
		Allocatable:      n.Allocatable,
		Requested:        n.Requested,
		NonZeroRequested: n.NonZeroRequested,
		ByOwner:          maps.Clone(n.ByOwner),
		sum:              n.sum,
	}
	c.own()
	return c
}

// withCanonicalLabels returns node, or a shallow copy of it whose labels
// use the constant strings for the topology keys every spreading and
// affinity plugin looks up on hundreds of nodes per cycle.
func withCanonicalLabels(node *v1.Node) *v1.Node {
	if node == nil || len(node.Labels) == 0 {
		return node
	}
	labels := make(map[string]string, len(node.Labels))
	for k, v := range node.Labels {
		labels[canonical(k)] = v
	}
	cp := *node
	cp.Labels = labels
	return &cp
}

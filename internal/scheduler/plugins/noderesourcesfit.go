package plugins

import (
	"context"
	"sort"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

// NodeResourcesFitName is the NodeResourcesFit plugin's name.
const NodeResourcesFitName = "NodeResourcesFit"

// The reasons NodeResourcesFit rejects a node for, in Kubernetes' words;
// InsufficientReason gives the one for any other resource.
const (
	ReasonInsufficientCPU    = "Insufficient cpu"
	ReasonInsufficientMemory = "Insufficient memory"
	ReasonTooManyPods        = "Too many pods"
)

// InsufficientReason is the reason a node lacks resource:
// "Insufficient kennel.io/network-bandwidth".
func InsufficientReason(resource string) string { return "Insufficient " + resource }

// NodeResourcesFit keeps pods on nodes whose allocatable cpu, memory and
// pod count, less what the pods already there request, cover the pod's
// requests (see framework.PodRequests). Any other resource is checked when
// the node advertises it in status.allocatable; resources a node does not
// advertise (per-device storage) are left to the plugins that own them.
type NodeResourcesFit struct{}

var (
	_ framework.PreFilterPlugin = NodeResourcesFit{}
	_ framework.FilterPlugin    = NodeResourcesFit{}
)

// Name is NodeResourcesFitName.
func (NodeResourcesFit) Name() string { return NodeResourcesFitName }

// PreFilter sums the pod's requests once for every node.
func (NodeResourcesFit) PreFilter(_ context.Context, state *framework.CycleState, pod *v1.Pod) *framework.Status {
	resourcesOf(state, pod)
	return nil
}

// Filter rejects a node for every resource it lacks.
func (NodeResourcesFit) Filter(_ context.Context, state *framework.CycleState, pod *v1.Pod, n *framework.NodeInfo) *framework.Status {
	req := resourcesOf(state, pod).requests
	free := n.Allocatable.Clone()
	free.Sub(n.Requested)
	var reasons []string
	if int64(len(n.Pods))+1 > n.Allocatable.Pods {
		reasons = append(reasons, ReasonTooManyPods)
	}
	if req.MilliCPU > 0 && req.MilliCPU > free.MilliCPU {
		reasons = append(reasons, ReasonInsufficientCPU)
	}
	if req.Memory > 0 && req.Memory > free.Memory {
		reasons = append(reasons, ReasonInsufficientMemory)
	}
	names := make([]string, 0, len(req.Scalar))
	for name := range req.Scalar {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, advertised := n.Allocatable.Scalar[name]; !advertised || req.Scalar[name] <= 0 {
			continue
		}
		if req.Scalar[name] > free.Scalar[name] {
			reasons = append(reasons, InsufficientReason(name))
		}
	}
	if len(reasons) > 0 {
		return framework.NewStatus(framework.Unschedulable, reasons...)
	}
	return nil
}

// podResources is a pod's requests, computed once per cycle.
type podResources struct {
	requests, nonZero framework.Resource
}

const resourcesKey framework.StateKey = NodeResourcesFitName + "/requests"

// resourcesOf returns the pod's requests from the cycle state, computing
// and storing them the first time.
func resourcesOf(state *framework.CycleState, pod *v1.Pod) *podResources {
	if r, ok := framework.ReadAs[*podResources](state, resourcesKey); ok {
		return r
	}
	r := &podResources{requests: framework.PodRequests(pod), nonZero: framework.NonZeroPodRequests(pod)}
	state.Write(resourcesKey, r)
	return r
}

package plugins

import (
	"context"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

// LeastAllocatedName is the LeastAllocated plugin's name.
const LeastAllocatedName = "LeastAllocated"

// LeastAllocated prefers the node with the largest share of its
// allocatable resources still free once the pod is placed, with
// Kubernetes' formula: for each resource
//
//	(allocatable - requested) * MaxNodeScore / allocatable
//
// (0 when over-committed), averaged by weight over the resources the node
// advertises (and, for an extended resource, the pod requests). cpu and
// memory count pods without requests as framework.DefaultMilliCPURequest
// and DefaultMemoryRequest.
//
// Deprecated: NodeResourcesFit scores the same way (its default
// LeastAllocated scoring strategy), under Kubernetes' name and args; use
// it instead. LeastAllocated is kept so that existing profiles build.
type LeastAllocated struct {
	// Resources weighs the resources scored; nil means
	// DefaultLeastAllocatedResources.
	Resources []ResourceWeight
}

var _ framework.ScorePlugin = LeastAllocated{}

// Name is LeastAllocatedName.
func (LeastAllocated) Name() string { return LeastAllocatedName }

// Score is the weighted share of the node left free.
func (l LeastAllocated) Score(_ context.Context, state *framework.CycleState, pod *v1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	return allocationScore(l.Resources, resourcesOf(state, pod), n, leastRequestedScore), nil
}

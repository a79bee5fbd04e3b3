package plugins

import (
	"context"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

// LeastAllocatedName is the LeastAllocated plugin's name.
const LeastAllocatedName = "LeastAllocated"

// ResourceWeight weighs one resource in LeastAllocated's score.
type ResourceWeight struct {
	Name   string
	Weight int64
}

// DefaultLeastAllocatedResources are cpu and memory, weighed equally.
func DefaultLeastAllocatedResources() []ResourceWeight {
	return []ResourceWeight{{Name: v1.ResourceCPU, Weight: 1}, {Name: v1.ResourceMemory, Weight: 1}}
}

// LeastAllocated prefers the node with the largest share of its
// allocatable resources still free once the pod is placed, which spreads
// pods, with Kubernetes' formula: for each resource
//
//	(allocatable - requested) * MaxNodeScore / allocatable
//
// (0 when over-committed), averaged by weight over the resources the node
// advertises. cpu and memory count pods without requests as
// framework.DefaultMilliCPURequest and DefaultMemoryRequest.
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
	weights := l.Resources
	if weights == nil {
		weights = DefaultLeastAllocatedResources()
	}
	pr := resourcesOf(state, pod)
	var sum, wsum int64
	for _, w := range weights {
		alloc := n.Allocatable.Get(w.Name)
		if alloc <= 0 || w.Weight <= 0 {
			continue
		}
		var requested int64
		if w.Name == v1.ResourceCPU || w.Name == v1.ResourceMemory {
			requested = n.NonZeroRequested.Get(w.Name) + pr.nonZero.Get(w.Name)
		} else {
			requested = n.Requested.Get(w.Name) + pr.requests.Get(w.Name)
		}
		sum += leastRequested(requested, alloc) * w.Weight
		wsum += w.Weight
	}
	if wsum == 0 {
		return framework.MinNodeScore, nil
	}
	return sum / wsum, nil
}

func leastRequested(requested, allocatable int64) int64 {
	if requested > allocatable {
		return framework.MinNodeScore
	}
	return (allocatable - requested) * framework.MaxNodeScore / allocatable
}

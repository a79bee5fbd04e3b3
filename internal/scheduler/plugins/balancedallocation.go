package plugins

import (
	"context"
	"encoding/json"
	"math"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

// BalancedAllocationName is the BalancedAllocation plugin's name, as in
// Kubernetes.
const BalancedAllocationName = "NodeResourcesBalancedAllocation"

// BalancedAllocationArgs are BalancedAllocation's arguments, Kubernetes'
// NodeResourcesBalancedAllocationArgs.
type BalancedAllocationArgs struct {
	// Resources are the resources whose use is balanced; none means cpu
	// and memory. Their weight must be 1 (omitted or 0 means 1), as in
	// Kubernetes: the formula does not weigh.
	Resources []ResourceWeight `json:"resources,omitempty"`
}

// BalancedAllocation prefers the node whose resources would be used most
// evenly once the pod is placed, so that no node runs out of one
// resource while plenty of another is stranded. With Kubernetes' formula,
// for each resource the node advertises (an extended one only when the
// pod requests it) the fraction requested, capped at 1, is
//
//	(requested by the node's pods + by this pod) / allocatable
//
// and the score is (1 - the fractions' standard deviation) × 100; for
// the two resources of the default, cpu and memory, that is
// (1 - |cpu - memory| / 2) × 100. Unlike NodeResourcesFit it counts the
// requests as they are, missing ones as zero. A pod that requests none
// of the resources scores 0 everywhere (Kubernetes skips it), so that
// pods without requests do not all pile onto the node that happens to be
// balanced. The zero value scores cpu and memory.
type BalancedAllocation struct {
	resources []ResourceWeight
}

var _ framework.ScorePlugin = BalancedAllocation{}

// NewBalancedAllocation returns the plugin configured by args, JSON
// BalancedAllocationArgs decoded strictly; empty args give the zero
// value.
func NewBalancedAllocation(args json.RawMessage) (*BalancedAllocation, error) {
	var a BalancedAllocationArgs
	if err := DecodeArgs(BalancedAllocationName, "NodeResourcesBalancedAllocationArgs", args, &a); err != nil {
		return nil, err
	}
	res, err := resourceWeights(a.Resources, 1)
	if err != nil {
		return nil, argsError(BalancedAllocationName, "resources%w", err)
	}
	return &BalancedAllocation{resources: res}, nil
}

// Name is BalancedAllocationName.
func (BalancedAllocation) Name() string { return BalancedAllocationName }

// Score is 100 for a node whose resources would all be used to the same
// fraction, less the more they differ.
func (b BalancedAllocation) Score(_ context.Context, state *framework.CycleState, pod *v1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	resources := b.resources
	if resources == nil {
		resources = DefaultLeastAllocatedResources()
	}
	pr := resourcesOf(state, pod)
	bestEffort := true
	fractions := make([]float64, 0, len(resources))
	for _, r := range resources {
		if pr.requests.Get(r.Name) != 0 {
			bestEffort = false
		}
		requested, alloc, ok := requestedOf(r.Name, pr, n, false)
		if !ok {
			continue
		}
		fractions = append(fractions, min(float64(requested)/float64(alloc), 1))
	}
	if bestEffort {
		return framework.MinNodeScore, nil
	}
	return int64((1 - stdDev(fractions)) * float64(framework.MaxNodeScore)), nil
}

// stdDev is the population standard deviation of xs; 0 for fewer than
// two. For two it is computed as Kubernetes does, |a - b| / 2, which
// rounds the same way.
func stdDev(xs []float64) float64 {
	switch len(xs) {
	case 0, 1:
		return 0
	case 2:
		return math.Abs(xs[0]-xs[1]) / 2
	}
	var mean float64
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	var sum float64
	for _, x := range xs {
		sum += (x - mean) * (x - mean)
	}
	return math.Sqrt(sum / float64(len(xs)))
}

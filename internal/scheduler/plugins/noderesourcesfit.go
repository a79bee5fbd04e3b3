package plugins

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

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

// ScoringStrategyType names how NodeResourcesFit scores a node.
type ScoringStrategyType string

// The scoring strategies, by Kubernetes' names.
const (
	// StrategyLeastAllocated prefers the node with the largest share of
	// its allocatable resources still free once the pod is placed, which
	// spreads pods: per resource (allocatable - requested) × 100 /
	// allocatable, 0 when over-committed.
	StrategyLeastAllocated ScoringStrategyType = "LeastAllocated"
	// StrategyMostAllocated prefers the fullest node, which packs pods
	// and leaves whole nodes free: per resource requested × 100 /
	// allocatable, 100 when over-committed.
	StrategyMostAllocated ScoringStrategyType = "MostAllocated"
)

// ResourceWeight weighs one resource in a score (Kubernetes'
// ResourceSpec).
type ResourceWeight struct {
	Name   string `json:"name"`
	Weight int64  `json:"weight,omitempty"`
}

// DefaultLeastAllocatedResources are cpu and memory, weighed equally:
// what every resource-scoring plugin scores unless told otherwise.
func DefaultLeastAllocatedResources() []ResourceWeight {
	return []ResourceWeight{{Name: v1.ResourceCPU, Weight: 1}, {Name: v1.ResourceMemory, Weight: 1}}
}

// ScoringStrategy is NodeResourcesFitArgs.scoringStrategy.
type ScoringStrategy struct {
	// Type is LeastAllocated (also when empty) or MostAllocated;
	// Kubernetes' RequestedToCapacityRatio is not supported.
	Type ScoringStrategyType `json:"type,omitempty"`
	// Resources are scored with their weights (1 to 100, omitted or 0
	// meaning 1); none means DefaultLeastAllocatedResources.
	Resources []ResourceWeight `json:"resources,omitempty"`
}

// NodeResourcesFitArgs are NodeResourcesFit's arguments, Kubernetes'
// NodeResourcesFitArgs.
type NodeResourcesFitArgs struct {
	// IgnoredResources are extended resources the filter does not check
	// (another component accounts for them); cpu, memory, pods and
	// ephemeral-storage cannot be ignored.
	IgnoredResources []string `json:"ignoredResources,omitempty"`
	// IgnoredResourceGroups ignore every extended resource of a group,
	// the part of its name before "/": "example.com" ignores
	// "example.com/foo".
	IgnoredResourceGroups []string `json:"ignoredResourceGroups,omitempty"`
	// ScoringStrategy says how feasible nodes are ranked; nil means
	// LeastAllocated over cpu and memory.
	ScoringStrategy *ScoringStrategy `json:"scoringStrategy,omitempty"`
}

// NodeResourcesFit keeps pods on nodes whose allocatable cpu, memory and
// pod count, less what the pods already there request, cover the pod's
// requests (see framework.PodRequests). Every other resource the pod
// requests is checked the same way, as Kubernetes checks extended
// resources: a node that does not advertise one has none of it
// (kennel.io/network-bandwidth, kennel.io/storage-iops asked of the node
// …). Two exceptions: resources the args ignore, and ephemeral-storage,
// which Kennel's agent does not advertise yet and so is checked only on
// nodes that do.
//
// It scores the nodes left by its scoring strategy, LeastAllocated over
// cpu and memory unless NewNodeResourcesFit was told otherwise, which is
// also what the zero value does. Scores count a missing cpu or memory
// request as framework.DefaultMilliCPURequest and DefaultMemoryRequest,
// leave out resources a node does not advertise, and leave out an
// extended resource the pod does not request (as Kubernetes does), so
// that a pod without GPUs is not steered off GPU nodes by their idle GPUs.
type NodeResourcesFit struct {
	ignored       map[string]bool
	ignoredGroups map[string]bool
	strategy      ScoringStrategyType
	resources     []ResourceWeight
}

var (
	_ framework.PreFilterPlugin = NodeResourcesFit{}
	_ framework.FilterPlugin    = NodeResourcesFit{}
	_ framework.ScorePlugin     = NodeResourcesFit{}
)

// NewNodeResourcesFit returns the plugin configured by args, JSON
// NodeResourcesFitArgs decoded strictly (an unknown field is an error);
// empty args give the zero value's behaviour.
func NewNodeResourcesFit(args json.RawMessage) (*NodeResourcesFit, error) {
	var a NodeResourcesFitArgs
	if err := DecodeArgs(NodeResourcesFitName, "NodeResourcesFitArgs", args, &a); err != nil {
		return nil, err
	}
	pl := &NodeResourcesFit{strategy: StrategyLeastAllocated}
	for i, name := range a.IgnoredResources {
		if err := validateIgnoredResource(name); err != nil {
			return nil, argsError(NodeResourcesFitName, "ignoredResources[%d]: %w", i, err)
		}
		pl.ignored = setAdd(pl.ignored, name)
	}
	for i, group := range a.IgnoredResourceGroups {
		if err := validateIgnoredGroup(group); err != nil {
			return nil, argsError(NodeResourcesFitName, "ignoredResourceGroups[%d]: %w", i, err)
		}
		pl.ignoredGroups = setAdd(pl.ignoredGroups, group)
	}
	if s := a.ScoringStrategy; s != nil {
		switch s.Type {
		case "", StrategyLeastAllocated:
		case StrategyMostAllocated:
			pl.strategy = s.Type
		default:
			return nil, argsError(NodeResourcesFitName, "scoringStrategy.type: unsupported value %q, want %s or %s",
				s.Type, StrategyLeastAllocated, StrategyMostAllocated)
		}
		res, err := resourceWeights(s.Resources, 100)
		if err != nil {
			return nil, argsError(NodeResourcesFitName, "scoringStrategy.resources%w", err)
		}
		pl.resources = res
	}
	return pl, nil
}

// Name is NodeResourcesFitName.
func (NodeResourcesFit) Name() string { return NodeResourcesFitName }

// PreFilter sums the pod's requests once for every node.
func (NodeResourcesFit) PreFilter(_ context.Context, state *framework.CycleState, pod *v1.Pod) *framework.Status {
	resourcesOf(state, pod)
	return nil
}

// Filter rejects a node for every resource it lacks.
func (f NodeResourcesFit) Filter(_ context.Context, state *framework.CycleState, pod *v1.Pod, n *framework.NodeInfo) *framework.Status {
	pr := resourcesOf(state, pod)
	req := pr.requests
	var reasons []string
	if int64(len(n.Pods))+1 > n.Allocatable.Pods {
		reasons = append(reasons, ReasonTooManyPods)
	}
	if req.MilliCPU > 0 && req.MilliCPU > n.Allocatable.MilliCPU-n.Requested.MilliCPU {
		reasons = append(reasons, ReasonInsufficientCPU)
	}
	if req.Memory > 0 && req.Memory > n.Allocatable.Memory-n.Requested.Memory {
		reasons = append(reasons, ReasonInsufficientMemory)
	}
	// The pod's extended resources, in name order (sorted once per cycle).
	for _, want := range req.Scalars {
		name := want.Name
		if want.Value <= 0 || f.ignores(name) {
			continue
		}
		alloc, advertised := n.Allocatable.Scalar(name)
		if !advertised && name == v1.ResourceEphemeralStorage {
			continue
		}
		if used, _ := n.Requested.Scalar(name); want.Value > alloc-used {
			reasons = append(reasons, InsufficientReason(name))
		}
	}
	if len(reasons) > 0 {
		return framework.NewStatus(framework.Unschedulable, reasons...)
	}
	return nil
}

// ignores reports whether the args exempt an extended resource from the
// filter.
func (f NodeResourcesFit) ignores(name string) bool {
	if f.ignored[name] {
		return true
	}
	group, _, found := strings.Cut(name, "/")
	return found && f.ignoredGroups[group]
}

// Score ranks the node by the scoring strategy, from 0 to 100.
func (f NodeResourcesFit) Score(_ context.Context, state *framework.CycleState, pod *v1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	score := leastRequestedScore
	if f.strategy == StrategyMostAllocated {
		score = mostRequestedScore
	}
	return allocationScore(f.resources, resourcesOf(state, pod), n, score), nil
}

// allocationScore is Kubernetes' resource allocation score: score of
// each weighted resource's requested amount (the node's pods' and this
// pod's) against the node's allocatable, averaged by weight over the
// resources the node advertises and, for an extended resource, the pod
// requests. cpu and memory count the non-zero requests. nil weights mean
// DefaultLeastAllocatedResources; a node with nothing to score scores 0.
func allocationScore(weights []ResourceWeight, pr *podResources, n *framework.NodeInfo, score func(requested, allocatable int64) int64) int64 {
	if weights == nil {
		weights = DefaultLeastAllocatedResources()
	}
	var sum, wsum int64
	for _, w := range weights {
		requested, alloc, ok := requestedOf(w.Name, pr, n, true)
		if !ok || w.Weight <= 0 {
			continue
		}
		sum += score(requested, alloc) * w.Weight
		wsum += w.Weight
	}
	if wsum == 0 {
		return framework.MinNodeScore
	}
	return sum / wsum
}

// requestedOf is what the node's pods and the pod request of resource
// once the pod is placed, and the node's allocatable of it; ok is false
// when the resource is not to be scored on the node: the node does not
// advertise it, or it is an extended resource the pod does not request.
// nonZero counts missing cpu and memory requests as the defaults.
func requestedOf(resource string, pr *podResources, n *framework.NodeInfo, nonZero bool) (requested, alloc int64, ok bool) {
	alloc = n.Allocatable.Get(resource)
	if alloc <= 0 {
		return 0, 0, false
	}
	switch resource {
	case v1.ResourceCPU, v1.ResourceMemory:
		if nonZero {
			return n.NonZeroRequested.Get(resource) + pr.nonZero.Get(resource), alloc, true
		}
	case v1.ResourcePods, v1.ResourceEphemeralStorage:
	default:
		if pr.requests.Get(resource) == 0 {
			return 0, 0, false
		}
	}
	return n.Requested.Get(resource) + pr.requests.Get(resource), alloc, true
}

func leastRequestedScore(requested, allocatable int64) int64 {
	if requested > allocatable {
		return framework.MinNodeScore
	}
	return (allocatable - requested) * framework.MaxNodeScore / allocatable
}

func mostRequestedScore(requested, allocatable int64) int64 {
	return min(requested, allocatable) * framework.MaxNodeScore / allocatable
}

// podResources is a pod's requests, computed once per cycle.
type podResources struct {
	requests, nonZero framework.Resource
}

const resourcesKey framework.StateKey = NodeResourcesFitName + "/requests"

// resourcesOf returns the pod's requests from the cycle state, computing
// and storing them the first time.
func resourcesOf(state *framework.CycleState, pod *v1.Pod) *podResources {
	if state != nil {
		if r, ok := framework.ReadAs[*podResources](state, resourcesKey); ok {
			return r
		}
	}
	r := &podResources{requests: framework.PodRequests(pod), nonZero: framework.NonZeroPodRequests(pod)}
	if state != nil {
		state.Write(resourcesKey, r)
	}
	return r
}

func setAdd(s map[string]bool, k string) map[string]bool {
	if s == nil {
		s = map[string]bool{}
	}
	s[k] = true
	return s
}

// validateIgnoredResource checks one of ignoredResources.
func validateIgnoredResource(name string) error {
	switch name {
	case v1.ResourceCPU, v1.ResourceMemory, v1.ResourcePods, v1.ResourceEphemeralStorage:
		return fmt.Errorf("%q cannot be ignored, only extended resources can", name)
	}
	if msgs := validation.IsQualifiedName(name); len(msgs) > 0 {
		return fmt.Errorf("invalid resource name %q: %s", name, strings.Join(msgs, "; "))
	}
	return nil
}

// validateIgnoredGroup checks one of ignoredResourceGroups.
func validateIgnoredGroup(group string) error {
	if strings.Contains(group, "/") {
		return fmt.Errorf("invalid resource group %q: must not contain '/'", group)
	}
	if msgs := validation.IsQualifiedName(group); len(msgs) > 0 {
		return fmt.Errorf("invalid resource group %q: %s", group, strings.Join(msgs, "; "))
	}
	return nil
}

// resourceWeights validates a list of weighted resources: each named
// once, a weight of 0 (omitted) meaning 1, and at most maxWeight. An
// empty list gives DefaultLeastAllocatedResources. Errors start with the
// element's index ("[1].weight: …") for the caller to prefix the field.
func resourceWeights(in []ResourceWeight, maxWeight int64) ([]ResourceWeight, error) {
	if len(in) == 0 {
		return DefaultLeastAllocatedResources(), nil
	}
	out := make([]ResourceWeight, len(in))
	seen := map[string]bool{}
	for i, r := range in {
		switch {
		case r.Name == "":
			return nil, fmt.Errorf("[%d].name: must not be empty", i)
		case seen[r.Name]:
			return nil, fmt.Errorf("[%d].name: duplicate resource %q", i, r.Name)
		case r.Weight < 0 || r.Weight > maxWeight:
			if maxWeight == 1 {
				return nil, fmt.Errorf("[%d].weight: must be 1", i)
			}
			return nil, fmt.Errorf("[%d].weight: must be between 1 and %d", i, maxWeight)
		}
		seen[r.Name] = true
		out[i] = ResourceWeight{Name: r.Name, Weight: max(r.Weight, 1)}
	}
	return out, nil
}

// DecodeArgs decodes a plugin's JSON args into out strictly: an
// unknown field, a value of the wrong type or trailing data is an error.
// Empty or null args leave out as it is. apiVersion and kind, which a
// Kubernetes scheduler configuration may carry in args, are allowed; a
// kind must be the plugin's args kind.
func DecodeArgs(plugin, kind string, raw json.RawMessage, out any) error {
	trimmed := strings.TrimSpace(string(raw))
	if trimmed == "" || trimmed == "null" {
		return nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(trimmed), &fields); err != nil {
		return argsError(plugin, "%w", err)
	}
	if k, ok := fields["kind"]; ok {
		var got string
		if err := json.Unmarshal(k, &got); err != nil || got != kind {
			return argsError(plugin, "kind: must be %q, got %s", kind, k)
		}
	}
	delete(fields, "kind")
	delete(fields, "apiVersion")
	body, err := json.Marshal(fields)
	if err != nil {
		return argsError(plugin, "%w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return argsError(plugin, "%w", err)
	}
	return nil
}

// argsError is an error in plugin's args: "scheduler: NodeResourcesFit
// args: scoringStrategy.type: …".
func argsError(plugin, format string, a ...any) error {
	return fmt.Errorf("scheduler: %s args: "+format, append([]any{plugin}, a...)...)
}

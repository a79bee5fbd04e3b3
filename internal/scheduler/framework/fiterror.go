package framework

import (
	"fmt"
	"sort"
	"strings"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// NoNodesMessage is the FitError message when the cluster has no node.
const NoNodesMessage = "no nodes available to schedule pods"

// Diagnosis maps each rejected node's name to the status that rejected it.
type Diagnosis map[string]*Status

// FitError says that no node fits a pod, and why, node by node.
type FitError struct {
	Pod         *v1.Pod
	NumAllNodes int
	Diagnosis   Diagnosis
}

// fitErrorForAll rejects every node with s (a PreFilter's verdict).
func fitErrorForAll(pod *v1.Pod, nodes []*NodeInfo, s *Status) *FitError {
	d := make(Diagnosis, len(nodes))
	for _, n := range nodes {
		d[n.Name()] = s
	}
	return &FitError{Pod: pod, NumAllNodes: len(nodes), Diagnosis: d}
}

// ReasonCount is how many nodes were rejected for one reason.
type ReasonCount struct {
	Reason string
	Count  int
}

// Histogram counts the nodes under each reason, a node once under each of
// its reasons, most frequent first and then by reason.
func (f *FitError) Histogram() []ReasonCount {
	counts := map[string]int{}
	for _, s := range f.Diagnosis {
		seen := map[string]bool{}
		for _, r := range s.Reasons() {
			if !seen[r] {
				seen[r] = true
				counts[r]++
			}
		}
	}
	out := make([]ReasonCount, 0, len(counts))
	for r, c := range counts {
		out = append(out, ReasonCount{Reason: r, Count: c})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Reason < out[j].Reason
	})
	return out
}

// Error is the message users see in the pod's PodScheduled condition and
// FailedScheduling event, in Kubernetes' words:
// "0/3 nodes are available: 2 Insufficient memory, 1 node is not ready."
func (f *FitError) Error() string {
	if f.NumAllNodes == 0 {
		return NoNodesMessage
	}
	h := f.Histogram()
	parts := make([]string, len(h))
	for i, rc := range h {
		parts[i] = fmt.Sprintf("%d %s", rc.Count, rc.Reason)
	}
	return fmt.Sprintf("0/%d nodes are available: %s.", f.NumAllNodes, strings.Join(parts, ", "))
}

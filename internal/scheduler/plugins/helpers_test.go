package plugins

import (
	"context"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

// resources parses "cpu=2,memory=1Gi"-style pairs given as alternating
// names and quantities.
func resources(kv ...string) v1.ResourceList {
	rl := v1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		rl[kv[i]] = resource.MustParse(kv[i+1])
	}
	return rl
}

func readyNode(name string) *v1.Node {
	return &v1.Node{
		ObjectMeta: v1.ObjectMeta{Name: name},
		Status: v1.NodeStatus{
			Allocatable: resources("cpu", "4", "memory", "8Gi", "pods", "110"),
			Conditions:  []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}},
		},
	}
}

func podWith(requests ...string) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: v1.ObjectMeta{Name: "p", Namespace: "default", UID: "uid-p"},
		Spec: v1.PodSpec{Containers: []v1.Container{{
			Name: "c", Command: []string{"sleep"},
			Resources: v1.ResourceRequirements{Requests: resources(requests...)},
		}}},
	}
}

// runFilter runs one filter the way the Profile does, PreFilter first.
func runFilter(t *testing.T, f framework.FilterPlugin, pod *v1.Pod, n *framework.NodeInfo) *framework.Status {
	t.Helper()
	state := framework.NewCycleState()
	if pf, ok := f.(framework.PreFilterPlugin); ok {
		if s := pf.PreFilter(context.Background(), state, pod); !s.IsSuccess() {
			t.Fatalf("PreFilter: %v", s.Message())
		}
	}
	return f.Filter(context.Background(), state, pod, n)
}

// checkStatus compares a filter's verdict with the reasons wanted (none:
// the node fits).
func checkStatus(t *testing.T, got *framework.Status, want []string) {
	t.Helper()
	if len(want) == 0 {
		if !got.IsSuccess() {
			t.Fatalf("got %s %q, want the node to fit", got.Code(), got.Reasons())
		}
		return
	}
	if got.Code() != framework.Unschedulable || !slices.Equal(got.Reasons(), want) {
		t.Fatalf("got %s %q, want Unschedulable %q", got.Code(), got.Reasons(), want)
	}
}

// benchSnapshots runs run over the three ways the scheduler's snapshot
// changes between cycles: not at all, one node replaced per cycle (what
// a binding does), and every node new (cold). copies are NodeInfos equal
// to nodes but distinct objects.
func benchSnapshots(b *testing.B, nodes, copies []*framework.NodeInfo, run func(*testing.B, func(int) []*framework.NodeInfo)) {
	b.Run("unchanged", func(b *testing.B) {
		run(b, func(int) []*framework.NodeInfo { return nodes })
	})
	b.Run("one node changed", func(b *testing.B) {
		run(b, func(i int) []*framework.NodeInfo {
			k := i * 7919 % len(nodes)
			nodes[k], copies[k] = copies[k], nodes[k]
			return nodes
		})
	})
	b.Run("cold", func(b *testing.B) {
		run(b, func(i int) []*framework.NodeInfo {
			if i%2 == 1 {
				return copies
			}
			return nodes
		})
	})
}

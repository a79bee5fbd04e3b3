package plugins

import (
	"context"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

// NodeUnschedulableName is the NodeUnschedulable plugin's name.
const NodeUnschedulableName = "NodeUnschedulable"

// ReasonNodeUnschedulable rejects a cordoned node.
const ReasonNodeUnschedulable = "node is unschedulable"

// NodeUnschedulable keeps pods off cordoned nodes (spec.unschedulable),
// unless the pod tolerates the node.kubernetes.io/unschedulable:NoSchedule
// taint, as in Kubernetes.
type NodeUnschedulable struct{}

var _ framework.FilterPlugin = NodeUnschedulable{}

// Name is NodeUnschedulableName.
func (NodeUnschedulable) Name() string { return NodeUnschedulableName }

// Filter rejects cordoned nodes.
func (NodeUnschedulable) Filter(_ context.Context, _ *framework.CycleState, pod *v1.Pod, n *framework.NodeInfo) *framework.Status {
	if !n.Unschedulable() {
		return nil
	}
	cordon := v1.Taint{Key: v1.TaintNodeUnschedulable, Effect: v1.TaintEffectNoSchedule}
	if v1.ToleratesTaint(pod.Spec.Tolerations, &cordon) {
		return nil
	}
	return framework.NewStatus(framework.Unschedulable, ReasonNodeUnschedulable)
}

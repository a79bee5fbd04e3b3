package plugins

import (
	"context"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

// NodeReadyName is the NodeReady plugin's name.
const NodeReadyName = "NodeReady"

// ReasonNodeNotReady rejects a node whose Ready condition is not True.
const ReasonNodeNotReady = "node is not ready"

// NodeReady keeps pods off nodes whose agent does not report Ready, unless
// the pod tolerates the node.kubernetes.io/not-ready:NoSchedule taint that
// Kubernetes would put on such a node.
type NodeReady struct{}

var _ framework.FilterPlugin = NodeReady{}

// Name is NodeReadyName.
func (NodeReady) Name() string { return NodeReadyName }

// Filter rejects nodes that are not Ready.
func (NodeReady) Filter(_ context.Context, _ *framework.CycleState, pod *v1.Pod, n *framework.NodeInfo) *framework.Status {
	if n.Ready() {
		return nil
	}
	notReady := v1.Taint{Key: v1.TaintNodeNotReady, Effect: v1.TaintEffectNoSchedule}
	if v1.ToleratesTaint(pod.Spec.Tolerations, &notReady) {
		return nil
	}
	return framework.NewStatus(framework.Unschedulable, ReasonNodeNotReady)
}

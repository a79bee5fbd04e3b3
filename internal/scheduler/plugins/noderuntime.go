package plugins

import (
	"context"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

// NodeRuntimeName is the NodeRuntime plugin's name.
const NodeRuntimeName = "NodeRuntime"

// ReasonRuntimeCannotRunImages rejects a node without an image runtime
// for a pod that sets an image.
const ReasonRuntimeCannotRunImages = "node's runtime cannot run images"

// NodeRuntime keeps pods whose containers or init containers set an image
// on nodes labelled kennel.io/runtime-images=true: the default process
// runtime runs executables, not images.
type NodeRuntime struct{}

var _ framework.FilterPlugin = NodeRuntime{}

// Name is NodeRuntimeName.
func (NodeRuntime) Name() string { return NodeRuntimeName }

// Filter rejects nodes that cannot run the pod's images.
func (NodeRuntime) Filter(_ context.Context, _ *framework.CycleState, pod *v1.Pod, n *framework.NodeInfo) *framework.Status {
	if !usesImages(pod) || (n.Node != nil && n.Node.Labels[v1.LabelRuntimeImages] == "true") {
		return nil
	}
	return framework.NewStatus(framework.Unschedulable, ReasonRuntimeCannotRunImages)
}

func usesImages(pod *v1.Pod) bool {
	for _, cs := range [][]v1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			if cs[i].Image != "" {
				return true
			}
		}
	}
	return false
}

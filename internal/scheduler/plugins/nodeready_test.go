package plugins

import (
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

func TestNodeReady(t *testing.T) {
	withReady := func(s v1.ConditionStatus) *v1.Node {
		n := readyNode("n")
		n.Status.Conditions = []v1.NodeCondition{{Type: v1.NodeMemoryPressure, Status: v1.ConditionFalse}, {Type: v1.NodeReady, Status: s}}
		return n
	}
	noConditions := readyNode("n")
	noConditions.Status.Conditions = nil
	tolerateAll := []v1.Toleration{{Operator: v1.TolerationOpExists}}
	tolerateNotReady := []v1.Toleration{{Key: v1.TaintNodeNotReady, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoSchedule}}
	tolerateNoExecute := []v1.Toleration{{Key: v1.TaintNodeNotReady, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute}}
	tests := []struct {
		name string
		node *v1.Node
		tols []v1.Toleration
		want []string
	}{
		{"ready", withReady(v1.ConditionTrue), nil, nil},
		{"not ready", withReady(v1.ConditionFalse), nil, []string{ReasonNodeNotReady}},
		{"unknown", withReady(v1.ConditionUnknown), nil, []string{ReasonNodeNotReady}},
		{"no condition yet", noConditions, nil, []string{ReasonNodeNotReady}},
		{"tolerates everything", withReady(v1.ConditionFalse), tolerateAll, nil},
		{"tolerates not-ready NoSchedule", withReady(v1.ConditionFalse), tolerateNotReady, nil},
		{"NoExecute toleration is not enough", withReady(v1.ConditionFalse), tolerateNoExecute, []string{ReasonNodeNotReady}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := podWith()
			pod.Spec.Tolerations = tt.tols
			checkStatus(t, runFilter(t, NodeReady{}, pod, framework.NewNodeInfo(tt.node)), tt.want)
		})
	}
}

package plugins

import (
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

func TestNodeUnschedulable(t *testing.T) {
	cordoned := readyNode("n")
	cordoned.Spec.Unschedulable = true
	tests := []struct {
		name string
		node *v1.Node
		tols []v1.Toleration
		want []string
	}{
		{"schedulable", readyNode("n"), nil, nil},
		{"cordoned", cordoned, nil, []string{ReasonNodeUnschedulable}},
		{"cordoned, tolerated by key", cordoned,
			[]v1.Toleration{{Key: v1.TaintNodeUnschedulable, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoSchedule}}, nil},
		{"cordoned, tolerated by wildcard", cordoned, []v1.Toleration{{Operator: v1.TolerationOpExists}}, nil},
		{"cordoned, other toleration", cordoned,
			[]v1.Toleration{{Key: "dedicated", Operator: v1.TolerationOpExists}}, []string{ReasonNodeUnschedulable}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := podWith()
			pod.Spec.Tolerations = tt.tols
			checkStatus(t, runFilter(t, NodeUnschedulable{}, pod, framework.NewNodeInfo(tt.node)), tt.want)
		})
	}
}

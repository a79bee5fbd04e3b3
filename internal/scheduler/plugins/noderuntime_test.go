package plugins

import (
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

func TestNodeRuntime(t *testing.T) {
	labelled := func(v string) *v1.Node {
		n := readyNode("n")
		n.Labels = map[string]string{v1.LabelRuntimeImages: v}
		return n
	}
	withImage := func(init bool) *v1.Pod {
		p := podWith()
		c := v1.Container{Name: "i", Image: "redis:7"}
		if init {
			p.Spec.InitContainers = []v1.Container{c}
		} else {
			p.Spec.Containers = append(p.Spec.Containers, c)
		}
		return p
	}
	cannot := []string{ReasonRuntimeCannotRunImages}
	tests := []struct {
		name string
		pod  *v1.Pod
		node *v1.Node
		want []string
	}{
		{"process pod, process node", podWith(), readyNode("n"), nil},
		{"process pod, image node", podWith(), labelled("true"), nil},
		{"image pod, unlabelled node", withImage(false), readyNode("n"), cannot},
		{"image pod, node labelled false", withImage(false), labelled("false"), cannot},
		{"image pod, image node", withImage(false), labelled("true"), nil},
		{"init container image, process node", withImage(true), labelled("false"), cannot},
		{"init container image, image node", withImage(true), labelled("true"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkStatus(t, runFilter(t, NodeRuntime{}, tt.pod, framework.NewNodeInfo(tt.node)), tt.want)
		})
	}
}

package scheduler

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

// BenchmarkSchedule measures one decision of the default profile for a
// pod over 1,000 nodes that each run 10 pods; no API server is involved.
//
//	go test -run '^$' -bench BenchmarkSchedule -benchmem ./internal/scheduler/
func BenchmarkSchedule(b *testing.B) {
	profile, err := DefaultProfile(Handle{Volumes: noVolumes{}, Claims: noVolumes{}})
	if err != nil {
		b.Fatal(err)
	}
	req := func(cpu, mem string) v1.ResourceRequirements {
		return v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu), v1.ResourceMemory: resource.MustParse(mem)}}
	}
	nodes := make([]*framework.NodeInfo, 1000)
	for i := range nodes {
		n := &v1.Node{
			ObjectMeta: v1.ObjectMeta{Name: fmt.Sprintf("node-%04d", i), Labels: map[string]string{"zone": fmt.Sprint("z", i%3)}},
			Spec:       v1.NodeSpec{Taints: []v1.Taint{{Key: "spot", Effect: v1.TaintEffectPreferNoSchedule}}},
			Status: v1.NodeStatus{
				Allocatable: v1.ResourceList{v1.ResourceCPU: resource.MustParse("32"), v1.ResourceMemory: resource.MustParse("128Gi"), v1.ResourcePods: resource.MustParse("110")},
				Conditions:  []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}},
			},
		}
		var pods []*v1.Pod
		for j := range 10 {
			pods = append(pods, &v1.Pod{
				ObjectMeta: v1.ObjectMeta{Name: fmt.Sprintf("p-%d-%d", i, j), Namespace: "default"},
				Spec:       v1.PodSpec{NodeName: n.Name, Containers: []v1.Container{{Name: "c", Resources: req(fmt.Sprintf("%dm", 100*(1+(i+j)%20)), "1Gi")}}},
			})
		}
		nodes[i] = framework.NewNodeInfo(n, pods...)
	}
	pod := &v1.Pod{
		ObjectMeta: v1.ObjectMeta{Name: "new", Namespace: "default"},
		Spec: v1.PodSpec{
			NodeSelector: map[string]string{"zone": "z1"},
			Containers:   []v1.Container{{Name: "c", Resources: req("2", "4Gi")}},
		},
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := profile.Schedule(ctx, pod, nodes); err != nil {
			b.Fatal(err)
		}
	}
}

// noVolumes is a cluster without claims, volumes or classes: the
// benchmark's pod has no claims, so VolumeBinding looks nothing up.
type noVolumes struct{}

func (noVolumes) Node(string) (*v1.Node, bool)                           { return nil, false }
func (noVolumes) Claim(string, string) (*v1.PersistentVolumeClaim, bool) { return nil, false }
func (noVolumes) Claims() []*v1.PersistentVolumeClaim                    { return nil }
func (noVolumes) Volume(string) (*v1.PersistentVolume, bool)             { return nil, false }
func (noVolumes) Volumes() []*v1.PersistentVolume                        { return nil }
func (noVolumes) StorageClass(string) (*v1.StorageClass, bool)           { return nil, false }
func (noVolumes) UpdateClaim(context.Context, *v1.PersistentVolumeClaim) (*v1.PersistentVolumeClaim, error) {
	return nil, errors.New("scheduler: benchmark: no API server")
}

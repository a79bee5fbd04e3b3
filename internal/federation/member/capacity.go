package member

import (
	"context"
	"log/slog"

	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// capacity is what the member reports of its nodes.
type capacity struct {
	Nodes, ReadyNodes int32
	Allocatable, Free v1.ResourceList
}

// inventory caches the member's nodes and pods for the Cluster's status.
type inventory struct {
	nodes *client.Informer[*v1.Node]
	pods  *client.Informer[*v1.Pod]
}

func newInventory(mem *client.Client, log *slog.Logger) *inventory {
	return &inventory{
		nodes: client.NewInformer(client.For[*v1.Node](mem, ""), client.ListOptions{}, log),
		pods:  client.NewInformer(client.For[*v1.Pod](mem, ""), client.ListOptions{FieldSelector: "spec.nodeName!="}, log),
	}
}

func (i *inventory) run(ctx context.Context) {
	go i.nodes.Run(ctx)
	i.pods.Run(ctx)
}

func (i *inventory) waitForSync(ctx context.Context) bool {
	return i.nodes.WaitForSync(ctx) && i.pods.WaitForSync(ctx)
}

func (i *inventory) capacity() capacity { return computeCapacity(i.nodes.List(), i.pods.List()) }

// The resources a Cluster reports, and how each is counted: cpu in
// millicores, the others in units.
var reportedResources = []string{
	v1.ResourceCPU, v1.ResourceMemory, v1.ResourceNetworkBandwidth,
	v1.ResourceStorage, v1.ResourceStorageIOPS, v1.ResourceStorageBandwidth,
}

// computeCapacity sums the member's ready nodes.
//
// Allocatable is, over ready nodes, status.allocatable's cpu, memory and
// kennel.io/network-bandwidth, plus the storage devices' capacity (as
// storage), IOPS and bandwidth. Free is, over ready nodes that are not
// cordoned, the same less what is held there: the requests of the
// non-terminal pods bound to the node (the larger of the containers' sum
// and any init container's, as the scheduler counts), and what volumes
// reserve of each device as the node's agent reports it
// (status.storage[].reserved). It is a best-effort snapshot: a claim
// whose volume is not yet provisioned holds nothing yet, and a node's
// free amount never counts below zero.
func computeCapacity(nodes []*v1.Node, pods []*v1.Pod) capacity {
	requested := map[string]map[string]int64{} // node → resource → amount
	for _, p := range pods {
		if p.Spec.NodeName == "" || v1.IsPodTerminal(p) {
			continue
		}
		r := requested[p.Spec.NodeName]
		if r == nil {
			r = map[string]int64{}
			requested[p.Spec.NodeName] = r
		}
		for name, v := range podRequests(p) {
			r[name] += v
		}
	}
	c := capacity{Nodes: int32(len(nodes))}
	alloc, free := map[string]int64{}, map[string]int64{}
	for _, n := range nodes {
		if !nodeReady(n) {
			continue
		}
		c.ReadyNodes++
		have, held := nodeAllocatable(n)
		for name, v := range have {
			alloc[name] += v
			if !n.Spec.Unschedulable {
				free[name] += max(v-held[name]-requested[n.Name][name], 0)
			}
		}
	}
	c.Allocatable, c.Free = toResourceList(alloc), toResourceList(free)
	return c
}

func nodeReady(n *v1.Node) bool {
	for _, cond := range n.Status.Conditions {
		if cond.Type == v1.NodeReady {
			return cond.Status == v1.ConditionTrue
		}
	}
	return false
}

// nodeAllocatable is what a node offers and what its volumes already
// hold of it.
func nodeAllocatable(n *v1.Node) (have, held map[string]int64) {
	have, held = map[string]int64{}, map[string]int64{}
	for _, name := range []string{v1.ResourceCPU, v1.ResourceMemory, v1.ResourceNetworkBandwidth} {
		if q, ok := n.Status.Allocatable[name]; ok {
			have[name] = amount(name, q)
		}
	}
	for _, d := range n.Status.Storage {
		have[v1.ResourceStorage] += d.Capacity.Value()
		if d.IOPS != nil {
			have[v1.ResourceStorageIOPS] += d.IOPS.Value()
		}
		if d.Bandwidth != nil {
			have[v1.ResourceStorageBandwidth] += d.Bandwidth.Value()
		}
		if r := d.Reserved; r != nil {
			held[v1.ResourceStorage] += r.Capacity.Value()
			held[v1.ResourceStorageIOPS] += r.IOPS.Value()
			held[v1.ResourceStorageBandwidth] += r.Bandwidth.Value()
		}
	}
	return have, held
}

// podRequests is what a pod holds of the reported node resources.
func podRequests(p *v1.Pod) map[string]int64 {
	sum := map[string]int64{}
	for _, c := range p.Spec.Containers {
		for name, q := range c.Resources.Requests {
			sum[name] += amount(name, q)
		}
	}
	for _, c := range p.Spec.InitContainers {
		for name, q := range c.Resources.Requests {
			sum[name] = max(sum[name], amount(name, q))
		}
	}
	return sum
}

func amount(name string, q resource.Quantity) int64 {
	if name == v1.ResourceCPU {
		return q.MilliValue()
	}
	return q.Value()
}

// toResourceList turns amounts back into quantities, keeping only the
// reported resources.
func toResourceList(m map[string]int64) v1.ResourceList {
	out := v1.ResourceList{}
	for _, name := range reportedResources {
		v, ok := m[name]
		if !ok {
			continue
		}
		switch name {
		case v1.ResourceCPU:
			out[name] = *resource.NewMilliQuantity(v, resource.DecimalSI)
		case v1.ResourceMemory, v1.ResourceStorage:
			out[name] = *resource.NewQuantity(v, resource.BinarySI)
		default:
			out[name] = *resource.NewQuantity(v, resource.DecimalSI)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

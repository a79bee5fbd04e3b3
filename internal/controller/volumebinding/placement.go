package volumebinding

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/volume"
)

// Reasons a node cannot take a local volume before its devices are
// looked at; the ledger's reasons (volume.ReasonCapacity, …) follow.
const (
	reasonNotReady      = "not ready"
	reasonUnschedulable = "unschedulable"
	reasonTopology      = "outside the class's allowed topologies"
)

// assumption is a device chosen for a claim, counted in placements until
// the cache shows the claim with it.
type assumption struct {
	key    string // the claim's "namespace/name"
	at     volume.DeviceKey
	demand volume.Demand
}

// localRequest is what a local claim of class asks of a device. A class
// whose QoS parameters do not parse fails the claim for good (classes are
// immutable: retrying cannot help), and ok is false.
func (vc *Controller) localRequest(ctx context.Context, claim *v1.PersistentVolumeClaim, class *v1.StorageClass) (volume.Request, bool) {
	q, err := volume.ClassQoS(class)
	if err != nil {
		vc.report(ctx, claim, v1.EventTypeWarning, ReasonProvisioningFailed, err.Error())
		return volume.Request{}, false
	}
	return volume.Request{Holder: claim.UID, Demand: volume.ClaimDemand(claim, q), Device: class.Parameters[v1.ParamDevice]}, true
}

// placeLocal chooses the node and device an Immediate claim's local
// volume is carved from and names them on the claim, for that node's
// agent. When no node can take it, the claim is told why and the sync
// fails, to be retried with back-off (and at once when nodes or volumes
// change).
func (vc *Controller) placeLocal(ctx context.Context, claim *v1.PersistentVolumeClaim, class *v1.StorageClass) error {
	req, ok := vc.localRequest(ctx, claim, class)
	if !ok {
		return nil
	}
	vc.placeMu.Lock()
	defer vc.placeMu.Unlock()
	l := vc.ledger()
	var at *volume.DeviceKey
	var rejected map[string]string
	if held, ok := l.Holds(claim.UID); ok {
		at = &held // chosen before; the cache has not caught up
	} else {
		at, rejected = choose(l, vc.nodes.List(), class, req)
	}
	if at == nil {
		msg := noFitMessage(v1.ObjectKey(claim), rejected, req.Device)
		vc.report(ctx, claim, v1.EventTypeWarning, ReasonProvisioningFailed, msg)
		return fmt.Errorf("%s: %s", component, msg)
	}
	err := vc.annotate(ctx, claim, map[string]string{
		v1.AnnotationSelectedNode:       at.Node,
		v1.AnnotationSelectedDevice:     at.Device,
		v1.AnnotationStorageProvisioner: class.Provisioner,
	})
	if err != nil {
		return err
	}
	vc.mu.Lock()
	vc.assumed[claim.UID] = assumption{key: v1.ObjectKey(claim), at: *at, demand: req.Demand}
	vc.mu.Unlock()
	vc.report(ctx, claim, v1.EventTypeNormal, ReasonProvisioning,
		fmt.Sprintf("selected device %s of node %s; waiting for the node to provision the volume", at.Device, at.Node))
	return nil
}

// ledger is what volumes, selected claims and this controller's recent
// choices hold of each device. A choice is forgotten once the cache shows
// the claim with a device (BuildLedger counts it), bound, or gone.
func (vc *Controller) ledger() *volume.Ledger {
	l := volume.BuildLedger(vc.volumes.List(), vc.claims.List(), vc.claimQoS)
	vc.mu.Lock()
	defer vc.mu.Unlock()
	for uid, a := range vc.assumed {
		c, ok := vc.claims.Get(a.key)
		if !ok || c.UID != uid || c.Annotations[v1.AnnotationSelectedDevice] != "" || c.Spec.VolumeName != "" {
			delete(vc.assumed, uid)
			continue
		}
		l.Add(uid, a.at, a.demand)
	}
	return l
}

// claimQoS is the QoS of a claim's class (none when the class is unknown
// or malformed: such a claim is never placed).
func (vc *Controller) claimQoS(c *v1.PersistentVolumeClaim) volume.QoS {
	class, _ := vc.classOf(c)
	if class == nil {
		return volume.QoS{}
	}
	q, _ := volume.ClassQoS(class)
	return q
}

// choose picks, of the nodes in name order, the device for req: on a
// Ready, schedulable node the class allows, the fitting device left with
// the most free IOPS, then capacity, so that volumes spread. When none
// fits, rejected gives each node's reason.
func choose(l *volume.Ledger, nodes []*v1.Node, class *v1.StorageClass, req volume.Request) (at *volume.DeviceKey, rejected map[string]string) {
	rejected = map[string]string{}
	var bestFree volume.Demand
	for _, n := range nodes {
		switch {
		case !nodeReady(n):
			rejected[n.Name] = reasonNotReady
			continue
		case n.Spec.Unschedulable:
			rejected[n.Name] = reasonUnschedulable
			continue
		case !v1.TopologyAdmits(class.AllowedTopologies, n):
			rejected[n.Name] = reasonTopology
			continue
		}
		devs, err := l.Place(n, []volume.Request{req})
		if err != nil {
			var pe *volume.PlaceError
			if errors.As(err, &pe) {
				rejected[n.Name] = pe.Reason
			} else {
				rejected[n.Name] = err.Error()
			}
			continue
		}
		k := volume.DeviceKey{Node: n.Name, Device: devs[0]}
		free := freeOn(l, n, devs[0])
		if at == nil || free.IOPS > bestFree.IOPS || (free.IOPS == bestFree.IOPS && free.Storage > bestFree.Storage) {
			at, bestFree = &k, free
		}
	}
	if at != nil {
		return at, nil
	}
	return nil, rejected
}

// freeOn is what is left of a device of node.
func freeOn(l *volume.Ledger, n *v1.Node, device string) volume.Demand {
	used, _ := l.Used(volume.DeviceKey{Node: n.Name, Device: device})
	for _, d := range n.Status.Storage {
		if d.Name != device {
			continue
		}
		free := volume.Demand{Storage: d.Capacity.Value() - used.Storage}
		if d.IOPS != nil {
			free.IOPS = d.IOPS.Value() - used.IOPS
		}
		return free
	}
	return volume.Demand{}
}

// noFitMessage tells a claim why no node can take its local volume,
// counting the nodes under each reason, most frequent first:
// "no node has a storage device that can hold claim ns/c: 2 nodes
// insufficient storage capacity, 1 node has no storage device".
func noFitMessage(claim string, rejected map[string]string, device string) string {
	head := "no node has a storage device that can hold claim " + claim + ": "
	if len(rejected) == 0 {
		return head + "there are no nodes"
	}
	counts := map[string]int{}
	for _, r := range rejected {
		counts[r]++
	}
	reasons := make([]string, 0, len(counts))
	for r := range counts {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if a, b := counts[reasons[i]], counts[reasons[j]]; a != b {
			return a > b
		}
		return reasons[i] < reasons[j]
	})
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		n := counts[r]
		noun := "nodes"
		if n == 1 {
			noun = "node"
		}
		parts[i] = fmt.Sprintf("%d %s %s", n, noun, phrase(r, n, device))
	}
	return head + strings.Join(parts, ", ")
}

// phrase words a reason for n nodes.
func phrase(reason string, n int, device string) string {
	be, have := "are", "have"
	if n == 1 {
		be, have = "is", "has"
	}
	switch reason {
	case volume.ReasonNoDevice:
		if device != "" {
			return have + " no storage device " + strconv.Quote(device)
		}
		return have + " no storage device"
	case reasonNotReady, reasonUnschedulable, reasonTopology:
		return be + " " + reason
	}
	return reason
}

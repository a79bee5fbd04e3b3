package plugins

import (
	"errors"
	"fmt"
	"slices"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
	"github.com/kennel-dev/kennel/internal/volume"
)

// podVolumes is what VolumeBinding knows of a pod's claims for one
// decision: computed in PreFilter for every node, and again in PreBind
// for the chosen one.
type podVolumes struct {
	// bound are the volumes of the pod's bound claims; their node
	// affinity must admit the node.
	bound []*v1.PersistentVolume
	// waiting are the pod's unbound claims of WaitForFirstConsumer
	// classes: each needs, on the node, an Available volume made in
	// advance or its class's provisioner able to make one there.
	waiting []waitingClaim
	// ledger is what the devices hold, assumed claims included; nil when
	// waiting is empty.
	ledger *volume.Ledger
}

// waitingClaim is one unbound claim whose node the scheduler picks.
type waitingClaim struct {
	claim *v1.PersistentVolumeClaim
	class *v1.StorageClass
	// carved: the class is the local provisioner's, which carves the
	// volume from a device of the node; request is what it asks of the
	// device.
	carved  bool
	request volume.Request
	// selected is the node the claim is already headed for (its
	// annotation, a volume provisioned for it, or this scheduler's
	// assumption), or "".
	selected string
	// static are the Available volumes made in advance that the claim
	// could bind, in name order.
	static []*v1.PersistentVolume
}

// claimPlacement is how a waiting claim gets its volume on one node: a
// volume made in advance, a device its local volume is carved from, or
// (neither) its class's provisioner.
type claimPlacement struct {
	claim  *waitingClaim
	device string
	static *v1.PersistentVolume
}

func (p *podVolumes) empty() bool {
	return len(p.bound) == 0 && len(p.waiting) == 0
}

// fits says whether the pod's volumes can be used from node, and if not
// why; the placements say how each waiting claim gets its volume there.
func (p *podVolumes) fits(node *v1.Node) ([]claimPlacement, *framework.Status) {
	for _, pv := range p.bound {
		if !volumeAdmits(pv, node) {
			return nil, framework.NewStatus(framework.Unschedulable, ReasonVolumeNodeAffinityConflict)
		}
	}
	return p.place(node)
}

// place finds each waiting claim its volume on node: the device it is
// already headed for, else a volume made in advance that the node may
// use, else one its class's provisioner makes there (for the local
// provisioner, on a device with room for all of the pod's claims
// together).
func (p *podVolumes) place(node *v1.Node) ([]claimPlacement, *framework.Status) {
	out := make([]claimPlacement, len(p.waiting))
	var reqs []volume.Request
	var carved []int // indices into out of the claims in reqs
	for i := range p.waiting {
		wc := &p.waiting[i]
		out[i].claim = wc
		if wc.selected != "" && wc.selected != node.Name {
			return nil, unschedulable(ReasonSelectedNodeConflict)
		}
		if !p.holds(wc) {
			if pv := wc.staticOn(node); pv != nil {
				out[i].static = pv
				continue
			}
			if why := wc.cannotProvision(node); why != "" {
				return nil, unschedulable(why)
			}
		}
		if wc.carved {
			reqs = append(reqs, wc.request)
			carved = append(carved, i)
		}
	}
	if len(reqs) == 0 {
		return out, nil
	}
	devices, err := p.ledger.Place(node, reqs)
	var pe *volume.PlaceError
	switch {
	case errors.As(err, &pe):
		return nil, unschedulable(pe.Reason)
	case err != nil:
		return nil, framework.AsStatus(err)
	}
	for j, i := range carved {
		out[i].device = devices[j]
	}
	return out, nil
}

// headroomScore is the smallest share, in percent, of a device's
// capacity, IOPS or bandwidth (those the device gives a figure for) left
// on the devices of node that placements carve new local volumes from,
// once they are carved; carves is false when they carve none there
// (claims already held by a device are counted in the ledger and not
// carved again).
func (p *podVolumes) headroomScore(node *v1.Node, placements []claimPlacement) (score int64, carves bool) {
	carved := map[string]volume.Demand{}
	for _, pl := range placements {
		if pl.device != "" && !p.holds(pl.claim) {
			carved[pl.device] = carved[pl.device].Add(pl.claim.request.Demand)
		}
	}
	if len(carved) == 0 {
		return 0, false
	}
	score = framework.MaxNodeScore
	for i := range node.Status.Storage {
		dev := &node.Status.Storage[i]
		add, ok := carved[dev.Name]
		if !ok {
			continue
		}
		used, _ := p.ledger.Used(volume.DeviceKey{Node: node.Name, Device: dev.Name})
		after := used.Add(add)
		score = min(score, percentLeft(after.Storage, dev.Capacity.Value()))
		if dev.IOPS != nil {
			score = min(score, percentLeft(after.IOPS, dev.IOPS.Value()))
		}
		if dev.Bandwidth != nil {
			score = min(score, percentLeft(after.Bandwidth, dev.Bandwidth.Value()))
		}
	}
	return score, true
}

// percentLeft is the share of total not used, in percent, floored, 0
// when over-committed; a device figure of 0 leaves nothing.
func percentLeft(used, total int64) int64 {
	if total <= 0 || used >= total {
		return framework.MinNodeScore
	}
	return (total - used) * framework.MaxNodeScore / total
}

// holds reports whether a device is already reserved for the claim: it
// goes there.
func (p *podVolumes) holds(wc *waitingClaim) bool {
	if !wc.carved {
		return false
	}
	_, held := p.ledger.Holds(wc.request.Holder)
	return held
}

// staticOn is the first volume made in advance that node may use.
func (wc *waitingClaim) staticOn(node *v1.Node) *v1.PersistentVolume {
	for _, pv := range wc.static {
		if volumeAdmits(pv, node) {
			return pv
		}
	}
	return nil
}

// cannotProvision says why the claim's class cannot have a volume made
// on node, or "" when it can (the devices aside, which the ledger
// judges): a class without a provisioner has only the volumes made in
// advance, and allowedTopologies restrict every other.
func (wc *waitingClaim) cannotProvision(node *v1.Node) string {
	switch {
	case wc.class.Provisioner == ProvisionerNone:
		return ReasonNoVolumesToBind
	case !v1.TopologyAdmits(wc.class.AllowedTopologies, node):
		return ReasonAllowedTopologies
	}
	return ""
}

// claimClass is the name of a claim's class; "" when it names none (the
// volume binding controller binds such claims at once, to volumes
// without a class).
func claimClass(c *v1.PersistentVolumeClaim) string {
	if c.Spec.StorageClassName == nil {
		return ""
	}
	return *c.Spec.StorageClassName
}

// isWaitForFirstConsumer reports whether claims of sc wait for the
// scheduler to pick their node.
func isWaitForFirstConsumer(sc *v1.StorageClass) bool {
	return sc.VolumeBindingMode != nil && *sc.VolumeBindingMode == v1.VolumeBindingWaitForFirstConsumer
}

// volumeAdmits reports whether node may use pv: its required node
// affinity, whose terms are ORed, matches the node (no affinity: any
// node).
func volumeAdmits(pv *v1.PersistentVolume, node *v1.Node) bool {
	return pv.Spec.NodeAffinity.Admits(node)
}

// staticMatches reports whether pv, made in advance, can be bound to the
// claim c of class: Available, not meant for another claim, of the class,
// big enough, with the claim's access modes and volume mode, selected by
// the claim's selector. Node affinity is checked per node.
func staticMatches(pv *v1.PersistentVolume, c *v1.PersistentVolumeClaim, class string) bool {
	if pv.DeletionTimestamp != nil || pv.Status.Phase != v1.VolumeAvailable || pv.Spec.StorageClassName != class {
		return false
	}
	if r := pv.Spec.ClaimRef; r != nil && r.UID != c.UID && (r.UID != "" || r.Namespace != c.Namespace || r.Name != c.Name) {
		return false
	}
	want, have := c.Spec.Resources.Requests[v1.ResourceStorage], pv.Spec.Capacity[v1.ResourceStorage]
	if have.Cmp(want) < 0 {
		return false
	}
	for _, m := range c.Spec.AccessModes {
		if !slices.Contains(pv.Spec.AccessModes, m) {
			return false
		}
	}
	if volumeMode(c.Spec.VolumeMode) != volumeMode(pv.Spec.VolumeMode) {
		return false
	}
	return c.Spec.Selector == nil || c.Spec.Selector.Matches(pv.Labels)
}

func volumeMode(m *v1.PersistentVolumeMode) v1.PersistentVolumeMode {
	if m == nil {
		return v1.PersistentVolumeFilesystem
	}
	return *m
}

// ClaimNotFoundReason rejects every node for a pod whose claim does not
// exist: `persistentvolumeclaim "data" not found`.
func ClaimNotFoundReason(name string) string {
	return fmt.Sprintf("persistentvolumeclaim %q not found", name)
}

// ClaimDeletingReason rejects every node for a pod whose claim is being
// deleted.
func ClaimDeletingReason(name string) string {
	return fmt.Sprintf("persistentvolumeclaim %q is being deleted", name)
}

// VolumeNotFoundReason rejects every node for a pod whose bound claim
// names a volume that does not exist.
func VolumeNotFoundReason(name string) string {
	return fmt.Sprintf("persistentvolume %q not found", name)
}

// ClassNotFoundReason rejects every node for a pod whose unbound claim
// names a class that does not exist.
func ClassNotFoundReason(name string) string {
	return fmt.Sprintf("storageclass %q not found", name)
}

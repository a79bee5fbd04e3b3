package plugins

import (
	"fmt"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
	"github.com/kennel-dev/kennel/internal/volume"
)

// podVolumesLocked reads the pod's claims from the listers and sorts them
// into bound, waiting for the controller (an Unschedulable status), and
// waiting for this scheduler to pick their node; the caller holds pl.mu.
func (pl *VolumeBinding) podVolumesLocked(pod *v1.Pod) (*podVolumes, *framework.Status) {
	out := &podVolumes{}
	seen := map[string]bool{}
	for i := range pod.Spec.Volumes {
		src := pod.Spec.Volumes[i].PersistentVolumeClaim
		if src == nil || seen[src.ClaimName] {
			continue
		}
		seen[src.ClaimName] = true
		c, ok := pl.listers.Claim(pod.Namespace, src.ClaimName)
		switch {
		case !ok:
			return nil, unschedulable(ClaimNotFoundReason(src.ClaimName))
		case c.DeletionTimestamp != nil:
			return nil, unschedulable(ClaimDeletingReason(src.ClaimName))
		}
		if s := pl.addClaim(out, c); s != nil {
			return nil, s
		}
	}
	if len(out.waiting) == 0 {
		return out, nil
	}
	pvs := pl.listers.Volumes()
	out.ledger = pl.ledgerLocked(pvs)
	taken := pl.assumedVolumesLocked()
	for i := range out.waiting {
		wc := &out.waiting[i]
		uid := wc.claim.UID
		if k, held := out.ledger.Holds(uid); held {
			wc.selected = k.Node
		} else if a, ok := pl.assumed[uid]; ok {
			wc.selected = a.at.Node
		}
		class := claimClass(wc.claim)
		for _, pv := range pvs {
			if owner, ok := taken[pv.Name]; (!ok || owner == uid) && staticMatches(pv, wc.claim, class) {
				wc.static = append(wc.static, pv)
			}
		}
	}
	return out, nil
}

// addClaim sorts one claim of the pod into out.
func (pl *VolumeBinding) addClaim(out *podVolumes, c *v1.PersistentVolumeClaim) *framework.Status {
	if c.Spec.VolumeName != "" {
		pv, ok := pl.listers.Volume(c.Spec.VolumeName)
		if !ok {
			return unschedulable(VolumeNotFoundReason(c.Spec.VolumeName))
		}
		out.bound = append(out.bound, pv)
		return nil
	}
	class := claimClass(c)
	if class == "" {
		return unschedulable(ReasonUnboundImmediateClaims)
	}
	sc, ok := pl.listers.StorageClass(class)
	switch {
	case !ok:
		return unschedulable(ClassNotFoundReason(class))
	case !isWaitForFirstConsumer(sc):
		return unschedulable(ReasonUnboundImmediateClaims)
	}
	wc := waitingClaim{claim: c, class: sc, request: volume.Request{Holder: c.UID},
		selected: c.Annotations[v1.AnnotationSelectedNode]}
	if sc.Provisioner == v1.ProvisionerLocal {
		q, err := volume.ClassQoS(sc)
		if err != nil {
			return unschedulable(err.Error())
		}
		wc.carved = true
		wc.request = volume.Request{Holder: c.UID, Demand: volume.ClaimDemand(c, q), Device: sc.Parameters[v1.ParamDevice]}
	}
	out.waiting = append(out.waiting, wc)
	return nil
}

// ledgerLocked counts what every device holds: the volumes and annotated
// claims the informers show, and the claims this plugin has assumed and
// the informers do not show yet. It first forgets the assumptions the
// informers have caught up with.
func (pl *VolumeBinding) ledgerLocked(pvs []*v1.PersistentVolume) *volume.Ledger {
	qos := map[string]volume.QoS{}
	qosOf := func(c *v1.PersistentVolumeClaim) volume.QoS {
		name := claimClass(c)
		q, ok := qos[name]
		if !ok {
			if sc, found := pl.listers.StorageClass(name); found {
				q, _ = volume.ClassQoS(sc) // validated on write; a bad value reserves nothing
			}
			qos[name] = q
		}
		return q
	}
	l := volume.BuildLedger(pvs, pl.listers.Claims(), qosOf)
	pl.pruneLocked(l)
	for uid, a := range pl.assumed {
		if a.at.Device != "" {
			l.Add(uid, a.at, a.demand)
		}
	}
	return l
}

// pruneLocked forgets assumed claims that are gone, bound, or shown by
// the informers where they were assumed: a claim the ledger l (built from
// the informers alone) holds, whose volume made in advance now names a
// claim, or, for a claim whose provisioner needs no device, that shows
// the node selected.
func (pl *VolumeBinding) pruneLocked(l *volume.Ledger) {
	for uid, a := range pl.assumed {
		c, ok := pl.listers.Claim(a.namespace, a.name)
		_, held := l.Holds(uid)
		switch {
		case !ok || c.UID != uid || c.DeletionTimestamp != nil || c.Spec.VolumeName != "":
		case a.volume == "" && a.at.Device != "" && held:
		case a.volume == "" && a.at.Device == "" && c.Annotations[v1.AnnotationSelectedNode] == a.at.Node:
		case a.volume != "" && pl.volumeTaken(a.volume):
		default:
			continue
		}
		delete(pl.assumed, uid)
	}
}

// volumeTaken reports whether a volume made in advance is gone or names
// a claim.
func (pl *VolumeBinding) volumeTaken(name string) bool {
	pv, ok := pl.listers.Volume(name)
	return !ok || pv.Spec.ClaimRef != nil
}

// assumedVolumesLocked maps the volumes made in advance that assumed
// claims are to bind to those claims' UIDs.
func (pl *VolumeBinding) assumedVolumesLocked() map[string]string {
	out := map[string]string{}
	for uid, a := range pl.assumed {
		if a.volume != "" {
			out[a.volume] = uid
		}
	}
	return out
}

// reservationKey names a pod's reservation: its key and UID, so that a
// pod deleted and made again under the same name is another pod.
func reservationKey(pod *v1.Pod) string { return v1.ObjectKey(pod) + "/" + pod.UID }

// reserveLocked returns the pod's reservation on nodeName, making it
// first if the pod has none there: its waiting claims are placed on the
// node, checked against every reservation the informers and this plugin
// know of, and each that is to be written is assumed. A reservation of
// the pod on another node is released first. The caller holds pl.mu.
func (pl *VolumeBinding) reserveLocked(pod *v1.Pod, nodeName string) ([]claimPlacement, *framework.Status) {
	key := reservationKey(pod)
	if r, ok := pl.reserved[key]; ok {
		if r.node == nodeName {
			return r.writes, nil
		}
		pl.releaseLocked(key)
	}
	node, ok := pl.listers.Node(nodeName)
	if !ok {
		return nil, unschedulable(fmt.Sprintf("node %q not found", nodeName))
	}
	pv, s := pl.podVolumesLocked(pod)
	if s != nil {
		return nil, s
	}
	placements, s := pv.fits(node)
	if s != nil {
		return nil, s
	}
	r := &podReservation{node: nodeName}
	for _, p := range placements {
		c := p.claim.claim
		if c.Annotations[v1.AnnotationSelectedNode] == nodeName && (p.device == "" || c.Annotations[v1.AnnotationSelectedDevice] == p.device) {
			continue // selected there already, and counted by the informers
		}
		a, ok := pl.assumed[c.UID]
		switch {
		case ok && a.written:
			continue // written for an earlier pod of the claim; the informer lags
		case !ok:
			a = newAssumedClaim(p, nodeName)
			pl.assumed[c.UID] = a
		}
		a.pods[key] = true
		r.writes = append(r.writes, p)
	}
	pl.reserved[key] = r
	return r.writes, nil
}

// newAssumedClaim is the assumption of placement p on node.
func newAssumedClaim(p claimPlacement, node string) *assumedClaim {
	c := p.claim.claim
	a := &assumedClaim{namespace: c.Namespace, name: c.Name,
		at: volume.DeviceKey{Node: node, Device: p.device}, pods: map[string]bool{}}
	switch {
	case p.static != nil:
		a.volume = p.static.Name
	case p.device != "":
		a.demand = p.claim.request.Demand
	}
	return a
}

// release drops the reservation named key (see releaseLocked).
func (pl *VolumeBinding) release(key string) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	pl.releaseLocked(key)
}

// releaseLocked drops the reservation named key: each of its claims
// that was not written stops being assumed once no other reservation
// counts on it. The caller holds pl.mu.
func (pl *VolumeBinding) releaseLocked(key string) {
	r, ok := pl.reserved[key]
	if !ok {
		return
	}
	delete(pl.reserved, key)
	for _, w := range r.writes {
		uid := w.claim.claim.UID
		a, ok := pl.assumed[uid]
		if !ok {
			continue
		}
		delete(a.pods, key)
		if len(a.pods) == 0 && !a.written {
			delete(pl.assumed, uid)
		}
	}
}

// markWritten records that the reservation named key wrote the claim
// with UID uid: the assumption now lasts until the informer shows it.
func (pl *VolumeBinding) markWritten(key, uid string) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if a, ok := pl.assumed[uid]; ok {
		a.written = true
		delete(a.pods, key)
	}
}

// isWritten reports whether the claim with UID uid is assumed and
// written.
func (pl *VolumeBinding) isWritten(uid string) bool {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	a, ok := pl.assumed[uid]
	return ok && a.written
}

func unschedulable(reason string) *framework.Status {
	return framework.NewStatus(framework.Unschedulable, reason)
}

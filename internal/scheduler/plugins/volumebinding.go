package plugins

import (
	"context"
	"fmt"
	"sync"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
	"github.com/kennel-dev/kennel/internal/volume"
)

// VolumeBindingName is the VolumeBinding plugin's name.
const VolumeBindingName = "VolumeBinding"

// The reasons VolumeBinding rejects a node for, besides the claim, volume
// and class lookups (ClaimNotFoundReason …) and the ledger's
// volume.ReasonCapacity, ReasonIOPS, ReasonBandwidth and ReasonNoDevice
// ("insufficient storage IOPS"), which it passes on as they are.
const (
	// ReasonVolumeNodeAffinityConflict: a bound volume's node affinity
	// does not admit the node; this is how a local volume keeps its pods
	// on its node.
	ReasonVolumeNodeAffinityConflict = "node(s) had volume node affinity conflict"
	// ReasonUnboundImmediateClaims rejects every node while a claim of an
	// Immediate class (or of no class) waits for the volume binding
	// controller; the pod is tried again when the claim changes.
	ReasonUnboundImmediateClaims = "pod has unbound immediate PersistentVolumeClaims"
	// ReasonSelectedNodeConflict: an unbound claim is already headed for
	// another node (selected for an earlier pod that uses it too).
	ReasonSelectedNodeConflict = "node(s) didn't match the node selected for a PersistentVolumeClaim"
	// ReasonAllowedTopologies: the class of an unbound
	// WaitForFirstConsumer claim does not allow the node's topology, and
	// no volume made in advance for it admits the node.
	ReasonAllowedTopologies = "node(s) didn't match the StorageClass's allowedTopologies"
	// ReasonNoVolumesToBind: an unbound WaitForFirstConsumer claim of a
	// class without a provisioner (ProvisionerNone) has no Available
	// volume made in advance that admits the node.
	ReasonNoVolumesToBind = "node(s) didn't find available persistent volumes to bind"
)

// ProvisionerNone is v1.ProvisionerNone: the provisioner of classes whose volumes are all
// made in advance by an operator (Kubernetes' name): their claims can
// only bind an Available volume.
const ProvisionerNone = v1.ProvisionerNone

// VolumeListers reads nodes, claims, volumes and classes from the
// scheduler's informer caches. Lookups report false for what the cache
// does not hold, lists are in key order, and nothing fails or blocks; the
// caches may lag the API server, which VolumeBinding allows for by
// remembering its own writes (assumed claims) and by writing
// conditionally.
type VolumeListers interface {
	Node(name string) (*v1.Node, bool)
	Claim(namespace, name string) (*v1.PersistentVolumeClaim, bool)
	Claims() []*v1.PersistentVolumeClaim
	Volume(name string) (*v1.PersistentVolume, bool)
	Volumes() []*v1.PersistentVolume
	StorageClass(name string) (*v1.StorageClass, bool)
}

// ClaimWriter writes claims for VolumeBinding's PreBind. UpdateClaim is
// conditional on the claim's resourceVersion and returns the API
// server's error as it is (v1.IsConflict when the claim changed since it
// was read, v1.IsNotFound when it is gone); it is not retried: the pod
// is decided again instead, from the newer claim.
type ClaimWriter interface {
	UpdateClaim(ctx context.Context, claim *v1.PersistentVolumeClaim) (*v1.PersistentVolumeClaim, error)
}

// VolumeBinding places pods with persistent volume claims. A bound
// claim's volume must admit the node (a local volume pins its pods to its
// node). An unbound claim of an Immediate class keeps the pod waiting for
// the volume binding controller. An unbound WaitForFirstConsumer claim,
// of any class, needs on the node either an Available volume made in
// advance whose node affinity admits it, or its class's provisioner able
// to make one there: the class's allowedTopologies must admit the node,
// and for the local provisioner a storage device of the node must have
// room for the claim's capacity and QoS reservation, counted together
// with the pod's other such claims and everything the devices already
// hold (volume.Ledger). A class of ProvisionerNone has only the volumes
// made in advance; FlexVolume and external provisioners make volumes on
// any node their topology allows.
//
// Score prefers the node whose devices keep the most headroom: see
// Score.
//
// Reserve assumes the pod's claims on the chosen node (and device), so
// that every later decision counts them, and a burst of pods never
// over-commits a device even before the claims show the node selected.
// PreBind writes the chosen node on each such claim (the selected-node
// annotation), and the device for a local volume to be carved
// (selected-device), for the controller, the node's provisioner or an
// external one to act on; a PreBind whose pod was not reserved reserves
// it first. Unreserve, and a PreBind that fails, drop what was assumed
// and not written; a written claim stays assumed until the informer
// shows it, when the ledger counts the claim itself.
type VolumeBinding struct {
	listers VolumeListers
	claims  ClaimWriter

	mu       sync.Mutex
	assumed  map[string]*assumedClaim   // by claim UID
	reserved map[string]*podReservation // by reservationKey
}

// assumedClaim is a claim this plugin chose a node for, from its pod's
// Reserve until the informer shows the selection (or the claim is bound
// or gone), or until every pod that reserved it is unreserved before it
// was written.
type assumedClaim struct {
	namespace, name string
	// at is the node and device; Device is "" for a claim that is to
	// bind the volume made in advance named volume, or whose provisioner
	// needs no device.
	at     volume.DeviceKey
	demand volume.Demand
	volume string
	// pods are the reservations (by reservationKey) that count on the
	// claim and have not written it.
	pods map[string]bool
	// written: a PreBind wrote the selection, so the API server has it;
	// only the informers' lag is left to bridge.
	written bool
}

// podReservation is what Reserve decided for one pod.
type podReservation struct {
	node string
	// writes are the claims PreBind is to select the node (and device)
	// on: the pod's waiting claims not already selected there.
	writes []claimPlacement
}

var (
	_ framework.PreFilterPlugin = (*VolumeBinding)(nil)
	_ framework.FilterPlugin    = (*VolumeBinding)(nil)
	_ framework.ScorePlugin     = (*VolumeBinding)(nil)
	_ framework.ReservePlugin   = (*VolumeBinding)(nil)
	_ framework.PreBindPlugin   = (*VolumeBinding)(nil)
)

// NewVolumeBinding returns the plugin reading from listers and writing
// claims through claims. One plugin must serve every decision of a
// scheduler: its assumed claims are what keep a burst from
// over-committing a device.
func NewVolumeBinding(listers VolumeListers, claims ClaimWriter) *VolumeBinding {
	return &VolumeBinding{listers: listers, claims: claims,
		assumed: map[string]*assumedClaim{}, reserved: map[string]*podReservation{}}
}

// Name is VolumeBindingName.
func (*VolumeBinding) Name() string { return VolumeBindingName }

const volumesKey framework.StateKey = VolumeBindingName + "/volumes"

// PreFilter looks up the pod's claims, their volumes and classes once,
// and rejects every node when a claim is missing, being deleted, or waits
// for the controller.
func (pl *VolumeBinding) PreFilter(_ context.Context, state *framework.CycleState, pod *v1.Pod) *framework.Status {
	if !hasClaims(pod) {
		return nil
	}
	pl.mu.Lock()
	defer pl.mu.Unlock()
	pv, s := pl.podVolumesLocked(pod)
	if s != nil {
		return s
	}
	if !pv.empty() {
		state.Write(volumesKey, pv)
	}
	return nil
}

// Filter rejects a node the pod's volumes cannot be used from, or where
// an unbound WaitForFirstConsumer claim can get no volume.
func (pl *VolumeBinding) Filter(_ context.Context, state *framework.CycleState, _ *v1.Pod, n *framework.NodeInfo) *framework.Status {
	pv, ok := framework.ReadAs[*podVolumes](state, volumesKey)
	if !ok {
		return nil
	}
	if n.Node == nil {
		return framework.NewStatus(framework.Unschedulable, ReasonVolumeNodeAffinityConflict)
	}
	_, s := pv.fits(n.Node)
	return s
}

// Score prefers the node whose storage devices keep the most headroom:
// for a pod that carves local volumes (unbound WaitForFirstConsumer
// claims of the local provisioner), the smallest fraction left, once
// they are carved, of the capacity, IOPS and bandwidth of the devices
// they are carved from on the node (those the node advertises a figure
// for), × 100. Those are the devices PreBind would select, so the score
// describes the real placement. A node where the pod carves nothing
// scores MaxNodeScore: every node, for a pod without such claims, so the
// ranking is the other plugins'; and the node of a volume made in
// advance that a local claim can bind, which takes nothing from any
// device, over nodes where one would be carved.
func (pl *VolumeBinding) Score(_ context.Context, state *framework.CycleState, _ *v1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	if state == nil {
		return framework.MaxNodeScore, nil
	}
	pv, ok := framework.ReadAs[*podVolumes](state, volumesKey)
	if !ok {
		return framework.MaxNodeScore, nil
	}
	if n.Node == nil {
		return framework.MinNodeScore, nil
	}
	placements, s := pv.fits(n.Node)
	if s != nil {
		return framework.MinNodeScore, nil // Filter rejects it; never ranked in a profile
	}
	if score, carves := pv.headroomScore(n.Node, placements); carves {
		return score, nil
	}
	return framework.MaxNodeScore, nil
}

// Reserve places the pod's waiting claims on nodeName, checked against
// everything the informers and this plugin's assumptions count, and
// assumes each that PreBind is to write, so the next decision sees them.
// It is idempotent: the pod's reservation on the same node is kept as it
// is; one on another node is released first.
func (pl *VolumeBinding) Reserve(_ context.Context, _ *framework.CycleState, pod *v1.Pod, nodeName string) *framework.Status {
	if !hasClaims(pod) {
		return nil
	}
	pl.mu.Lock()
	defer pl.mu.Unlock()
	_, s := pl.reserveLocked(pod, nodeName)
	return s
}

// Unreserve drops the pod's reservation on nodeName: its claims that
// were not written stop counting (unless another pod's reservation
// counts on them too). Claims already written stay assumed until the
// informer shows them. Idempotent.
func (pl *VolumeBinding) Unreserve(_ context.Context, _ *framework.CycleState, pod *v1.Pod, nodeName string) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	key := reservationKey(pod)
	if r, ok := pl.reserved[key]; ok && r.node == nodeName {
		pl.releaseLocked(key)
	}
}

// PreBind selects nodeName for each unbound WaitForFirstConsumer claim of
// the pod (and a device for each local volume to carve) as the pod's
// reservation says, reserving first if Reserve did not. A claim already
// selected for the node is left as it is. When a write fails, the
// reservation is released (the claims written before stay assumed) and
// the pod is to be decided again.
func (pl *VolumeBinding) PreBind(ctx context.Context, _ *framework.CycleState, pod *v1.Pod, nodeName string) *framework.Status {
	if !hasClaims(pod) {
		return nil
	}
	pl.mu.Lock()
	writes, s := pl.reserveLocked(pod, nodeName)
	pl.mu.Unlock()
	if s != nil {
		return s
	}
	key := reservationKey(pod)
	defer pl.release(key)
	for _, w := range writes {
		if pl.isWritten(w.claim.claim.UID) {
			continue // by the PreBind of another pod of the claim, since Reserve
		}
		if err := pl.selectNode(ctx, w, nodeName); err != nil {
			if v1.IsConflict(err) || v1.IsNotFound(err) {
				return framework.NewStatus(framework.Unschedulable, err.Error())
			}
			return framework.AsStatus(err)
		}
		pl.markWritten(key, w.claim.claim.UID)
	}
	return nil
}

// selectNode annotates the claim with its node and device (none for a
// volume made in advance, which the controller binds, nor for a
// provisioner that needs none) by a conditional update.
func (pl *VolumeBinding) selectNode(ctx context.Context, p claimPlacement, node string) error {
	c := v1.Clone(p.claim.claim)
	if c.Annotations == nil {
		c.Annotations = map[string]string{}
	}
	c.Annotations[v1.AnnotationSelectedNode] = node
	if p.device != "" {
		c.Annotations[v1.AnnotationSelectedDevice] = p.device
	} else {
		delete(c.Annotations, v1.AnnotationSelectedDevice)
	}
	if _, err := pl.claims.UpdateClaim(ctx, c); err != nil {
		return fmt.Errorf("scheduler/volumebinding: select node %s for persistentvolumeclaim %s/%s: %w", node, c.Namespace, c.Name, err)
	}
	return nil
}

func hasClaims(pod *v1.Pod) bool {
	for i := range pod.Spec.Volumes {
		if pod.Spec.Volumes[i].PersistentVolumeClaim != nil {
			return true
		}
	}
	return false
}

package volumebinding

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
)

// conflictDelay is how long a sync whose write met a newer version of an
// object (or found it gone) waits for the caches to catch up.
const conflictDelay = 100 * time.Millisecond

// sync converges the claim or volume a key names.
func (vc *Controller) sync(ctx context.Context, key string) error {
	switch {
	case strings.HasPrefix(key, claimPrefix):
		return vc.syncClaim(ctx, strings.TrimPrefix(key, claimPrefix))
	case strings.HasPrefix(key, volumePrefix):
		return vc.syncVolume(ctx, strings.TrimPrefix(key, volumePrefix))
	}
	return fmt.Errorf("%s: malformed key %q: want %q or %q", component, key, claimPrefix+"ns/name", volumePrefix+"name")
}

// retry turns a failed write into the sync's result: a conflict or a
// vanished object is looked at again once the caches catch up; anything
// else is an error, retried with back-off.
func retry(err error, format string, args ...any) error {
	if v1.IsConflict(err) || v1.IsNotFound(err) {
		return controller.RequeueAfter(conflictDelay)
	}
	return fmt.Errorf("%s: %s: %w", component, fmt.Sprintf(format, args...), err)
}

// syncClaim converges one claim: protection first, then binding.
func (vc *Controller) syncClaim(ctx context.Context, key string) error {
	claim, ok := vc.claims.Get(key)
	if !ok {
		return nil
	}
	if claim.DeletionTimestamp != nil {
		return vc.releaseProtection(ctx, claim)
	}
	claim, err := vc.ensureProtection(ctx, claim)
	if err != nil {
		return err
	}
	if claim.Spec.VolumeName != "" {
		return vc.syncBoundClaim(ctx, claim)
	}
	return vc.syncUnboundClaim(ctx, claim)
}

// ensureProtection adds the protection finalizer, so that the claim is not
// deleted while a pod uses it.
func (vc *Controller) ensureProtection(ctx context.Context, claim *v1.PersistentVolumeClaim) (*v1.PersistentVolumeClaim, error) {
	if claim.HasFinalizer(v1.FinalizerPVCProtection) {
		return claim, nil
	}
	claim = v1.Clone(claim)
	claim.Finalizers = append(claim.Finalizers, v1.FinalizerPVCProtection)
	out, err := vc.claimsAPI.Namespace(claim.Namespace).Update(ctx, claim)
	if err != nil {
		return nil, retry(err, "claim %s: add finalizer %s", v1.ObjectKey(claim), v1.FinalizerPVCProtection)
	}
	return out, nil
}

// releaseProtection lets a claim being deleted go once no pod that may
// still run uses it.
func (vc *Controller) releaseProtection(ctx context.Context, claim *v1.PersistentVolumeClaim) error {
	if !claim.HasFinalizer(v1.FinalizerPVCProtection) {
		return nil
	}
	used, err := vc.claimInUse(ctx, claim)
	if err != nil || used {
		// The pods' changes bring the claim back.
		return err
	}
	claim = v1.Clone(claim)
	claim.RemoveFinalizer(v1.FinalizerPVCProtection)
	if _, err := vc.claimsAPI.Namespace(claim.Namespace).Update(ctx, claim); err != nil {
		return retry(err, "claim %s: remove finalizer %s", v1.ObjectKey(claim), v1.FinalizerPVCProtection)
	}
	return nil
}

// claimInUse reports whether a pod that is not terminal names the claim.
// The cache saying no is checked against the API server, since a pod
// created a moment ago may not be cached yet and deleting its claim
// would strand it.
func (vc *Controller) claimInUse(ctx context.Context, claim *v1.PersistentVolumeClaim) (bool, error) {
	key := v1.ObjectKey(claim)
	for _, p := range vc.pods.ByIndex(indexClaim, key) {
		if !v1.IsPodTerminal(p) {
			return true, nil
		}
	}
	list, err := vc.podsAPI.Namespace(claim.Namespace).ListAll(ctx, client.ListOptions{})
	if err != nil {
		return false, fmt.Errorf("%s: claim %s: list pods: %w", component, key, err)
	}
	for _, p := range list.Items {
		if !v1.IsPodTerminal(p) && contains(podClaims(p), key) {
			return true, nil
		}
	}
	return false, nil
}

func contains(keys []string, key string) bool {
	for _, k := range keys {
		if k == key {
			return true
		}
	}
	return false
}

// syncUnboundClaim binds a claim to the volume made for it, else to a
// matching Available volume, else has one provisioned.
func (vc *Controller) syncUnboundClaim(ctx context.Context, claim *v1.PersistentVolumeClaim) error {
	if pv := vc.volumeOf(claim); pv != nil {
		return vc.bind(ctx, claim, pv)
	}
	class, className, err := vc.liveClassOf(ctx, claim)
	if err != nil {
		return err
	}
	node := claim.Annotations[v1.AnnotationSelectedNode]
	if node != "" || !waitsForConsumer(class) {
		if pv := vc.findVolume(claim, className, node); pv != nil {
			return vc.bind(ctx, claim, pv)
		}
	}
	return vc.provision(ctx, claim, class, className)
}

// volumeOf is the volume whose claimRef holds the claim's UID: provisioned
// for it, or bound to it by an earlier sync.
func (vc *Controller) volumeOf(claim *v1.PersistentVolumeClaim) *v1.PersistentVolume {
	for _, pv := range vc.volumes.ByIndex(indexClaim, v1.ObjectKey(claim)) {
		if pv.Spec.ClaimRef.UID == claim.UID && pv.DeletionTimestamp == nil {
			return pv
		}
	}
	return nil
}

// waitsForConsumer reports whether a class's claims wait for a pod to
// choose their node.
func waitsForConsumer(class *v1.StorageClass) bool {
	return class != nil && class.VolumeBindingMode != nil && *class.VolumeBindingMode == v1.VolumeBindingWaitForFirstConsumer
}

// bind binds claim and pv: the volume's claimRef first, conditionally on
// the version read, then the claim's volumeName and status.
func (vc *Controller) bind(ctx context.Context, claim *v1.PersistentVolumeClaim, pv *v1.PersistentVolume) error {
	key := v1.ObjectKey(claim)
	if r := pv.Spec.ClaimRef; r == nil || r.UID != claim.UID {
		want := v1.Clone(pv)
		want.Spec.ClaimRef = vc.claimRef(claim)
		var err error
		if pv, err = vc.volumesAPI.Update(ctx, want); err != nil {
			return retry(err, "claim %s: bind volume %s", key, want.Name)
		}
	}
	if claim.Spec.VolumeName != pv.Name {
		want := v1.Clone(claim)
		want.Spec.VolumeName = pv.Name
		var err error
		if claim, err = vc.claimsAPI.Namespace(want.Namespace).Update(ctx, want); err != nil {
			return retry(err, "claim %s: set volumeName %s", key, pv.Name)
		}
	}
	return vc.setClaimStatus(ctx, claim, v1.ClaimBound, pv)
}

// claimRef is the reference a volume bound to claim holds.
func (vc *Controller) claimRef(claim *v1.PersistentVolumeClaim) *v1.ObjectReference {
	return &v1.ObjectReference{Kind: vc.claimKind.Kind, APIVersion: vc.claimKind.APIVersion(),
		Namespace: claim.Namespace, Name: claim.Name, UID: claim.UID}
}

// setClaimStatus writes the claim's phase and, when pv is given, the
// capacity and access modes it has from it.
func (vc *Controller) setClaimStatus(ctx context.Context, claim *v1.PersistentVolumeClaim, phase v1.PersistentVolumeClaimPhase, pv *v1.PersistentVolume) error {
	st := claim.Status
	st.Phase = phase
	if pv != nil {
		st.Capacity = v1.Clone(pv).Spec.Capacity
		st.AccessModes = append([]v1.PersistentVolumeAccessMode(nil), pv.Spec.AccessModes...)
	}
	if phase == v1.ClaimBound {
		vc.forgetReported(claim.UID)
	}
	if reflect.DeepEqual(st, claim.Status) {
		return nil
	}
	claim = v1.Clone(claim)
	claim.Status = st
	if _, err := vc.claimsAPI.Namespace(claim.Namespace).UpdateStatus(ctx, claim); err != nil {
		return retry(err, "claim %s: set status %s", v1.ObjectKey(claim), phase)
	}
	return nil
}

// syncBoundClaim keeps a claim with a volumeName Bound to that volume, or
// finishes binding it (a claim made with volumeName set, or one whose
// volume lost its claimRef), or marks it Lost when the volume is gone or
// taken.
func (vc *Controller) syncBoundClaim(ctx context.Context, claim *v1.PersistentVolumeClaim) error {
	name := claim.Spec.VolumeName
	pv, err := vc.volumeNamed(ctx, name)
	if err != nil {
		return err
	}
	wasBound := claim.Status.Phase == v1.ClaimBound
	switch r := pvClaimRef(pv); {
	case pv == nil && wasBound:
		return vc.lose(ctx, claim, fmt.Sprintf("bound volume %s is gone; the data on it is lost", name))
	case pv == nil:
		return nil // waits for the volume it names
	case r != nil && r.UID == claim.UID:
		return vc.setClaimStatus(ctx, claim, v1.ClaimBound, pv)
	case r == nil || preboundTo(pv, claim):
		if !wasBound {
			_, className := vc.classOf(claim)
			if why := mismatch(claim, className, pv, nil); why != "" {
				vc.report(ctx, claim, v1.EventTypeWarning, ReasonVolumeMismatch, fmt.Sprintf("cannot bind to volume %s: %s", name, why))
				return nil
			}
		}
		return vc.bind(ctx, claim, pv)
	case wasBound || claim.Status.Phase == v1.ClaimLost:
		return vc.lose(ctx, claim, fmt.Sprintf("bound volume %s is now bound to claim %s/%s", name, r.Namespace, r.Name))
	}
	vc.report(ctx, claim, v1.EventTypeWarning, ReasonFailedBinding, fmt.Sprintf("volume %s is already bound to a different claim", name))
	return nil
}

func pvClaimRef(pv *v1.PersistentVolume) *v1.ObjectReference {
	if pv == nil {
		return nil
	}
	return pv.Spec.ClaimRef
}

// lose marks a claim Lost, once.
func (vc *Controller) lose(ctx context.Context, claim *v1.PersistentVolumeClaim, why string) error {
	if claim.Status.Phase == v1.ClaimLost {
		return nil
	}
	if err := vc.setClaimStatus(ctx, claim, v1.ClaimLost, nil); err != nil {
		return err
	}
	vc.report(ctx, claim, v1.EventTypeWarning, ReasonClaimLost, why)
	return nil
}

// volumeNamed is the named volume from the cache or, when the cache has
// none, from the API server: a volume made a moment ago may not be cached
// yet, and calling its claim Lost would be wrong. nil when there is none.
func (vc *Controller) volumeNamed(ctx context.Context, name string) (*v1.PersistentVolume, error) {
	if pv, ok := vc.volumes.Get(name); ok {
		return pv, nil
	}
	pv, err := vc.volumesAPI.Get(ctx, name)
	switch {
	case v1.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("%s: get volume %s: %w", component, name, err)
	}
	return pv, nil
}

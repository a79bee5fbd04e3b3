package volumebinding

import (
	"context"
	"fmt"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// syncVolume keeps a volume's phase and reclaims it once released.
func (vc *Controller) syncVolume(ctx context.Context, name string) error {
	pv, ok := vc.volumes.Get(name)
	if !ok || pv.DeletionTimestamp != nil {
		return nil
	}
	phase, err := vc.volumePhase(ctx, pv)
	if err != nil {
		return err
	}
	if pv.Status.Phase != phase {
		pv = v1.Clone(pv)
		pv.Status.Phase = phase
		pv.Status.Reason, pv.Status.Message = "", ""
		pv.Status.LastPhaseTransitionTime = v1.NewTime(vc.clock.Now())
		if pv, err = vc.volumesAPI.UpdateStatus(ctx, pv); err != nil {
			return retry(err, "volume %s: set phase %s", name, phase)
		}
	}
	if phase == v1.VolumeReleased {
		return vc.reclaim(ctx, pv)
	}
	return nil
}

// volumePhase is Available for a volume no claim holds (or one reserved
// for a claim by name only), Bound while its claim exists and has not
// been bound to another volume, and Released after.
func (vc *Controller) volumePhase(ctx context.Context, pv *v1.PersistentVolume) (v1.PersistentVolumePhase, error) {
	r := pv.Spec.ClaimRef
	if r == nil || r.UID == "" {
		return v1.VolumeAvailable, nil
	}
	claim, err := vc.claimOf(ctx, r)
	if err != nil {
		return "", err
	}
	if claim == nil || (claim.Spec.VolumeName != "" && claim.Spec.VolumeName != pv.Name) {
		return v1.VolumeReleased, nil
	}
	return v1.VolumeBound, nil
}

// claimOf is the claim r refers to, by UID, or nil when it is gone. The
// cache saying gone is checked against the API server: a released volume
// may be deleted, so a lagging cache must not release it.
func (vc *Controller) claimOf(ctx context.Context, r *v1.ObjectReference) (*v1.PersistentVolumeClaim, error) {
	if c, ok := vc.claims.Get(r.Namespace + "/" + r.Name); ok && c.UID == r.UID {
		return c, nil
	}
	c, err := vc.claimsAPI.Namespace(r.Namespace).Get(ctx, r.Name)
	switch {
	case v1.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("%s: get claim %s/%s: %w", component, r.Namespace, r.Name, err)
	case c.UID != r.UID:
		return nil, nil
	}
	return c, nil
}

// reclaim applies a released volume's reclaim policy. Retain keeps it;
// Delete of a kennel.io/local volume is the agent of its node's to do
// (it removes the data first); Delete of any other volume removes the
// object here, since no provisioner has data to remove (FlexVolume has no
// delete call).
func (vc *Controller) reclaim(ctx context.Context, pv *v1.PersistentVolume) error {
	if pv.Spec.PersistentVolumeReclaimPolicy != v1.PersistentVolumeReclaimDelete ||
		pv.Annotations[v1.AnnotationProvisionedBy] == v1.ProvisionerLocal {
		return nil
	}
	// Only the volume as released: not a namesake, nor one rebound since.
	uid, rv := pv.UID, pv.ResourceVersion
	_, err := vc.volumesAPI.Delete(ctx, pv.Name, client.DeleteOptions{Preconditions: &client.Preconditions{UID: &uid, ResourceVersion: &rv}})
	if err != nil {
		return retry(err, "volume %s: delete released volume", pv.Name)
	}
	vc.log.Info("deleted released volume", "volume", pv.Name, "claim", pv.Spec.ClaimRef.Namespace+"/"+pv.Spec.ClaimRef.Name)
	return nil
}

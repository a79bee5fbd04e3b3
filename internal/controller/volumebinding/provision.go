package volumebinding

import (
	"context"
	"fmt"
	"maps"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/volume"
)

// provisionerNone is the provisioner of classes whose volumes are all
// made in advance by an operator (Kubernetes' name).
const provisionerNone = "kubernetes.io/no-provisioner"

// provision has a volume made for a claim no volume serves, by its
// class's provisioner, or tells the claim why it waits.
func (vc *Controller) provision(ctx context.Context, claim *v1.PersistentVolumeClaim, class *v1.StorageClass, className string) error {
	node := claim.Annotations[v1.AnnotationSelectedNode]
	switch {
	case className == "":
		vc.report(ctx, claim, v1.EventTypeNormal, ReasonFailedBinding,
			"no persistent volumes available for this claim and no storage class is set")
		return nil
	case class == nil:
		// The class's creation brings the claim back.
		vc.report(ctx, claim, v1.EventTypeWarning, ReasonProvisioningFailed,
			fmt.Sprintf("storageclass.storage.k8s.io %q not found", className))
		return nil
	case waitsForConsumer(class) && node == "":
		vc.report(ctx, claim, v1.EventTypeNormal, ReasonWaitForFirstConsumer,
			"waiting for first consumer to be created before binding")
		return nil
	}
	switch class.Provisioner {
	case v1.ProvisionerLocal:
		if node != "" {
			return vc.provisionLocalOn(ctx, claim, class, node)
		}
		return vc.placeLocal(ctx, claim, class)
	case v1.ProvisionerFlex:
		return vc.provisionFlex(ctx, claim, class)
	case provisionerNone:
		// A volume made (or freed) by an operator brings the claim back.
		vc.report(ctx, claim, v1.EventTypeNormal, ReasonFailedBinding, fmt.Sprintf(
			"no persistent volumes available for this claim, and storage class %q makes none (provisioner %s)", className, provisionerNone))
		return nil
	}
	if err := vc.annotate(ctx, claim, map[string]string{v1.AnnotationStorageProvisioner: class.Provisioner}); err != nil {
		return err
	}
	vc.report(ctx, claim, v1.EventTypeNormal, ReasonExternalProvisioning, fmt.Sprintf(
		"waiting for a volume to be created by the external provisioner %q or by an administrator", class.Provisioner))
	return nil
}

// annotate sets annotations on a claim, if they are not set already.
func (vc *Controller) annotate(ctx context.Context, claim *v1.PersistentVolumeClaim, ann map[string]string) error {
	changed := false
	for k, v := range ann {
		changed = changed || claim.Annotations[k] != v
	}
	if !changed {
		return nil
	}
	claim = v1.Clone(claim)
	if claim.Annotations == nil {
		claim.Annotations = map[string]string{}
	}
	maps.Copy(claim.Annotations, ann)
	if _, err := vc.claimsAPI.Namespace(claim.Namespace).Update(ctx, claim); err != nil {
		return retry(err, "claim %s: annotate", v1.ObjectKey(claim))
	}
	return nil
}

// provisionFlex makes the claim's FlexVolume volume and binds it. The
// volume's name comes from the claim's UID, so a retry finds the volume an
// earlier attempt made instead of making a second one.
func (vc *Controller) provisionFlex(ctx context.Context, claim *v1.PersistentVolumeClaim, class *v1.StorageClass) error {
	q, err := volume.ClassQoS(class)
	if err != nil {
		// Classes are immutable: retrying cannot help.
		vc.report(ctx, claim, v1.EventTypeWarning, ReasonProvisioningFailed, err.Error())
		return nil
	}
	want := flexVolume(vc.claimRef(claim), claim, class, q)
	pv, err := vc.volumesAPI.Create(ctx, want)
	switch {
	case v1.IsAlreadyExists(err):
		if pv, err = vc.volumesAPI.Get(ctx, want.Name); err != nil {
			return retry(err, "claim %s: get volume %s", v1.ObjectKey(claim), want.Name)
		}
	case err != nil:
		vc.report(ctx, claim, v1.EventTypeWarning, ReasonProvisioningFailed,
			fmt.Sprintf("cannot create volume %s: %v", want.Name, err))
		return fmt.Errorf("%s: claim %s: create volume %s: %w", component, v1.ObjectKey(claim), want.Name, err)
	default:
		vc.report(ctx, claim, v1.EventTypeNormal, ReasonProvisioningSucceeded,
			fmt.Sprintf("provisioned volume %s with FlexVolume driver %s", pv.Name, want.Spec.FlexVolume.Driver))
	}
	if r := pv.Spec.ClaimRef; r == nil || r.UID != claim.UID {
		return fmt.Errorf("%s: claim %s: volume %s exists and is not this claim's", component, v1.ObjectKey(claim), pv.Name)
	}
	return vc.bind(ctx, claim, pv)
}

// kennelParam reports whether a class parameter is Kennel's, not an
// option for the driver.
func kennelParam(k string) bool {
	switch k {
	case v1.ParamReadIOPS, v1.ParamWriteIOPS, v1.ParamReadBandwidth, v1.ParamWriteBandwidth,
		v1.ParamFSType, v1.ParamFlexDriver, v1.ParamDevice:
		return true
	}
	return false
}

// flexVolume is the volume of a kennel.io/flexvolume class for a claim
// (ref is the claim's reference): the driver and fsType from the class,
// its other parameters as options, its QoS as annotations.
func flexVolume(ref *v1.ObjectReference, claim *v1.PersistentVolumeClaim, class *v1.StorageClass, q volume.QoS) *v1.PersistentVolume {
	opts := map[string]string{}
	for k, v := range class.Parameters {
		if !kennelParam(k) {
			opts[k] = v
		}
	}
	if len(opts) == 0 {
		opts = nil
	}
	ann := map[string]string{v1.AnnotationProvisionedBy: v1.ProvisionerFlex}
	q.Annotate(ann)
	reclaim := v1.PersistentVolumeReclaimDelete
	if class.ReclaimPolicy != nil {
		reclaim = *class.ReclaimPolicy
	}
	return &v1.PersistentVolume{
		ObjectMeta: v1.ObjectMeta{Name: "pvc-" + claim.UID, Annotations: ann},
		Spec: v1.PersistentVolumeSpec{
			Capacity: v1.ResourceList{v1.ResourceStorage: claim.Spec.Resources.Requests.Storage().DeepCopy()},
			PersistentVolumeSource: v1.PersistentVolumeSource{FlexVolume: &v1.FlexPersistentVolumeSource{
				Driver: class.Parameters[v1.ParamFlexDriver], FSType: class.Parameters[v1.ParamFSType], Options: opts}},
			AccessModes:                   append([]v1.PersistentVolumeAccessMode(nil), claim.Spec.AccessModes...),
			ClaimRef:                      ref,
			PersistentVolumeReclaimPolicy: reclaim,
			StorageClassName:              class.Name,
			MountOptions:                  append([]string(nil), class.MountOptions...),
			VolumeMode:                    claim.Spec.VolumeMode,
		},
	}
}

package volumebinding

import (
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// TestProtection keeps a deleted claim that a pod uses until the pod is
// gone, and lets go at once of one that only a finished pod uses.
//
// The controller runs one worker, so keys are synced in the order their
// changes were seen: once a claim deleted after the protected one is
// gone, the protected one's deletion has been synced.
func TestProtection(t *testing.T) {
	h := start(t, 1)
	for _, pv := range []string{"vol-used", "vol-done", "vol-free"} {
		h.createVolume(volumeSpec(pv, "prot", "1Gi"))
	}
	for _, c := range []string{"used", "done", "free"} {
		h.createClaim(claimSpec(c, ptr("prot"), "1Gi"))
		h.waitBound(c)
	}
	if _, err := h.pods.Create(h.ctx, podUsing("runner", "used")); err != nil {
		t.Fatal(err)
	}
	finished, err := h.pods.Create(h.ctx, podUsing("finished", "done"))
	if err != nil {
		t.Fatal(err)
	}
	finished.Status.Phase = v1.PodSucceeded
	if _, err := h.pods.UpdateStatus(h.ctx, finished); err != nil {
		t.Fatal(err)
	}

	h.deleteClaim("used")
	h.waitClaim("used", "being deleted", func(c *v1.PersistentVolumeClaim) bool { return c.DeletionTimestamp != nil })
	h.deleteClaim("done")
	h.waitGone("claim done, used by a finished pod only", func() bool { _, ok := h.claim("done"); return ok })
	h.deleteClaim("free")
	h.waitGone("claim free", func() bool { _, ok := h.claim("free"); return ok })

	c, ok := h.claim("used")
	if !ok || !c.HasFinalizer(v1.FinalizerPVCProtection) {
		t.Fatalf("claim used: exists %v, finalizers %v; want it kept by %s while its pod runs", ok, c, v1.FinalizerPVCProtection)
	}
	if _, err := h.pods.Delete(h.ctx, "runner", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	h.waitGone("claim used, after its pod", func() bool { _, ok := h.claim("used"); return ok })
}

// TestReclaim applies the reclaim policy of a volume whose claim is
// deleted: Delete removes a FlexVolume (or operator-made) volume's object
// here; Retain keeps the volume, Released; a kennel.io/local volume is
// Released and left for its node's agent, which removes its data first.
//
// One worker: once a later claim's volume is deleted, the syncs that
// released the earlier volumes are over, so they are kept for good.
func TestReclaim(t *testing.T) {
	h := start(t, 1)
	h.createClass(classSpec("flex", v1.ProvisionerFlex, v1.VolumeBindingImmediate, map[string]string{v1.ParamFlexDriver: "kennel.io/loop"}))
	kept := volumeSpec("kept", "retain", "1Gi")
	kept.Spec.PersistentVolumeReclaimPolicy = v1.PersistentVolumeReclaimRetain
	h.createVolume(kept)
	h.createClaim(claimSpec("retained", ptr("retain"), "1Gi"))
	h.waitBound("retained")

	local := h.createClaim(claimSpec("local", ptr("local"), "1Gi"))
	h.createVolume(localVolume("pvc-"+local.UID, local, "node-1"))
	h.waitBound("local")

	flex := h.createClaim(claimSpec("flexed", ptr("flex"), "1Gi"))
	h.waitBound("flexed")

	h.deleteClaim("retained")
	h.waitVolume("kept", "Released", func(pv *v1.PersistentVolume) bool { return pv.Status.Phase == v1.VolumeReleased })
	h.deleteClaim("local")
	h.waitVolume("pvc-"+local.UID, "Released", func(pv *v1.PersistentVolume) bool { return pv.Status.Phase == v1.VolumeReleased })
	h.deleteClaim("flexed")
	h.waitGone("volume of claim flexed", func() bool { _, ok := h.volume("pvc-" + flex.UID); return ok })

	for _, name := range []string{"kept", "pvc-" + local.UID} {
		pv, ok := h.volume(name)
		if !ok || pv.Status.Phase != v1.VolumeReleased {
			t.Errorf("volume %s: exists %v, %+v; want it kept, Released", name, ok, pv)
		}
	}
}

// localVolume is the volume node's agent makes for claim.
func localVolume(name string, claim *v1.PersistentVolumeClaim, node string) *v1.PersistentVolume {
	pv := volumeSpec(name, *claim.Spec.StorageClassName, claim.Spec.Resources.Requests.Storage().String())
	pv.Annotations = map[string]string{v1.AnnotationProvisionedBy: v1.ProvisionerLocal,
		v1.AnnotationVolumeNode: node, v1.AnnotationVolumeDevice: "data0"}
	pv.Spec.HostPath = nil
	pv.Spec.Local = &v1.LocalVolumeSource{Path: "/pools/data0/kennel-volumes/" + name}
	pv.Spec.NodeAffinity = &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
		MatchExpressions: []v1.NodeSelectorRequirement{{Key: v1.LabelHostname, Operator: v1.NodeSelectorOpIn, Values: []string{node}}}}}}}
	pv.Spec.ClaimRef = &v1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: claim.Namespace,
		Name: claim.Name, UID: claim.UID}
	pv.Spec.PersistentVolumeReclaimPolicy = v1.PersistentVolumeReclaimDelete
	return pv
}

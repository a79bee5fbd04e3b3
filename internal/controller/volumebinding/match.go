package volumebinding

import (
	"context"
	"fmt"
	"slices"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// classOf is the class a claim is of, and its name. A claim that names
// none (nil or "") has no class and binds only to volumes of no class:
// the API server gives a claim the default class when it is created, so
// a claim without one was made before any default existed, and keeps
// none, as in Kubernetes. The class is nil when the name is "" or names
// no class in the cache.
func (vc *Controller) classOf(claim *v1.PersistentVolumeClaim) (*v1.StorageClass, string) {
	n := claim.Spec.StorageClassName
	if n == nil || *n == "" {
		return nil, ""
	}
	c, _ := vc.classes.Get(*n)
	return c, *n
}

// liveClassOf is classOf, with a class the cache does not hold (yet) read
// from the API server: a claim created just after its class must not be
// judged as one of an unknown class — it would bind at once to any volume
// of that class name, on any node, before its pod chose one. A class that
// does not exist is nil, as in classOf (Kubernetes binds such claims to
// volumes that name the class).
func (vc *Controller) liveClassOf(ctx context.Context, claim *v1.PersistentVolumeClaim) (*v1.StorageClass, string, error) {
	class, name := vc.classOf(claim)
	if class != nil || name == "" {
		return class, name, nil
	}
	class, err := vc.classesAPI.Get(ctx, name)
	switch {
	case v1.IsNotFound(err):
		return nil, name, nil
	case err != nil:
		return nil, name, retry(err, "claim %s: read storage class %s", v1.ObjectKey(claim), name)
	}
	return class, name, nil
}

// findVolume is the volume to bind an unbound claim of class className
// to: of the volumes free for it that match, one pre-bound to the claim by
// name, else the smallest (then the first by name). node, when set, is the
// node the claim's pod goes to, which the volume's node affinity must
// admit.
func (vc *Controller) findVolume(claim *v1.PersistentVolumeClaim, className, node string) *v1.PersistentVolume {
	var n *v1.Node
	if node != "" {
		var ok bool
		if n, ok = vc.nodes.Get(node); !ok {
			// Only a name: matchFields on metadata.name still work.
			n = &v1.Node{ObjectMeta: v1.ObjectMeta{Name: node}}
		}
	}
	return bestVolume(claim, className, n, vc.volumes.List())
}

// bestVolume is findVolume over pvs, which are in name order.
func bestVolume(claim *v1.PersistentVolumeClaim, className string, node *v1.Node, pvs []*v1.PersistentVolume) *v1.PersistentVolume {
	var best *v1.PersistentVolume
	for _, pv := range pvs {
		prebound := preboundTo(pv, claim)
		if pv.DeletionTimestamp != nil || (pv.Spec.ClaimRef != nil && !prebound) {
			continue
		}
		if mismatch(claim, className, pv, node) != "" {
			continue
		}
		if prebound {
			return pv
		}
		if best == nil || pv.Spec.Capacity.Storage().Cmp(*best.Spec.Capacity.Storage()) < 0 {
			best = pv
		}
	}
	return best
}

// preboundTo reports whether an operator reserved pv for claim by naming
// it in the volume's claimRef, without a UID.
func preboundTo(pv *v1.PersistentVolume, claim *v1.PersistentVolumeClaim) bool {
	r := pv.Spec.ClaimRef
	return r != nil && r.UID == "" && r.Namespace == claim.Namespace && r.Name == claim.Name
}

// mismatch says why pv cannot serve claim, of class className, or "" when
// it can. node, when not nil, is where the claim's pod goes.
func mismatch(claim *v1.PersistentVolumeClaim, className string, pv *v1.PersistentVolume, node *v1.Node) string {
	if pv.Spec.StorageClassName != className {
		return fmt.Sprintf("storage class %q is not the claim's %q", pv.Spec.StorageClassName, className)
	}
	want, have := claim.Spec.Resources.Requests.Storage(), pv.Spec.Capacity.Storage()
	if have.Cmp(*want) < 0 {
		return fmt.Sprintf("capacity %s is less than the %s requested", have, want)
	}
	for _, m := range claim.Spec.AccessModes {
		if !slices.Contains(pv.Spec.AccessModes, m) {
			return fmt.Sprintf("access modes %v do not include %s", pv.Spec.AccessModes, m)
		}
	}
	if claim.Spec.Selector != nil && !claim.Spec.Selector.Matches(pv.Labels) {
		return "labels do not match the claim's selector"
	}
	if a, b := volumeMode(claim.Spec.VolumeMode), volumeMode(pv.Spec.VolumeMode); a != b {
		return fmt.Sprintf("volume mode %s is not the claim's %s", b, a)
	}
	if node != nil && !pv.Spec.NodeAffinity.Admits(node) {
		return fmt.Sprintf("node affinity does not admit node %s", node.Name)
	}
	return ""
}

func volumeMode(m *v1.PersistentVolumeMode) v1.PersistentVolumeMode {
	if m == nil {
		return v1.PersistentVolumeFilesystem
	}
	return *m
}

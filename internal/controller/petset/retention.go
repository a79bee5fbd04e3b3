package petset

import (
	v1 "github.com/kennel-dev/kennel/api/v1"
)

// The claim retention policy is carried out by owner references, as in
// Kubernetes, so that the garbage collector does the deleting:
//
//	whenScaled  whenDeleted  owners of a pet's claims
//	Retain      Retain       none
//	Retain      Delete       the set
//	Delete      Retain       the pod, once the pet is scaled down
//	Delete      Delete       the set while the pet is in range, the pod once
//	                         it is scaled down
//
// A pet replaced after a failure stays in range, so its claims are never
// owned by its pod and survive the replacement.

const (
	retain = v1.RetainPersistentVolumeClaimRetentionPolicyType
	del    = v1.DeletePersistentVolumeClaimRetentionPolicyType
)

// matchesRef reports whether ref names the object name of kind k,
// whatever its UID.
func matchesRef(ref *v1.OwnerReference, name string, k *v1.Kind) bool {
	return ref.Kind == k.Kind && ref.APIVersion == k.APIVersion() && ref.Name == name
}

// hasOwner reports whether the claim has an owner reference to uid.
func hasOwner(claim *v1.PersistentVolumeClaim, uid string) bool {
	for _, r := range claim.OwnerReferences {
		if r.UID == uid {
			return true
		}
	}
	return false
}

// hasStaleOwner reports whether the claim's reference to the object name
// of kind k names another UID: an earlier object of that name, presumably
// deleted, whose garbage collection will delete the claim.
func hasStaleOwner(claim *v1.PersistentVolumeClaim, name, uid string, k *v1.Kind) bool {
	for i := range claim.OwnerReferences {
		if r := &claim.OwnerReferences[i]; matchesRef(r, name, k) {
			return r.UID != uid
		}
	}
	return false
}

// hasUnexpectedController reports whether, under a Delete policy,
// something other than the set or the pod controls the claim (or a stale
// set or pod does): the policy then leaves the claim alone.
func hasUnexpectedController(claim *v1.PersistentVolumeClaim, set *v1.PetSet, pod *v1.Pod, k kinds) bool {
	if wd, ws := set.ClaimRetention(); wd == retain && ws == retain {
		return false
	}
	for i := range claim.OwnerReferences {
		r := &claim.OwnerReferences[i]
		switch {
		case matchesRef(r, set.Name, k.set):
			if r.UID != set.UID {
				return true
			}
		case matchesRef(r, pod.Name, k.pod):
			if r.UID != pod.UID {
				return true
			}
		case r.Controller != nil && *r.Controller:
			return true
		}
	}
	return false
}

// hasNonControllerOwner reports whether the set or pod owns the claim
// without controlling it.
func hasNonControllerOwner(claim *v1.PersistentVolumeClaim, set *v1.PetSet, pod *v1.Pod) bool {
	for _, r := range claim.OwnerReferences {
		if (r.UID == set.UID || r.UID == pod.UID) && (r.Controller == nil || !*r.Controller) {
			return true
		}
	}
	return false
}

// claimOwnersUpToDate reports whether the claim of the pet pod (of
// ordinal) has the owners the set's retention policy asks for. A claim
// with stale owners, or with another controller, is left as it is.
func claimOwnersUpToDate(claim *v1.PersistentVolumeClaim, set *v1.PetSet, pod *v1.Pod, ordinal int32, k kinds) bool {
	if hasStaleOwner(claim, set.Name, set.UID, k.set) || hasStaleOwner(claim, pod.Name, pod.UID, k.pod) {
		return true
	}
	if hasUnexpectedController(claim, set, pod, k) {
		return !hasOwner(claim, set.UID) && !hasOwner(claim, pod.UID)
	}
	if hasNonControllerOwner(claim, set, pod) {
		return false
	}
	wantSet, wantPod := wantedOwners(set, ordinal)
	return hasOwner(claim, set.UID) == wantSet && hasOwner(claim, pod.UID) == wantPod
}

// wantedOwners says whether the set and the pod of ordinal should own the
// pet's claims.
func wantedOwners(set *v1.PetSet, ordinal int32) (bySet, byPod bool) {
	whenDeleted, whenScaled := set.ClaimRetention()
	scaledDown := !set.KeepsOrdinal(ordinal)
	switch {
	case whenScaled == del && scaledDown:
		return false, true
	case whenDeleted == del:
		return true, false
	}
	return false, false
}

// setClaimOwners rewrites the claim's references to the set and pod as
// the retention policy asks, keeping every other reference.
func setClaimOwners(claim *v1.PersistentVolumeClaim, set *v1.PetSet, pod *v1.Pod, ordinal int32, k kinds) {
	unexpected := hasUnexpectedController(claim, set, pod, k)
	var refs []v1.OwnerReference
	for i := range claim.OwnerReferences {
		r := &claim.OwnerReferences[i]
		if !matchesRef(r, set.Name, k.set) && !matchesRef(r, pod.Name, k.pod) {
			refs = append(refs, *r)
		}
	}
	if !unexpected {
		bySet, byPod := wantedOwners(set, ordinal)
		if bySet {
			refs = append(refs, *v1.NewControllerRef(set, k.set))
		}
		if byPod {
			refs = append(refs, *v1.NewControllerRef(pod, k.pod))
		}
	}
	claim.OwnerReferences = refs
}

// claimIsStale reports whether the claim still belongs to an earlier pod
// of the pet's name under whenScaled=Delete: it is about to be garbage
// collected, and the new pet waits for that rather than reuse it.
func claimIsStale(claim *v1.PersistentVolumeClaim, set *v1.PetSet, pod *v1.Pod, k kinds) bool {
	_, whenScaled := set.ClaimRetention()
	return whenScaled == del && hasStaleOwner(claim, pod.Name, pod.UID, k.pod)
}

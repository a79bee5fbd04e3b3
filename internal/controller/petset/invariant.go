package petset

import (
	"fmt"
	"strconv"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// atMostOnePerIdentity checks the rule this controller exists to keep: no
// two pod objects ever hold one pet identity (namespace, set, ordinal),
// even when one of them is terminating, since a terminating pod's
// processes may still run and write the pet's data. It returns an error
// naming the first two pods found sharing an identity.
//
// A pod holds an identity when it is a pet (a PetSet controls it, or it
// carries the pod-name label): by its name "<set>-<ordinal>", and by its
// controller and pod-index label. The same object listed twice (one UID)
// is not a violation.
func atMostOnePerIdentity(pods []*v1.Pod) error {
	seen := map[string]*v1.Pod{}
	for _, p := range pods {
		for _, id := range identities(p) {
			q, ok := seen[id]
			if ok && q != p && (q.UID == "" || q.UID != p.UID) {
				return fmt.Errorf("petset: identity %s is held by two pods: %s (uid %s%s) and %s (uid %s%s)",
					id, q.Name, q.UID, terminatingNote(q), p.Name, p.UID, terminatingNote(p))
			}
			seen[id] = p
		}
	}
	return nil
}

// identities are the pet identities a pod holds, as "namespace/set/ordinal".
func identities(p *v1.Pod) []string {
	ref := v1.GetControllerOf(p)
	pet := ref != nil && (ref.Kind == "PetSet" || ref.Kind == "StatefulSet")
	if !pet && p.Labels[v1.PetSetPodNameLabel] == "" {
		return nil
	}
	var ids []string
	if parent, ord, ok := v1.ParsePetName(p.Name); ok {
		ids = append(ids, identity(p.Namespace, parent, ord))
	}
	if pet {
		if ord, err := strconv.ParseInt(p.Labels[v1.PodIndexLabel], 10, 32); err == nil {
			if id := identity(p.Namespace, ref.Name, int32(ord)); len(ids) == 0 || ids[0] != id {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

func identity(ns, set string, ordinal int32) string {
	return ns + "/" + set + "/" + strconv.Itoa(int(ordinal))
}

func terminatingNote(p *v1.Pod) string {
	if isTerminating(p) {
		return ", terminating"
	}
	return ""
}

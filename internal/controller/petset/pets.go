package petset

import (
	"strconv"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// kinds are the kinds the controller names in owner references: its own
// (PetSet, kennel.io/v1) and the pod's.
type kinds struct {
	set *v1.Kind
	pod *v1.Kind
}

// endOrdinal is one past the set's last ordinal.
func endOrdinal(set *v1.PetSet) int32 {
	return set.StartOrdinal() + set.DesiredReplicas()
}

// newPod builds the pet of ordinal from set's template (the template of
// the revision named revision): the template's metadata and spec, the
// pet's name, hostname and subdomain, the identity labels, the revision
// label, a controller reference to the set, and one volume per claim
// template in place of a pod volume of the same name.
func newPod(set *v1.PetSet, revision string, ordinal int32, k kinds) *v1.Pod {
	t := v1.Clone(set).Spec.Template
	name := set.PetName(ordinal)
	pod := &v1.Pod{
		ObjectMeta: v1.ObjectMeta{
			Name:            name,
			Namespace:       set.Namespace,
			Labels:          make(map[string]string, len(t.Labels)+3),
			Annotations:     t.Annotations,
			Finalizers:      t.Finalizers,
			OwnerReferences: []v1.OwnerReference{*v1.NewControllerRef(set, k.set)},
		},
		Spec: t.Spec,
	}
	for key, val := range t.Labels {
		pod.Labels[key] = val
	}
	pod.Labels[v1.ControllerRevisionHashLabel] = revision
	pod.Spec.Hostname = name
	pod.Spec.Subdomain = set.Spec.ServiceName
	setIdentity(pod, ordinal)
	setStorage(set, pod, ordinal)
	return pod
}

// identityMatches reports whether the pod carries its pet's identity
// labels.
func identityMatches(pod *v1.Pod, ordinal int32) bool {
	return pod.Labels[v1.PetSetPodNameLabel] == pod.Name &&
		pod.Labels[v1.PodIndexLabel] == strconv.Itoa(int(ordinal))
}

// setIdentity sets the pet's identity labels (on an adopted pod, say).
func setIdentity(pod *v1.Pod, ordinal int32) {
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[v1.PetSetPodNameLabel] = pod.Name
	pod.Labels[v1.PodIndexLabel] = strconv.Itoa(int(ordinal))
}

// storageMatches reports whether every claim template is mounted from the
// pet's own claim.
func storageMatches(set *v1.PetSet, pod *v1.Pod, ordinal int32) bool {
	vols := make(map[string]v1.Volume, len(pod.Spec.Volumes))
	for _, v := range pod.Spec.Volumes {
		vols[v.Name] = v
	}
	for _, t := range set.Spec.VolumeClaimTemplates {
		v, ok := vols[t.Name]
		if !ok || v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != set.ClaimName(t.Name, ordinal) {
			return false
		}
	}
	return true
}

// setStorage gives the pod one volume per claim template, named after the
// template and bound to the pet's claim, in template order, followed by
// the pod's other volumes; a pod volume named like a template is replaced.
func setStorage(set *v1.PetSet, pod *v1.Pod, ordinal int32) {
	templates := set.Spec.VolumeClaimTemplates
	vols := make([]v1.Volume, 0, len(templates)+len(pod.Spec.Volumes))
	replaced := make(map[string]bool, len(templates))
	for _, t := range templates {
		replaced[t.Name] = true
		vols = append(vols, v1.Volume{Name: t.Name, VolumeSource: v1.VolumeSource{
			PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: set.ClaimName(t.Name, ordinal)},
		}})
	}
	for _, v := range pod.Spec.Volumes {
		if !replaced[v.Name] {
			vols = append(vols, v)
		}
	}
	pod.Spec.Volumes = vols
}

// newClaims builds the claims of the pet of ordinal, one per template, in
// template order: the template with the pet's claim name, the template's
// labels plus the selector's matchLabels (as Kubernetes does, so that the
// claims of a set can be listed by its selector), and the owners the
// retention policy asks of an in-range pet (the set when whenDeleted is
// Delete).
func newClaims(set *v1.PetSet, ordinal int32, k kinds) []*v1.PersistentVolumeClaim {
	templates := v1.Clone(set).Spec.VolumeClaimTemplates
	out := make([]*v1.PersistentVolumeClaim, 0, len(templates))
	for i := range templates {
		t := &templates[i]
		labels := make(map[string]string, len(t.Labels))
		for key, val := range t.Labels {
			labels[key] = val
		}
		if set.Spec.Selector != nil {
			for key, val := range set.Spec.Selector.MatchLabels {
				labels[key] = val
			}
		}
		c := &v1.PersistentVolumeClaim{
			ObjectMeta: v1.ObjectMeta{
				Name:        set.ClaimName(t.Name, ordinal),
				Namespace:   set.Namespace,
				Labels:      labels,
				Annotations: t.Annotations,
			},
			Spec: t.Spec,
		}
		if bySet, _ := wantedOwners(set, ordinal); bySet {
			c.OwnerReferences = []v1.OwnerReference{*v1.NewControllerRef(set, k.set)}
		}
		out = append(out, c)
	}
	return out
}

// isTerminating reports whether the pod is being deleted. A terminating pod
// still holds its identity: its processes may run until it is gone.
func isTerminating(pod *v1.Pod) bool { return pod.DeletionTimestamp != nil }

// isRunningAndReady reports whether the pod runs and is Ready.
func isRunningAndReady(pod *v1.Pod) bool {
	return pod.Status.Phase == v1.PodRunning && v1.IsPodReady(pod)
}

// isHealthy reports whether the pod is Running, Ready for minReadySeconds
// and not being deleted: it counts as available to a rolling update.
func isHealthy(pod *v1.Pod, minReadySeconds int32, now time.Time) bool {
	return pod != nil && !isTerminating(pod) && pod.Status.Phase == v1.PodRunning &&
		v1.IsPodAvailable(pod, minReadySeconds, now)
}

// revisionOf is the name of the revision a pod was made from.
func revisionOf(pod *v1.Pod) string { return pod.Labels[v1.ControllerRevisionHashLabel] }

// created is when an object was created (zero if unknown).
func created(m *v1.ObjectMeta) time.Time {
	if m.CreationTimestamp == nil {
		return time.Time{}
	}
	return m.CreationTimestamp.Time
}

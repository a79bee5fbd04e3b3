package v1

import (
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// PetSet runs replicated stateful pods with stable identities: ordinal
// names, stable DNS names and storage that follows the identity. It has the
// schema of Kubernetes' StatefulSet, which is accepted as an alias kind.
type PetSet struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       PetSetSpec   `json:"spec,omitempty"`
	Status     PetSetStatus `json:"status,omitempty"`
}

// PodManagementPolicyType says whether pets start and stop in order.
type PodManagementPolicyType string

// The pod management policies.
const (
	OrderedReadyPodManagement PodManagementPolicyType = "OrderedReady"
	ParallelPodManagement     PodManagementPolicyType = "Parallel"
)

// PetSetUpdateStrategyType says how template changes reach pets.
type PetSetUpdateStrategyType string

// The update strategies.
const (
	RollingUpdatePetSetStrategyType PetSetUpdateStrategyType = "RollingUpdate"
	OnDeletePetSetStrategyType      PetSetUpdateStrategyType = "OnDelete"
)

// PersistentVolumeClaimRetentionPolicyType is Retain or Delete.
type PersistentVolumeClaimRetentionPolicyType string

// The claim retention policies.
const (
	RetainPersistentVolumeClaimRetentionPolicyType PersistentVolumeClaimRetentionPolicyType = "Retain"
	DeletePersistentVolumeClaimRetentionPolicyType PersistentVolumeClaimRetentionPolicyType = "Delete"
)

// Labels the PetSet controller puts on its pods.
const (
	PetSetPodNameLabel          = "statefulset.kubernetes.io/pod-name"
	PodIndexLabel               = "apps.kubernetes.io/pod-index"
	ControllerRevisionHashLabel = "controller-revision-hash"
)

// PetSetSpec is the desired state of a PetSet.
type PetSetSpec struct {
	Replicas                             *int32                                      `json:"replicas,omitempty"`
	Selector                             *LabelSelector                              `json:"selector"`
	Template                             PodTemplateSpec                             `json:"template"`
	VolumeClaimTemplates                 []PersistentVolumeClaim                     `json:"volumeClaimTemplates,omitempty"`
	ServiceName                          string                                      `json:"serviceName,omitempty"`
	PodManagementPolicy                  PodManagementPolicyType                     `json:"podManagementPolicy,omitempty"`
	UpdateStrategy                       PetSetUpdateStrategy                        `json:"updateStrategy,omitempty"`
	RevisionHistoryLimit                 *int32                                      `json:"revisionHistoryLimit,omitempty"`
	MinReadySeconds                      int32                                       `json:"minReadySeconds,omitempty"`
	PersistentVolumeClaimRetentionPolicy *PetSetPersistentVolumeClaimRetentionPolicy `json:"persistentVolumeClaimRetentionPolicy,omitempty"`
	Ordinals                             *PetSetOrdinals                             `json:"ordinals,omitempty"`
}

// PetSetUpdateStrategy says how template changes reach pets.
type PetSetUpdateStrategy struct {
	Type          PetSetUpdateStrategyType     `json:"type,omitempty"`
	RollingUpdate *RollingUpdatePetSetStrategy `json:"rollingUpdate,omitempty"`
}

// RollingUpdatePetSetStrategy tunes a rolling update: only ordinals >=
// partition are updated, at most maxUnavailable at a time.
type RollingUpdatePetSetStrategy struct {
	Partition      *int32              `json:"partition,omitempty"`
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`
}

// PetSetPersistentVolumeClaimRetentionPolicy says whether claims are deleted
// with the set and on scale-down.
type PetSetPersistentVolumeClaimRetentionPolicy struct {
	WhenDeleted PersistentVolumeClaimRetentionPolicyType `json:"whenDeleted,omitempty"`
	WhenScaled  PersistentVolumeClaimRetentionPolicyType `json:"whenScaled,omitempty"`
}

// PetSetOrdinals sets the first ordinal.
type PetSetOrdinals struct {
	Start int32 `json:"start"`
}

// PetSetStatus is the observed state of a PetSet.
type PetSetStatus struct {
	ObservedGeneration int64             `json:"observedGeneration,omitempty"`
	Replicas           int32             `json:"replicas"`
	ReadyReplicas      int32             `json:"readyReplicas,omitempty"`
	CurrentReplicas    int32             `json:"currentReplicas,omitempty"`
	UpdatedReplicas    int32             `json:"updatedReplicas,omitempty"`
	AvailableReplicas  int32             `json:"availableReplicas"`
	CurrentRevision    string            `json:"currentRevision,omitempty"`
	UpdateRevision     string            `json:"updateRevision,omitempty"`
	CollisionCount     *int32            `json:"collisionCount,omitempty"`
	Conditions         []PetSetCondition `json:"conditions,omitempty"`
}

// PetSetCondition is one condition of a PetSet.
type PetSetCondition struct {
	Type               string          `json:"type"`
	Status             ConditionStatus `json:"status"`
	LastTransitionTime *Time           `json:"lastTransitionTime,omitempty"`
	Reason             string          `json:"reason,omitempty"`
	Message            string          `json:"message,omitempty"`
}

// StartOrdinal is the first ordinal of the set (spec.ordinals.start, or 0).
func (s *PetSet) StartOrdinal() int32 {
	if s.Spec.Ordinals == nil {
		return 0
	}
	return s.Spec.Ordinals.Start
}

// DesiredReplicas is spec.replicas, or 1 when unset.
func (s *PetSet) DesiredReplicas() int32 {
	if s.Spec.Replicas == nil {
		return 1
	}
	return *s.Spec.Replicas
}

// KeepsOrdinal reports whether the set runs the pet of ordinal: start to
// start+replicas-1.
func (s *PetSet) KeepsOrdinal(ordinal int32) bool {
	return ordinal >= s.StartOrdinal() && ordinal < s.StartOrdinal()+s.DesiredReplicas()
}

// PetName is the name of the pet of ordinal: "<set>-<ordinal>".
func (s *PetSet) PetName(ordinal int32) string {
	return s.Name + "-" + strconv.Itoa(int(ordinal))
}

// ParsePetName splits a pet's name "<set>-<ordinal>". ok is false unless
// the name ends in "-" and an ordinal written without leading zeros, so
// that a name maps to one ordinal and back.
func ParsePetName(name string) (set string, ordinal int32, ok bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 || i == len(name)-1 {
		return "", 0, false
	}
	digits := name[i+1:]
	n, err := strconv.ParseInt(digits, 10, 32)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != digits {
		return "", 0, false
	}
	return name[:i], int32(n), true
}

// OrdinalOf is pod's ordinal in the set; ok is false when the pod is not
// one of the set's pets by name and namespace ("<set>-<ordinal>"). Whether
// the set controls the pod is the caller's to check.
func (s *PetSet) OrdinalOf(pod *Pod) (int32, bool) {
	set, ord, ok := ParsePetName(pod.Name)
	if !ok || set != s.Name || pod.Namespace != s.Namespace {
		return 0, false
	}
	return ord, true
}

// ClaimName is the claim of template tmpl for the pet of ordinal:
// "<template>-<set>-<ordinal>".
func (s *PetSet) ClaimName(tmpl string, ordinal int32) string {
	return tmpl + "-" + s.PetName(ordinal)
}

// ClaimRetention is the set's claim retention policy, Retain where unset
// or unknown.
func (s *PetSet) ClaimRetention() (whenDeleted, whenScaled PersistentVolumeClaimRetentionPolicyType) {
	whenDeleted, whenScaled = RetainPersistentVolumeClaimRetentionPolicyType, RetainPersistentVolumeClaimRetentionPolicyType
	if p := s.Spec.PersistentVolumeClaimRetentionPolicy; p != nil {
		if p.WhenDeleted == DeletePersistentVolumeClaimRetentionPolicyType {
			whenDeleted = p.WhenDeleted
		}
		if p.WhenScaled == DeletePersistentVolumeClaimRetentionPolicyType {
			whenScaled = p.WhenScaled
		}
	}
	return whenDeleted, whenScaled
}

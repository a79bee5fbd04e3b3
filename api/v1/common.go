package v1

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// ConditionStatus is the status of a condition: True, False or Unknown.
type ConditionStatus string

// The values a condition's status takes.
const (
	ConditionTrue    ConditionStatus = "True"
	ConditionFalse   ConditionStatus = "False"
	ConditionUnknown ConditionStatus = "Unknown"
)

// Condition is the generic condition of metav1.Condition, used by kinds that
// have no condition type of their own (Service, Cluster, Placement).
type Condition struct {
	Type               string          `json:"type"`
	Status             ConditionStatus `json:"status"`
	ObservedGeneration int64           `json:"observedGeneration,omitempty"`
	LastTransitionTime *Time           `json:"lastTransitionTime,omitempty"`
	Reason             string          `json:"reason,omitempty"`
	Message            string          `json:"message,omitempty"`
}

// ObjectReference points at any object, possibly in another namespace.
type ObjectReference struct {
	Kind            string `json:"kind,omitempty"`
	Namespace       string `json:"namespace,omitempty"`
	Name            string `json:"name,omitempty"`
	UID             string `json:"uid,omitempty"`
	APIVersion      string `json:"apiVersion,omitempty"`
	ResourceVersion string `json:"resourceVersion,omitempty"`
	FieldPath       string `json:"fieldPath,omitempty"`
}

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	Name string `json:"name,omitempty"`
}

// SecretReference names a secret in any namespace.
type SecretReference struct {
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
}

// ResourceList maps a resource name ("cpu", "memory", "storage",
// "kennel.io/storage-iops", …) to a quantity.
type ResourceList map[string]resource.Quantity

// Well-known resource names. The kennel.io ones are Kennel's node-local
// resources (SPECS.md §6): a node advertises them in status.capacity and
// status.allocatable, a container requests them in resources.requests, and a
// claim or volume states its reservation in resources.requests or capacity.
const (
	ResourceCPU              = "cpu"
	ResourceMemory           = "memory"
	ResourcePods             = "pods"
	ResourceStorage          = "storage"
	ResourceEphemeralStorage = "ephemeral-storage"
	// ResourceStorageIOPS is I/O operations per second on one storage device.
	ResourceStorageIOPS = "kennel.io/storage-iops"
	// ResourceStorageBandwidth is bytes per second on one storage device.
	ResourceStorageBandwidth = "kennel.io/storage-bandwidth"
	// ResourceNetworkBandwidth is bits per second on the node's interface.
	ResourceNetworkBandwidth = "kennel.io/network-bandwidth"
)

// Well-known labels.
const (
	LabelHostname       = "kubernetes.io/hostname"
	LabelTopologyZone   = "topology.kubernetes.io/zone"
	LabelTopologyRegion = "topology.kubernetes.io/region"
	LabelOS             = "kubernetes.io/os"
	LabelArch           = "kubernetes.io/arch"
)

// LabelSelectorOperator relates a label key to a set of values.
type LabelSelectorOperator string

// The operators of a label selector requirement.
const (
	LabelSelectorOpIn           LabelSelectorOperator = "In"
	LabelSelectorOpNotIn        LabelSelectorOperator = "NotIn"
	LabelSelectorOpExists       LabelSelectorOperator = "Exists"
	LabelSelectorOpDoesNotExist LabelSelectorOperator = "DoesNotExist"
)

// LabelSelector selects objects by label. The requirements are ANDed; an
// empty selector selects everything and a nil one nothing.
type LabelSelector struct {
	MatchLabels      map[string]string          `json:"matchLabels,omitempty"`
	MatchExpressions []LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

// LabelSelectorRequirement is one requirement of a label selector.
type LabelSelectorRequirement struct {
	Key      string                `json:"key"`
	Operator LabelSelectorOperator `json:"operator"`
	Values   []string              `json:"values,omitempty"`
}

// AsSelector converts the selector to an apimachinery selector, with the
// Kubernetes meaning: nil selects nothing, empty selects everything.
func (s *LabelSelector) AsSelector() (labels.Selector, error) {
	if s == nil {
		return labels.Nothing(), nil
	}
	if len(s.MatchLabels)+len(s.MatchExpressions) == 0 {
		return labels.Everything(), nil
	}
	sel := labels.NewSelector()
	for k, v := range s.MatchLabels {
		r, err := labels.NewRequirement(k, selection.Equals, []string{v})
		if err != nil {
			return nil, err
		}
		sel = sel.Add(*r)
	}
	for _, e := range s.MatchExpressions {
		var op selection.Operator
		switch e.Operator {
		case LabelSelectorOpIn:
			op = selection.In
		case LabelSelectorOpNotIn:
			op = selection.NotIn
		case LabelSelectorOpExists:
			op = selection.Exists
		case LabelSelectorOpDoesNotExist:
			op = selection.DoesNotExist
		default:
			return nil, fmt.Errorf("%q is not a valid label selector operator", e.Operator)
		}
		r, err := labels.NewRequirement(e.Key, op, append([]string(nil), e.Values...))
		if err != nil {
			return nil, err
		}
		sel = sel.Add(*r)
	}
	return sel, nil
}

// Matches reports whether the selector selects an object with the given
// labels. An invalid selector matches nothing.
func (s *LabelSelector) Matches(l map[string]string) bool {
	sel, err := s.AsSelector()
	if err != nil {
		return false
	}
	return sel.Matches(labels.Set(l))
}

// Name returns the quantity of the named resource, or a zero quantity.
func (rl ResourceList) Name(name string) *resource.Quantity {
	if q, ok := rl[name]; ok {
		return &q
	}
	return &resource.Quantity{Format: resource.DecimalSI}
}

// CPU returns the "cpu" quantity, or zero.
func (rl ResourceList) CPU() *resource.Quantity { return rl.Name(ResourceCPU) }

// Memory returns the "memory" quantity, or zero.
func (rl ResourceList) Memory() *resource.Quantity { return rl.Name(ResourceMemory) }

// Storage returns the "storage" quantity, or zero.
func (rl ResourceList) Storage() *resource.Quantity { return rl.Name(ResourceStorage) }

// Pods returns the "pods" quantity, or zero.
func (rl ResourceList) Pods() *resource.Quantity { return rl.Name(ResourcePods) }

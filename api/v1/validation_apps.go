package v1

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"

	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

func validatePetSet(s *PetSet) FieldErrors {
	errs := validateObjectMeta(&s.ObjectMeta, true, dnsLabel)
	spec := &s.Spec
	p := fieldPath("spec")
	if spec.Replicas != nil {
		errs = append(errs, nonNegative(p.Child("replicas"), *spec.Replicas)...)
	}
	errs = append(errs, validatePetSetPodNames(s)...)
	errs = append(errs, validateWorkloadSelector(spec.Selector, spec.Template.Labels, p)...)
	errs = append(errs, optionalName(p.Child("serviceName"), spec.ServiceName, dnsLabel)...)
	errs = append(errs, optionalEnum(p.Child("podManagementPolicy"), spec.PodManagementPolicy,
		OrderedReadyPodManagement, ParallelPodManagement)...)
	errs = append(errs, validatePetSetUpdateStrategy(&spec.UpdateStrategy, p.Child("updateStrategy"))...)
	errs = append(errs, nonNegativePtr(p.Child("revisionHistoryLimit"), spec.RevisionHistoryLimit)...)
	errs = append(errs, nonNegative(p.Child("minReadySeconds"), spec.MinReadySeconds)...)
	if r := spec.PersistentVolumeClaimRetentionPolicy; r != nil {
		q := p.Child("persistentVolumeClaimRetentionPolicy")
		errs = append(errs, optionalEnum(q.Child("whenDeleted"), r.WhenDeleted,
			RetainPersistentVolumeClaimRetentionPolicyType, DeletePersistentVolumeClaimRetentionPolicyType)...)
		errs = append(errs, optionalEnum(q.Child("whenScaled"), r.WhenScaled,
			RetainPersistentVolumeClaimRetentionPolicyType, DeletePersistentVolumeClaimRetentionPolicyType)...)
	}
	if spec.Ordinals != nil {
		errs = append(errs, nonNegative(p.Child("ordinals", "start"), spec.Ordinals.Start)...)
	}
	claims := map[string]bool{}
	var claimNames []string
	for i := range spec.VolumeClaimTemplates {
		c := &spec.VolumeClaimTemplates[i]
		q := p.Child("volumeClaimTemplates").Index(i)
		if c.Name == "" {
			errs = append(errs, Required(q.Child("metadata", "name").String(), ""))
		} else {
			errs = append(errs, invalidMsgs(q.Child("metadata", "name"), c.Name, validation.IsDNS1123Label(c.Name))...)
			if claims[c.Name] {
				errs = append(errs, Duplicate(q.Child("metadata", "name").String(), c.Name))
			}
			claims[c.Name] = true
			claimNames = append(claimNames, c.Name)
		}
		errs = append(errs, validateLabels(c.Labels, q.Child("metadata", "labels"))...)
		errs = append(errs, validateAnnotations(c.Annotations, q.Child("metadata", "annotations"))...)
		errs = append(errs, validatePVCSpec(&c.Spec, q.Child("spec"))...)
	}
	errs = append(errs, validatePodTemplate(&spec.Template, p.Child("template"), claimNames)...)
	return errs
}

// validatePetSetPodNames checks that the pod of the highest ordinal still
// has a valid hostname, since pets are named <set>-<ordinal>.
func validatePetSetPodNames(s *PetSet) FieldErrors {
	if s.Name == "" || len(validation.IsDNS1123Label(s.Name)) > 0 {
		return nil
	}
	last := int64(s.StartOrdinal()) + int64(s.DesiredReplicas()) - 1
	if last < 0 {
		last = 0
	}
	pod := s.Name + "-" + strconv.FormatInt(last, 10)
	if len(pod) > validation.DNS1123LabelMaxLength {
		return FieldErrors{Invalid("metadata.name", s.Name,
			fmt.Sprintf("too long: pod name %q would exceed %d characters", pod, validation.DNS1123LabelMaxLength))}
	}
	return nil
}

// validateWorkloadSelector checks a controller's selector: required, not
// empty, and matching the template's labels.
func validateWorkloadSelector(sel *LabelSelector, templateLabels map[string]string, p fieldPath) FieldErrors {
	q := p.Child("selector")
	if sel == nil {
		return FieldErrors{Required(q.String(), "")}
	}
	errs := validateLabelSelector(sel, q)
	if len(errs) > 0 {
		return errs
	}
	if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
		return FieldErrors{Invalid(q.String(), "{}", "empty selector is invalid for a controller")}
	}
	if !sel.Matches(templateLabels) {
		errs = append(errs, Invalid(p.Child("template", "metadata", "labels").String(), fmt.Sprint(templateLabels),
			"`selector` does not match template `labels`"))
	}
	return errs
}

func validatePetSetUpdateStrategy(u *PetSetUpdateStrategy, p fieldPath) FieldErrors {
	errs := optionalEnum(p.Child("type"), u.Type, RollingUpdatePetSetStrategyType, OnDeletePetSetStrategyType)
	r := u.RollingUpdate
	if r == nil {
		return errs
	}
	q := p.Child("rollingUpdate")
	if u.Type == OnDeletePetSetStrategyType {
		return append(errs, Invalid(q.String(), "", "only allowed for updateStrategy 'RollingUpdate'"))
	}
	errs = append(errs, nonNegativePtr(q.Child("partition"), r.Partition)...)
	if r.MaxUnavailable != nil {
		errs = append(errs, validateIntOrPercent(r.MaxUnavailable, q.Child("maxUnavailable"))...)
		if v, err := intstr.GetScaledValueFromIntOrPercent(r.MaxUnavailable, 100, true); err == nil && v == 0 {
			errs = append(errs, Invalid(q.Child("maxUnavailable").String(), r.MaxUnavailable.String(), "must be greater than 0"))
		}
	}
	return errs
}

// validateIntOrPercent checks a non-negative count or a percentage.
func validateIntOrPercent(v *intstr.IntOrString, p fieldPath) FieldErrors {
	if v.Type == intstr.String {
		if msgs := validation.IsValidPercent(v.StrVal); len(msgs) > 0 {
			return FieldErrors{Invalid(p.String(), v.StrVal, "must be an integer or percentage (e.g '5%')")}
		}
		n, _ := strconv.Atoi(v.StrVal[:len(v.StrVal)-1])
		if n > 100 {
			return FieldErrors{Invalid(p.String(), v.StrVal, "must not be greater than 100%")}
		}
		return nil
	}
	return nonNegative(p, v.IntVal)
}

// petSetMutableFields are the spec fields a PetSet update may change, as in
// Kubernetes.
var petSetMutableFields = []string{"replicas", "ordinals", "template", "updateStrategy",
	"persistentVolumeClaimRetentionPolicy", "minReadySeconds", "revisionHistoryLimit"}

func validatePetSetUpdate(old, new *PetSet) FieldErrors {
	var errs FieldErrors
	for _, f := range changedFields(old.Spec, new.Spec) {
		if !contains(petSetMutableFields, f) {
			errs = append(errs, Forbidden("spec."+f, "updates to petset spec for fields other than 'replicas', "+
				"'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', "+
				"'minReadySeconds' and 'revisionHistoryLimit' are forbidden"))
		}
	}
	return errs
}

func validateDeployment(d *Deployment) FieldErrors {
	errs := validateObjectMeta(&d.ObjectMeta, true, dnsSubdomain)
	spec := &d.Spec
	p := fieldPath("spec")
	if spec.Replicas != nil {
		errs = append(errs, nonNegative(p.Child("replicas"), *spec.Replicas)...)
	}
	errs = append(errs, validateWorkloadSelector(spec.Selector, spec.Template.Labels, p)...)
	errs = append(errs, validatePodTemplate(&spec.Template, p.Child("template"), nil)...)
	q := p.Child("strategy")
	errs = append(errs, optionalEnum(q.Child("type"), spec.Strategy.Type,
		RollingUpdateDeploymentStrategyType, RecreateDeploymentStrategyType)...)
	if r := spec.Strategy.RollingUpdate; r != nil {
		q = q.Child("rollingUpdate")
		if spec.Strategy.Type == RecreateDeploymentStrategyType {
			errs = append(errs, Forbidden(q.String(), "may not be specified when strategy `type` is 'Recreate'"))
		}
		if r.MaxSurge != nil {
			errs = append(errs, validateIntOrPercent(r.MaxSurge, q.Child("maxSurge"))...)
		}
		if r.MaxUnavailable != nil {
			errs = append(errs, validateIntOrPercent(r.MaxUnavailable, q.Child("maxUnavailable"))...)
		}
		if isZero(r.MaxSurge) && isZero(r.MaxUnavailable) {
			errs = append(errs, Invalid(q.Child("maxUnavailable").String(), 0, "may not be 0 when `maxSurge` is 0"))
		}
	}
	errs = append(errs, nonNegative(p.Child("minReadySeconds"), spec.MinReadySeconds)...)
	errs = append(errs, nonNegativePtr(p.Child("revisionHistoryLimit"), spec.RevisionHistoryLimit)...)
	if pd := spec.ProgressDeadlineSeconds; pd != nil {
		errs = append(errs, positive(p.Child("progressDeadlineSeconds"), *pd)...)
		if *pd <= spec.MinReadySeconds {
			errs = append(errs, Invalid(p.Child("progressDeadlineSeconds").String(), *pd, "must be greater than minReadySeconds"))
		}
	}
	return errs
}

// isZero reports whether a set count or percentage is zero (an unset one
// is not, since defaulting fills 25%).
func isZero(v *intstr.IntOrString) bool {
	if v == nil {
		return false
	}
	n, err := intstr.GetScaledValueFromIntOrPercent(v, 100, true)
	return err == nil && n == 0
}

func validateDeploymentUpdate(old, new *Deployment) FieldErrors {
	if !semanticEqual(old.Spec.Selector, new.Spec.Selector) {
		return FieldErrors{Immutable("spec.selector")}
	}
	return nil
}

func validateControllerRevision(r *ControllerRevision) FieldErrors {
	errs := validateObjectMeta(&r.ObjectMeta, true, dnsSubdomain)
	return append(errs, nonNegative(fieldPath("revision"), r.Revision)...)
}

// jsonEqual reports whether two JSON documents hold the same value (both
// empty counts as equal).
func jsonEqual(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

func validateControllerRevisionUpdate(old, new *ControllerRevision) FieldErrors {
	// Compared as JSON values: a merge patch re-encodes data, which may
	// reorder its keys without changing it.
	if !jsonEqual(old.Data, new.Data) {
		return FieldErrors{Immutable("data")}
	}
	return nil
}

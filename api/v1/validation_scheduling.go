package v1

import (
	"maps"
	"slices"
	"strconv"

	"k8s.io/apimachinery/pkg/util/validation"
)

func sortedKeys[M ~map[string]V, V any](m M) []string {
	return slices.Sorted(maps.Keys(m))
}

// validateNodeSelector checks required node affinity (also used by volume
// node affinity).
func validateNodeSelector(s *NodeSelector, p fieldPath) FieldErrors {
	if s == nil {
		return nil
	}
	q := p.Child("nodeSelectorTerms")
	if len(s.NodeSelectorTerms) == 0 {
		return FieldErrors{Required(q.String(), "must have at least one node selector term")}
	}
	var errs FieldErrors
	for i := range s.NodeSelectorTerms {
		errs = append(errs, validateNodeSelectorTerm(&s.NodeSelectorTerms[i], q.Index(i))...)
	}
	return errs
}

func validateNodeSelectorTerm(t *NodeSelectorTerm, p fieldPath) FieldErrors {
	var errs FieldErrors
	for i, r := range t.MatchExpressions {
		q := p.Child("matchExpressions").Index(i)
		errs = append(errs, invalidMsgs(q.Child("key"), r.Key, validation.IsQualifiedName(r.Key))...)
		errs = append(errs, validateNodeSelectorRequirement(r, q)...)
	}
	for i, r := range t.MatchFields {
		q := p.Child("matchFields").Index(i)
		if r.Key != "metadata.name" {
			errs = append(errs, NotSupported(q.Child("key").String(), r.Key, "metadata.name"))
		}
		if (r.Operator != NodeSelectorOpIn && r.Operator != NodeSelectorOpNotIn) || len(r.Values) != 1 {
			errs = append(errs, Invalid(q.String(), r.Key, "must be 'In' or 'NotIn' with exactly one value"))
		}
	}
	return errs
}

func validateNodeSelectorRequirement(r NodeSelectorRequirement, p fieldPath) FieldErrors {
	var errs FieldErrors
	switch r.Operator {
	case NodeSelectorOpIn, NodeSelectorOpNotIn:
		if len(r.Values) == 0 {
			errs = append(errs, Required(p.Child("values").String(), "must be specified when `operator` is 'In' or 'NotIn'"))
		}
	case NodeSelectorOpExists, NodeSelectorOpDoesNotExist:
		if len(r.Values) > 0 {
			errs = append(errs, Forbidden(p.Child("values").String(), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
		}
	case NodeSelectorOpGt, NodeSelectorOpLt:
		if len(r.Values) != 1 {
			errs = append(errs, Required(p.Child("values").String(), "must be specified single value when `operator` is 'Lt' or 'Gt'"))
		} else if _, err := strconv.ParseInt(r.Values[0], 10, 64); err != nil {
			errs = append(errs, Invalid(p.Child("values").Index(0).String(), r.Values[0], "must be an integer"))
		}
	default:
		errs = append(errs, notSupportedValue(p.Child("operator"), r.Operator, NodeSelectorOpIn, NodeSelectorOpNotIn,
			NodeSelectorOpExists, NodeSelectorOpDoesNotExist, NodeSelectorOpGt, NodeSelectorOpLt)...)
	}
	return errs
}

func validateAffinity(a *Affinity, p fieldPath) FieldErrors {
	if a == nil {
		return nil
	}
	var errs FieldErrors
	if na := a.NodeAffinity; na != nil {
		q := p.Child("nodeAffinity")
		errs = append(errs, validateNodeSelector(na.RequiredDuringSchedulingIgnoredDuringExecution,
			q.Child("requiredDuringSchedulingIgnoredDuringExecution"))...)
		for i, t := range na.PreferredDuringSchedulingIgnoredDuringExecution {
			r := q.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
			errs = append(errs, validateWeight(t.Weight, r.Child("weight"))...)
			errs = append(errs, validateNodeSelectorTerm(&t.Preference, r.Child("preference"))...)
		}
	}
	if pa := a.PodAffinity; pa != nil {
		errs = append(errs, validatePodAffinityTerms(pa.RequiredDuringSchedulingIgnoredDuringExecution,
			pa.PreferredDuringSchedulingIgnoredDuringExecution, p.Child("podAffinity"))...)
	}
	if pa := a.PodAntiAffinity; pa != nil {
		errs = append(errs, validatePodAffinityTerms(pa.RequiredDuringSchedulingIgnoredDuringExecution,
			pa.PreferredDuringSchedulingIgnoredDuringExecution, p.Child("podAntiAffinity"))...)
	}
	return errs
}

func validatePodAffinityTerms(req []PodAffinityTerm, pref []WeightedPodAffinityTerm, p fieldPath) FieldErrors {
	var errs FieldErrors
	for i := range req {
		errs = append(errs, validatePodAffinityTerm(&req[i], p.Child("requiredDuringSchedulingIgnoredDuringExecution").Index(i))...)
	}
	for i := range pref {
		q := p.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
		errs = append(errs, validateWeight(pref[i].Weight, q.Child("weight"))...)
		errs = append(errs, validatePodAffinityTerm(&pref[i].PodAffinityTerm, q.Child("podAffinityTerm"))...)
	}
	return errs
}

func validatePodAffinityTerm(t *PodAffinityTerm, p fieldPath) FieldErrors {
	errs := validateLabelSelector(t.LabelSelector, p.Child("labelSelector"))
	errs = append(errs, validateLabelSelector(t.NamespaceSelector, p.Child("namespaceSelector"))...)
	for i, ns := range t.Namespaces {
		errs = append(errs, invalidMsgs(p.Child("namespaces").Index(i), ns, validation.IsDNS1123Label(ns))...)
	}
	if t.TopologyKey == "" {
		errs = append(errs, Required(p.Child("topologyKey").String(), "can not be empty"))
	} else {
		errs = append(errs, invalidMsgs(p.Child("topologyKey"), t.TopologyKey, validation.IsQualifiedName(t.TopologyKey))...)
	}
	return errs
}

func validateWeight(w int32, p fieldPath) FieldErrors {
	if w < 1 || w > 100 {
		return FieldErrors{Invalid(p.String(), w, "must be in the range 1-100")}
	}
	return nil
}

func validateTolerations(ts []Toleration, p fieldPath) FieldErrors {
	var errs FieldErrors
	for i, t := range ts {
		q := p.Index(i)
		if t.Key != "" {
			errs = append(errs, invalidMsgs(q.Child("key"), t.Key, validation.IsQualifiedName(t.Key))...)
		} else if t.Operator != TolerationOpExists {
			errs = append(errs, Invalid(q.Child("operator").String(), string(t.Operator),
				"operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
		}
		switch t.Operator {
		case TolerationOpEqual, "":
			errs = append(errs, invalidMsgs(q.Child("value"), t.Value, validation.IsValidLabelValue(t.Value))...)
		case TolerationOpExists:
			if t.Value != "" {
				errs = append(errs, Invalid(q.Child("operator").String(), t.Value, "value must be empty when `operator` is 'Exists'"))
			}
		default:
			errs = append(errs, notSupportedValue(q.Child("operator"), t.Operator, TolerationOpEqual, TolerationOpExists)...)
		}
		errs = append(errs, optionalEnum(q.Child("effect"), t.Effect,
			TaintEffectNoSchedule, TaintEffectPreferNoSchedule, TaintEffectNoExecute)...)
		if t.TolerationSeconds != nil && t.Effect != TaintEffectNoExecute {
			errs = append(errs, Invalid(q.Child("effect").String(), string(t.Effect),
				"effect must be 'NoExecute' when `tolerationSeconds` is set"))
		}
	}
	return errs
}

func validateTaints(ts []Taint, p fieldPath) FieldErrors {
	var errs FieldErrors
	seen := map[string]bool{}
	for i, t := range ts {
		q := p.Index(i)
		errs = append(errs, invalidMsgs(q.Child("key"), t.Key, validation.IsQualifiedName(t.Key))...)
		errs = append(errs, invalidMsgs(q.Child("value"), t.Value, validation.IsValidLabelValue(t.Value))...)
		if t.Effect == "" {
			errs = append(errs, Required(q.Child("effect").String(), ""))
		} else {
			errs = append(errs, notSupportedValue(q.Child("effect"), t.Effect,
				TaintEffectNoSchedule, TaintEffectPreferNoSchedule, TaintEffectNoExecute)...)
		}
		id := t.Key + ":" + string(t.Effect)
		if seen[id] {
			errs = append(errs, Duplicate(q.String(), id))
		}
		seen[id] = true
	}
	return errs
}

func validateTopologySpread(cs []TopologySpreadConstraint, p fieldPath) FieldErrors {
	var errs FieldErrors
	seen := map[string]bool{}
	for i, c := range cs {
		q := p.Index(i)
		errs = append(errs, positive(q.Child("maxSkew"), c.MaxSkew)...)
		if c.TopologyKey == "" {
			errs = append(errs, Required(q.Child("topologyKey").String(), "can not be empty"))
		} else {
			errs = append(errs, invalidMsgs(q.Child("topologyKey"), c.TopologyKey, validation.IsQualifiedName(c.TopologyKey))...)
		}
		errs = append(errs, notSupportedValue(q.Child("whenUnsatisfiable"), c.WhenUnsatisfiable, DoNotSchedule, ScheduleAnyway)...)
		if c.MinDomains != nil {
			errs = append(errs, positive(q.Child("minDomains"), *c.MinDomains)...)
			if c.WhenUnsatisfiable != DoNotSchedule {
				errs = append(errs, Invalid(q.Child("minDomains").String(), *c.MinDomains,
					"can only use minDomains if whenUnsatisfiable=DoNotSchedule"))
			}
		}
		errs = append(errs, validateLabelSelector(c.LabelSelector, q.Child("labelSelector"))...)
		id := c.TopologyKey + "/" + string(c.WhenUnsatisfiable)
		if seen[id] {
			errs = append(errs, Duplicate(q.String(), id))
		}
		seen[id] = true
	}
	return errs
}

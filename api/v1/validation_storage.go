package v1

import (
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"k8s.io/apimachinery/pkg/util/validation"
)

// volumeResources are the resources a claim may request and a volume may
// offer.
var volumeResources = []string{ResourceStorage, ResourceStorageIOPS, ResourceStorageBandwidth}

var accessModes = []PersistentVolumeAccessMode{ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod}

func validatePVC(c *PersistentVolumeClaim) FieldErrors {
	errs := validateObjectMeta(&c.ObjectMeta, true, dnsSubdomain)
	errs = append(errs, validatePVCSpec(&c.Spec, "spec")...)
	errs = append(errs, optionalEnum(fieldPath("status").Child("phase"), c.Status.Phase, ClaimPending, ClaimBound, ClaimLost)...)
	return errs
}

// validatePVCSpec checks a claim's spec, also inside PetSet claim templates.
func validatePVCSpec(s *PersistentVolumeClaimSpec, p fieldPath) FieldErrors {
	errs := validateAccessModes(s.AccessModes, p.Child("accessModes"))
	errs = append(errs, validateLabelSelector(s.Selector, p.Child("selector"))...)
	r := p.Child("resources")
	errs = append(errs, validateResourceList(s.Resources.Requests, r.Child("requests"), volumeResources...)...)
	errs = append(errs, validateResourceList(s.Resources.Limits, r.Child("limits"), volumeResources...)...)
	storage := r.Child("requests").Key(ResourceStorage)
	if q, ok := s.Resources.Requests[ResourceStorage]; !ok {
		errs = append(errs, Required(storage.String(), ""))
	} else if q.Sign() <= 0 {
		errs = append(errs, Invalid(storage.String(), q.String(), "must be greater than zero"))
	}
	errs = append(errs, optionalName(p.Child("volumeName"), s.VolumeName, dnsSubdomain)...)
	if s.StorageClassName != nil && *s.StorageClassName != "" {
		errs = append(errs, invalidMsgs(p.Child("storageClassName"), *s.StorageClassName, dnsSubdomain(*s.StorageClassName))...)
	}
	if s.VolumeMode != nil {
		errs = append(errs, notSupportedValue(p.Child("volumeMode"), *s.VolumeMode, PersistentVolumeFilesystem, PersistentVolumeBlock)...)
	}
	return errs
}

func validateAccessModes(modes []PersistentVolumeAccessMode, p fieldPath) FieldErrors {
	if len(modes) == 0 {
		return FieldErrors{Required(p.String(), "at least 1 access mode is required")}
	}
	var errs FieldErrors
	for i, m := range modes {
		errs = append(errs, notSupportedValue(p.Index(i), m, accessModes...)...)
	}
	if contains(modes, ReadWriteOncePod) && len(modes) > 1 {
		errs = append(errs, Forbidden(p.String(), "may not use ReadWriteOncePod with other access modes"))
	}
	return errs
}

// validatePVCUpdate allows only what Kubernetes allows on a claim: growing
// the storage request, and setting volumeName once, which is binding.
func validatePVCUpdate(old, new *PersistentVolumeClaim) FieldErrors {
	o, n := old.Spec, new.Spec
	var errs FieldErrors
	p := fieldPath("spec").Child("resources", "requests").Key(ResourceStorage)
	oq, nq := o.Resources.Requests[ResourceStorage], n.Resources.Requests[ResourceStorage]
	if nq.Cmp(oq) < 0 {
		errs = append(errs, Forbidden(p.String(), "field can not be less than previous value"))
	}
	// Compare everything else with the storage request taken out.
	o.Resources.Requests = withoutKey(o.Resources.Requests, ResourceStorage)
	n.Resources.Requests = withoutKey(n.Resources.Requests, ResourceStorage)
	if o.VolumeName == "" {
		n.VolumeName = ""
	}
	for _, f := range changedFields(o, n) {
		errs = append(errs, Forbidden("spec."+f, "spec is immutable after creation except resources.requests.storage "+
			"(which may only grow) and volumeName (which may be set once)"))
	}
	return errs
}

func withoutKey(rl ResourceList, key string) ResourceList {
	out := ResourceList{}
	for k, v := range rl {
		if k != key {
			out[k] = v
		}
	}
	return out
}

func validatePV(v *PersistentVolume) FieldErrors {
	errs := validateObjectMeta(&v.ObjectMeta, false, dnsSubdomain)
	s := &v.Spec
	p := fieldPath("spec")
	errs = append(errs, validateAccessModes(s.AccessModes, p.Child("accessModes"))...)
	errs = append(errs, validateResourceList(s.Capacity, p.Child("capacity"), volumeResources...)...)
	if q, ok := s.Capacity[ResourceStorage]; !ok {
		errs = append(errs, Required(p.Child("capacity").Key(ResourceStorage).String(), ""))
	} else if q.Sign() <= 0 {
		errs = append(errs, Invalid(p.Child("capacity").Key(ResourceStorage).String(), q.String(), "must be greater than zero"))
	}
	errs = append(errs, validatePVSource(&s.PersistentVolumeSource, s.NodeAffinity, p)...)
	if c := s.ClaimRef; c != nil {
		q := p.Child("claimRef")
		errs = append(errs, requiredName(q.Child("name"), c.Name, dnsSubdomain)...)
		errs = append(errs, requiredName(q.Child("namespace"), c.Namespace, dnsLabel)...)
	}
	if s.PersistentVolumeReclaimPolicy == PersistentVolumeReclaimRecycle {
		errs = append(errs, NotSupported(p.Child("persistentVolumeReclaimPolicy").String(), string(s.PersistentVolumeReclaimPolicy),
			string(PersistentVolumeReclaimRetain), string(PersistentVolumeReclaimDelete)))
	} else {
		errs = append(errs, optionalEnum(p.Child("persistentVolumeReclaimPolicy"), s.PersistentVolumeReclaimPolicy,
			PersistentVolumeReclaimRetain, PersistentVolumeReclaimDelete)...)
	}
	errs = append(errs, optionalName(p.Child("storageClassName"), s.StorageClassName, dnsSubdomain)...)
	if s.VolumeMode != nil {
		errs = append(errs, notSupportedValue(p.Child("volumeMode"), *s.VolumeMode, PersistentVolumeFilesystem, PersistentVolumeBlock)...)
	}
	if s.NodeAffinity != nil {
		q := p.Child("nodeAffinity", "required")
		if s.NodeAffinity.Required == nil {
			errs = append(errs, Required(q.String(), ""))
		}
		errs = append(errs, validateNodeSelector(s.NodeAffinity.Required, q)...)
	}
	errs = append(errs, optionalEnum(fieldPath("status").Child("phase"), v.Status.Phase,
		VolumePending, VolumeAvailable, VolumeBound, VolumeReleased, VolumeFailed)...)
	return errs
}

func validatePVSource(s *PersistentVolumeSource, affinity *VolumeNodeAffinity, p fieldPath) FieldErrors {
	var errs FieldErrors
	n := 0
	if s.HostPath != nil {
		n++
		errs = append(errs, validateHostPath(s.HostPath, p.Child("hostPath"))...)
	}
	if l := s.Local; l != nil {
		n++
		q := p.Child("local")
		if l.Path == "" {
			errs = append(errs, Required(q.Child("path").String(), ""))
		} else if !strings.HasPrefix(l.Path, "/") {
			errs = append(errs, Invalid(q.Child("path").String(), l.Path, "must be an absolute path"))
		}
		if affinity == nil {
			errs = append(errs, Required(p.Child("nodeAffinity").String(), "local volume requires node affinity"))
		}
	}
	if f := s.FlexVolume; f != nil {
		n++
		errs = append(errs, validateFlex(f.Driver, p.Child("flexVolume"))...)
	}
	switch {
	case n == 0:
		errs = append(errs, Required(p.String(), "must specify a volume type"))
	case n > 1:
		errs = append(errs, Forbidden(p.String(), "may not specify more than 1 volume type"))
	}
	return errs
}

// validatePVUpdate keeps the source, mode and node affinity of a volume
// fixed; binding (claimRef), capacity and reclaim policy may change.
func validatePVUpdate(old, new *PersistentVolume) FieldErrors {
	var errs FieldErrors
	if !semanticEqual(old.Spec.PersistentVolumeSource, new.Spec.PersistentVolumeSource) {
		errs = append(errs, Immutable("spec.persistentVolumeSource"))
	}
	if !semanticEqual(old.Spec.VolumeMode, new.Spec.VolumeMode) {
		errs = append(errs, Immutable("spec.volumeMode"))
	}
	if old.Spec.NodeAffinity != nil && !semanticEqual(old.Spec.NodeAffinity, new.Spec.NodeAffinity) {
		errs = append(errs, Immutable("spec.nodeAffinity"))
	}
	return errs
}

func validateStorageClass(c *StorageClass) FieldErrors {
	errs := validateObjectMeta(&c.ObjectMeta, false, dnsSubdomain)
	if c.Provisioner == "" {
		errs = append(errs, Required("provisioner", ""))
	} else {
		errs = append(errs, invalidMsgs("provisioner", c.Provisioner, validation.IsQualifiedName(strings.ToLower(c.Provisioner)))...)
	}
	size := 0
	for _, k := range sortedKeys(c.Parameters) {
		if k == "" {
			errs = append(errs, Invalid("parameters", k, "parameter names must not be empty"))
		}
		size += len(k) + len(c.Parameters[k])
	}
	if len(c.Parameters) > 512 || size > totalAnnotationSizeLimit {
		errs = append(errs, FieldError{Type: FieldTooLong, Field: "parameters",
			Detail: "must have at most 512 parameters and 256 KiB in total"})
	}
	for _, k := range []string{ParamReadIOPS, ParamWriteIOPS, ParamReadBandwidth, ParamWriteBandwidth} {
		if v, ok := c.Parameters[k]; ok {
			q, err := resource.ParseQuantity(v)
			if _, whole := q.AsInt64(); err != nil || !whole || q.Sign() < 0 {
				errs = append(errs, Invalid("parameters."+k, v, "must be a non-negative whole quantity, e.g. \"200\" IOPS or \"50Mi\" bytes per second"))
			}
		}
	}
	if c.Provisioner == ProvisionerFlex && c.Parameters[ParamFlexDriver] == "" {
		errs = append(errs, Required("parameters."+ParamFlexDriver, "a kennel.io/flexvolume class names its driver as vendor/driver"))
	} else if c.Provisioner == ProvisionerFlex {
		errs = append(errs, invalidMsgs("parameters."+ParamFlexDriver, c.Parameters[ParamFlexDriver], validation.IsQualifiedName(c.Parameters[ParamFlexDriver]))...)
	}
	if c.ReclaimPolicy != nil {
		errs = append(errs, notSupportedValue("reclaimPolicy", *c.ReclaimPolicy,
			PersistentVolumeReclaimRetain, PersistentVolumeReclaimDelete)...)
	}
	if c.VolumeBindingMode != nil {
		errs = append(errs, notSupportedValue("volumeBindingMode", *c.VolumeBindingMode,
			VolumeBindingImmediate, VolumeBindingWaitForFirstConsumer)...)
	}
	for i, t := range c.AllowedTopologies {
		q := fieldPath("allowedTopologies").Index(i)
		if len(t.MatchLabelExpressions) == 0 {
			errs = append(errs, Required(q.Child("matchLabelExpressions").String(), ""))
		}
		for j, r := range t.MatchLabelExpressions {
			rq := q.Child("matchLabelExpressions").Index(j)
			errs = append(errs, invalidMsgs(rq.Child("key"), r.Key, validation.IsQualifiedName(r.Key))...)
			if len(r.Values) == 0 {
				errs = append(errs, Required(rq.Child("values").String(), "must specify as least one value"))
			}
		}
	}
	return errs
}

func validateStorageClassUpdate(old, new *StorageClass) FieldErrors {
	var errs FieldErrors
	if old.Provisioner != new.Provisioner {
		errs = append(errs, Immutable("provisioner"))
	}
	if !semanticEqual(old.Parameters, new.Parameters) {
		errs = append(errs, Immutable("parameters"))
	}
	if !semanticEqual(old.ReclaimPolicy, new.ReclaimPolicy) {
		errs = append(errs, Immutable("reclaimPolicy"))
	}
	if !semanticEqual(old.VolumeBindingMode, new.VolumeBindingMode) {
		errs = append(errs, Immutable("volumeBindingMode"))
	}
	return errs
}

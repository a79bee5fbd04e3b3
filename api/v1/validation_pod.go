package v1

import (
	"k8s.io/apimachinery/pkg/util/validation"
)

func validatePod(pod *Pod) FieldErrors {
	errs := validateObjectMeta(&pod.ObjectMeta, true, dnsSubdomain)
	errs = append(errs, validatePodSpec(&pod.Spec, "spec", nil)...)
	s := &pod.Status
	p := fieldPath("status")
	errs = append(errs, optionalEnum(p.Child("phase"), s.Phase, PodPending, PodRunning, PodSucceeded, PodFailed, PodUnknown)...)
	errs = append(errs, optionalEnum(p.Child("qosClass"), s.QOSClass, PodQOSGuaranteed, PodQOSBurstable, PodQOSBestEffort)...)
	for i, c := range s.Conditions {
		errs = append(errs, validateConditionStatus(c.Type == "", c.Status, p.Child("conditions").Index(i))...)
	}
	return errs
}

// validateConditionStatus checks the two fields every condition has.
func validateConditionStatus(noType bool, status ConditionStatus, p fieldPath) FieldErrors {
	var errs FieldErrors
	if noType {
		errs = append(errs, Required(p.Child("type").String(), ""))
	}
	return append(errs, notSupportedValue(p.Child("status"), status, ConditionTrue, ConditionFalse, ConditionUnknown)...)
}

// validatePodTemplate checks a controller's pod template. extraVolumes are
// volume names the controller adds (a PetSet's claim templates).
func validatePodTemplate(t *PodTemplateSpec, p fieldPath, extraVolumes []string) FieldErrors {
	errs := validateLabels(t.Labels, p.Child("metadata", "labels"))
	errs = append(errs, validateAnnotations(t.Annotations, p.Child("metadata", "annotations"))...)
	errs = append(errs, validatePodSpec(&t.Spec, p.Child("spec"), extraVolumes)...)
	if t.Spec.RestartPolicy != "" && t.Spec.RestartPolicy != RestartPolicyAlways {
		errs = append(errs, NotSupported(p.Child("spec", "restartPolicy").String(), string(t.Spec.RestartPolicy), string(RestartPolicyAlways)))
	}
	if t.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, Forbidden(p.Child("spec", "activeDeadlineSeconds").String(), "activeDeadlineSeconds in a controller's template is forbidden"))
	}
	return errs
}

// validatePodSpec checks a pod spec found at p.
func validatePodSpec(spec *PodSpec, p fieldPath, extraVolumes []string) FieldErrors {
	vols, errs := validateVolumes(spec.Volumes, p.Child("volumes"))
	for _, v := range extraVolumes {
		vols[v] = true
	}
	if len(spec.Containers) == 0 {
		errs = append(errs, Required(p.Child("containers").String(), "must have at least one container"))
	}
	ctx := &containerContext{volumes: vols, names: map[string]bool{}, ports: map[string]bool{}}
	for i := range spec.InitContainers {
		ctx.init = true
		errs = append(errs, validateContainer(&spec.InitContainers[i], p.Child("initContainers").Index(i), ctx)...)
	}
	for i := range spec.Containers {
		ctx.init = false
		errs = append(errs, validateContainer(&spec.Containers[i], p.Child("containers").Index(i), ctx)...)
	}
	errs = append(errs, optionalEnum(p.Child("restartPolicy"), spec.RestartPolicy,
		RestartPolicyAlways, RestartPolicyOnFailure, RestartPolicyNever)...)
	errs = append(errs, nonNegativePtr(p.Child("terminationGracePeriodSeconds"), spec.TerminationGracePeriodSeconds)...)
	if spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, positive(p.Child("activeDeadlineSeconds"), *spec.ActiveDeadlineSeconds)...)
	}
	errs = append(errs, optionalEnum(p.Child("dnsPolicy"), spec.DNSPolicy,
		DNSClusterFirst, DNSClusterFirstWithHostNet, DNSDefault, DNSNone)...)
	errs = append(errs, validateLabels(spec.NodeSelector, p.Child("nodeSelector"))...)
	errs = append(errs, optionalName(p.Child("serviceAccountName"), spec.ServiceAccountName, dnsSubdomain)...)
	errs = append(errs, optionalName(p.Child("nodeName"), spec.NodeName, dnsSubdomain)...)
	errs = append(errs, optionalName(p.Child("hostname"), spec.Hostname, dnsLabel)...)
	errs = append(errs, optionalName(p.Child("subdomain"), spec.Subdomain, dnsLabel)...)
	errs = append(errs, optionalName(p.Child("schedulerName"), spec.SchedulerName, dnsSubdomain)...)
	errs = append(errs, optionalName(p.Child("priorityClassName"), spec.PriorityClassName, dnsSubdomain)...)
	if sc := spec.SecurityContext; sc != nil {
		q := p.Child("securityContext")
		errs = append(errs, nonNegativePtr(q.Child("runAsUser"), sc.RunAsUser)...)
		errs = append(errs, nonNegativePtr(q.Child("runAsGroup"), sc.RunAsGroup)...)
		errs = append(errs, nonNegativePtr(q.Child("fsGroup"), sc.FSGroup)...)
	}
	errs = append(errs, validateAffinity(spec.Affinity, p.Child("affinity"))...)
	errs = append(errs, validateTolerations(spec.Tolerations, p.Child("tolerations"))...)
	errs = append(errs, validateTopologySpread(spec.TopologySpreadConstraints, p.Child("topologySpreadConstraints"))...)
	return errs
}

func optionalName(p fieldPath, v string, name nameFunc) FieldErrors {
	if v == "" {
		return nil
	}
	return invalidMsgs(p, v, name(v))
}

// validateVolumes checks pod volumes and returns the set of their names.
func validateVolumes(vs []Volume, p fieldPath) (map[string]bool, FieldErrors) {
	names := map[string]bool{}
	var errs FieldErrors
	for i := range vs {
		v := &vs[i]
		q := p.Index(i)
		if v.Name == "" {
			errs = append(errs, Required(q.Child("name").String(), ""))
		} else {
			errs = append(errs, invalidMsgs(q.Child("name"), v.Name, validation.IsDNS1123Label(v.Name))...)
			if names[v.Name] {
				errs = append(errs, Duplicate(q.Child("name").String(), v.Name))
			}
			names[v.Name] = true
		}
		errs = append(errs, validateVolumeSource(&v.VolumeSource, q)...)
	}
	return names, errs
}

// validateVolumeSource checks that exactly one source is set, and that one.
func validateVolumeSource(s *VolumeSource, p fieldPath) FieldErrors {
	var errs FieldErrors
	n := 0
	one := func(set bool, name string, check func(fieldPath) FieldErrors) {
		if !set {
			return
		}
		n++
		if n > 1 {
			errs = append(errs, Forbidden(p.Child(name).String(), "may not specify more than 1 volume type"))
			return
		}
		errs = append(errs, check(p.Child(name))...)
	}
	one(s.HostPath != nil, "hostPath", func(q fieldPath) FieldErrors { return validateHostPath(s.HostPath, q) })
	one(s.EmptyDir != nil, "emptyDir", func(q fieldPath) FieldErrors {
		errs := optionalEnum(q.Child("medium"), s.EmptyDir.Medium, StorageMediumDefault, StorageMediumMemory)
		if s.EmptyDir.SizeLimit != nil {
			errs = append(errs, nonNegativeQuantity(q.Child("sizeLimit"), *s.EmptyDir.SizeLimit)...)
		}
		return errs
	})
	one(s.Secret != nil, "secret", func(q fieldPath) FieldErrors {
		errs := requiredName(q.Child("secretName"), s.Secret.SecretName, dnsSubdomain)
		return append(errs, validateProjection(s.Secret.Items, s.Secret.DefaultMode, q)...)
	})
	one(s.ConfigMap != nil, "configMap", func(q fieldPath) FieldErrors {
		errs := requiredName(q.Child("name"), s.ConfigMap.Name, dnsSubdomain)
		return append(errs, validateProjection(s.ConfigMap.Items, s.ConfigMap.DefaultMode, q)...)
	})
	one(s.PersistentVolumeClaim != nil, "persistentVolumeClaim", func(q fieldPath) FieldErrors {
		return requiredName(q.Child("claimName"), s.PersistentVolumeClaim.ClaimName, dnsSubdomain)
	})
	one(s.FlexVolume != nil, "flexVolume", func(q fieldPath) FieldErrors {
		f := s.FlexVolume
		return validateFlex(f.Driver, q)
	})
	if n == 0 {
		errs = append(errs, Required(p.String(), "must specify a volume type"))
	}
	return errs
}

func requiredName(p fieldPath, v string, name nameFunc) FieldErrors {
	if v == "" {
		return FieldErrors{Required(p.String(), "")}
	}
	return invalidMsgs(p, v, name(v))
}

var hostPathTypes = []HostPathType{HostPathUnset, HostPathDirectoryOrCreate, HostPathDirectory,
	HostPathFileOrCreate, HostPathFile, HostPathSocket, HostPathCharDev, HostPathBlockDev}

func validateHostPath(h *HostPathVolumeSource, p fieldPath) FieldErrors {
	var errs FieldErrors
	if h.Path == "" {
		errs = append(errs, Required(p.Child("path").String(), ""))
	}
	if h.Type != nil {
		errs = append(errs, notSupportedValue(p.Child("type"), *h.Type, hostPathTypes...)...)
	}
	return errs
}

// validateFlex checks a FlexVolume driver name ("vendor/driver").
func validateFlex(driver string, p fieldPath) FieldErrors {
	if driver == "" {
		return FieldErrors{Required(p.Child("driver").String(), "")}
	}
	return invalidMsgs(p.Child("driver"), driver, validation.IsQualifiedName(driver))
}

func validateProjection(items []KeyToPath, mode *int32, p fieldPath) FieldErrors {
	errs := validateMode(mode, p.Child("defaultMode"))
	for i, it := range items {
		q := p.Child("items").Index(i)
		errs = append(errs, invalidMsgs(q.Child("key"), it.Key, validation.IsConfigMapKey(it.Key))...)
		if it.Path == "" {
			errs = append(errs, Required(q.Child("path").String(), ""))
		} else {
			errs = append(errs, validateRelativePath(it.Path, q.Child("path"))...)
		}
		errs = append(errs, validateMode(it.Mode, q.Child("mode"))...)
	}
	return errs
}

func validateMode(m *int32, p fieldPath) FieldErrors {
	if m != nil && (*m < 0 || *m > 0o777) {
		return FieldErrors{Invalid(p.String(), *m, "must be a number between 0 and 0777 (octal), both inclusive")}
	}
	return nil
}

// validatePodUpdate allows only the changes Kubernetes allows to a running
// pod: container images, a shorter active deadline, and setting nodeName
// once, which is binding.
func validatePodUpdate(old, new *Pod) FieldErrors {
	o, n := old.Spec, new.Spec
	if len(o.Containers) == len(n.Containers) {
		n.Containers = withImages(n.Containers, o.Containers)
	}
	if len(o.InitContainers) == len(n.InitContainers) {
		n.InitContainers = withImages(n.InitContainers, o.InitContainers)
	}
	if n.ActiveDeadlineSeconds != nil && (o.ActiveDeadlineSeconds == nil || *n.ActiveDeadlineSeconds <= *o.ActiveDeadlineSeconds) {
		n.ActiveDeadlineSeconds = o.ActiveDeadlineSeconds
	}
	if o.NodeName == "" {
		n.NodeName = ""
	}
	const detail = "pod updates may not change fields other than `spec.containers[*].image`, " +
		"`spec.initContainers[*].image`, `spec.activeDeadlineSeconds` (only shorter) and `spec.nodeName` (only set once)"
	var errs FieldErrors
	for _, f := range changedFields(o, n) {
		errs = append(errs, Forbidden("spec."+f, detail))
	}
	return errs
}

// withImages returns a copy of cs with the images of from.
func withImages(cs, from []Container) []Container {
	out := make([]Container, len(cs))
	copy(out, cs)
	for i := range out {
		out[i].Image = from[i].Image
	}
	return out
}

package v1

import (
	"fmt"
	"net"
	"net/url"
	"regexp"

	"k8s.io/apimachinery/pkg/util/validation"
)

func validateNamespace(n *Namespace) FieldErrors {
	errs := validateObjectMeta(&n.ObjectMeta, false, dnsLabel)
	return append(errs, optionalEnum(fieldPath("status").Child("phase"), n.Status.Phase, NamespaceActive, NamespaceTerminating)...)
}

func validateLease(l *Lease) FieldErrors {
	errs := validateObjectMeta(&l.ObjectMeta, true, dnsSubdomain)
	if d := l.Spec.LeaseDurationSeconds; d != nil {
		errs = append(errs, positive(fieldPath("spec").Child("leaseDurationSeconds"), *d)...)
	}
	return append(errs, nonNegativePtr(fieldPath("spec").Child("leaseTransitions"), l.Spec.LeaseTransitions)...)
}

// deviceNumber is a block device as "major:minor".
var deviceNumber = regexp.MustCompile(`^[0-9]+:[0-9]+$`)

func validateNode(n *Node) FieldErrors {
	errs := validateObjectMeta(&n.ObjectMeta, false, dnsSubdomain)
	p := fieldPath("spec")
	if n.Spec.PodCIDR != "" {
		if _, _, err := net.ParseCIDR(n.Spec.PodCIDR); err != nil {
			errs = append(errs, Invalid(p.Child("podCIDR").String(), n.Spec.PodCIDR, "must be a CIDR"))
		}
	}
	for i, c := range n.Spec.PodCIDRs {
		if _, _, err := net.ParseCIDR(c); err != nil {
			errs = append(errs, Invalid(p.Child("podCIDRs").Index(i).String(), c, "must be a CIDR"))
		}
	}
	errs = append(errs, validateTaints(n.Spec.Taints, p.Child("taints"))...)
	s := &n.Status
	p = "status"
	errs = append(errs, validateResourceList(s.Capacity, p.Child("capacity"))...)
	errs = append(errs, validateResourceList(s.Allocatable, p.Child("allocatable"))...)
	for i, c := range s.Conditions {
		errs = append(errs, validateConditionStatus(c.Type == "", c.Status, p.Child("conditions").Index(i))...)
	}
	for i, a := range s.Addresses {
		q := p.Child("addresses").Index(i)
		errs = append(errs, notSupportedValue(q.Child("type"), a.Type,
			NodeHostName, NodeInternalIP, NodeExternalIP, NodeInternalDNS, NodeExternalDNS)...)
		if a.Address == "" {
			errs = append(errs, Required(q.Child("address").String(), ""))
		}
	}
	names := map[string]bool{}
	for i, d := range s.Storage {
		q := p.Child("storage").Index(i)
		errs = append(errs, requiredName(q.Child("name"), d.Name, dnsLabel)...)
		if names[d.Name] {
			errs = append(errs, Duplicate(q.Child("name").String(), d.Name))
		}
		names[d.Name] = true
		if d.Device != "" && !deviceNumber.MatchString(d.Device) {
			errs = append(errs, Invalid(q.Child("device").String(), d.Device, "must be major:minor, e.g. 8:0"))
		}
		errs = append(errs, optionalEnum(q.Child("mediaType"), d.MediaType, MediaTypeHDD, MediaTypeSSD, MediaTypeNVMe)...)
		errs = append(errs, nonNegativeQuantity(q.Child("capacity"), d.Capacity)...)
		if d.IOPS != nil {
			errs = append(errs, nonNegativeQuantity(q.Child("iops"), *d.IOPS)...)
		}
		if d.Bandwidth != nil {
			errs = append(errs, nonNegativeQuantity(q.Child("bandwidth"), *d.Bandwidth)...)
		}
	}
	if nw := s.Network; nw != nil && nw.Bandwidth != nil {
		errs = append(errs, nonNegativeQuantity(p.Child("network", "bandwidth"), *nw.Bandwidth)...)
	}
	return errs
}

func validateEvent(e *Event) FieldErrors {
	errs := validateObjectMeta(&e.ObjectMeta, true, dnsSubdomain)
	errs = append(errs, optionalEnum("type", e.Type, EventTypeNormal, EventTypeWarning)...)
	if e.InvolvedObject.Namespace != "" && e.Namespace != "" && e.InvolvedObject.Namespace != e.Namespace {
		errs = append(errs, Invalid("involvedObject.namespace", e.InvolvedObject.Namespace, "does not match event.namespace"))
	}
	for _, f := range []struct {
		name, value string
		max         int
	}{{"reason", e.Reason, 128}, {"action", e.Action, 128}, {"reportingComponent", e.ReportingComponent, 128}, {"reportingInstance", e.ReportingInstance, 128}} {
		if len(f.value) > f.max {
			errs = append(errs, FieldError{Type: FieldTooLong, Field: f.name, Detail: fmt.Sprintf("may not be more than %d bytes", f.max)})
		}
	}
	return append(errs, nonNegative(fieldPath("count"), e.Count)...)
}

func validateConfigMap(c *ConfigMap) FieldErrors {
	errs := validateObjectMeta(&c.ObjectMeta, true, dnsSubdomain)
	size := 0
	for _, k := range sortedKeys(c.Data) {
		errs = append(errs, invalidMsgs("data", k, validation.IsConfigMapKey(k))...)
		size += len(c.Data[k])
	}
	for _, k := range sortedKeys(c.BinaryData) {
		errs = append(errs, invalidMsgs("binaryData", k, validation.IsConfigMapKey(k))...)
		if _, ok := c.Data[k]; ok {
			errs = append(errs, Invalid(fieldPath("binaryData").Key(k).String(), k, "duplicate of key in data"))
		}
		size += len(c.BinaryData[k])
	}
	if size > maxDataSize {
		errs = append(errs, FieldError{Type: FieldTooLong, Field: "data",
			Detail: fmt.Sprintf("data and binaryData may not be more than %d bytes together, got %d", maxDataSize, size)})
	}
	return errs
}

// secretRequiredKeys are the keys a secret of each known type must hold.
var secretRequiredKeys = map[SecretType][]string{
	SecretTypeTLS:              {"tls.crt", "tls.key"},
	SecretTypeSSHAuth:          {"ssh-privatekey"},
	SecretTypeDockerConfigJSON: {".dockerconfigjson"},
}

func validateSecret(s *Secret) FieldErrors {
	errs := validateObjectMeta(&s.ObjectMeta, true, dnsSubdomain)
	size := 0
	for _, k := range sortedKeys(s.Data) {
		errs = append(errs, invalidMsgs("data", k, validation.IsConfigMapKey(k))...)
		size += len(s.Data[k])
	}
	for _, k := range sortedKeys(s.StringData) {
		errs = append(errs, invalidMsgs("stringData", k, validation.IsConfigMapKey(k))...)
		if _, ok := s.Data[k]; !ok {
			size += len(s.StringData[k])
		}
	}
	if size > maxDataSize {
		errs = append(errs, FieldError{Type: FieldTooLong, Field: "data",
			Detail: fmt.Sprintf("may not be more than %d bytes, got %d", maxDataSize, size)})
	}
	for _, k := range secretRequiredKeys[s.Type] {
		_, inData := s.Data[k]
		_, inString := s.StringData[k]
		if !inData && !inString {
			errs = append(errs, Required(fieldPath("data").Key(k).String(), fmt.Sprintf("required for a secret of type %q", s.Type)))
		}
	}
	return errs
}

// validateImmutableData refuses changes to the data of a ConfigMap or
// Secret marked immutable, and unmarking it.
func validateImmutableData(oldImmutable, newImmutable *bool, oldData, newData []any) FieldErrors {
	if oldImmutable == nil || !*oldImmutable {
		return nil
	}
	var errs FieldErrors
	if newImmutable == nil || !*newImmutable {
		errs = append(errs, Forbidden("immutable", "field is immutable when `immutable` is set"))
	}
	names := []string{"data", "binaryData"}
	for i := range oldData {
		if !semanticEqual(oldData[i], newData[i]) {
			errs = append(errs, Forbidden(names[i], "field is immutable when `immutable` is set"))
		}
	}
	return errs
}

func validateConfigMapUpdate(old, new *ConfigMap) FieldErrors {
	return validateImmutableData(old.Immutable, new.Immutable,
		[]any{old.Data, old.BinaryData}, []any{new.Data, new.BinaryData})
}

func validateSecretUpdate(old, new *Secret) FieldErrors {
	errs := validateImmutableData(old.Immutable, new.Immutable, []any{old.Data}, []any{new.Data})
	if old.Type != "" && new.Type != old.Type {
		errs = append(errs, Immutable("type"))
	}
	return errs
}

func validateCluster(c *Cluster) FieldErrors {
	errs := validateObjectMeta(&c.ObjectMeta, false, dnsLabel)
	p := fieldPath("spec")
	if c.Spec.APIEndpoint != "" {
		u, err := url.Parse(c.Spec.APIEndpoint)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, Invalid(p.Child("apiEndpoint").String(), c.Spec.APIEndpoint, "must be an http or https URL"))
		}
	}
	errs = append(errs, requiredName(p.Child("region"), c.Spec.Region, dnsLabel)...)
	for i, z := range c.Spec.Zones {
		errs = append(errs, requiredName(p.Child("zones").Index(i), z, dnsLabel)...)
	}
	for i, cond := range c.Status.Conditions {
		errs = append(errs, validateConditionStatus(cond.Type == "", cond.Status, fieldPath("status").Child("conditions").Index(i))...)
	}
	return errs
}

func validatePlacement(pl *Placement) FieldErrors {
	errs := validateObjectMeta(&pl.ObjectMeta, true, dnsSubdomain)
	p := fieldPath("spec")
	if len(pl.Spec.ResourceSelectors) == 0 {
		errs = append(errs, Required(p.Child("resourceSelectors").String(), "must select at least one kind of object"))
	}
	for i, s := range pl.Spec.ResourceSelectors {
		q := p.Child("resourceSelectors").Index(i)
		if s.Kind == "" {
			errs = append(errs, Required(q.Child("kind").String(), ""))
		}
		errs = append(errs, optionalName(q.Child("name"), s.Name, dnsSubdomain)...)
		if s.Name != "" && s.LabelSelector != nil {
			errs = append(errs, Forbidden(q.Child("labelSelector").String(), "may not be set together with `name`"))
		}
		errs = append(errs, validateLabelSelector(s.LabelSelector, q.Child("labelSelector"))...)
	}
	errs = append(errs, validateLabelSelector(pl.Spec.ClusterSelector, p.Child("clusterSelector"))...)
	if r := pl.Spec.Replicas; r != nil {
		q := p.Child("replicas")
		errs = append(errs, optionalEnum(q.Child("type"), r.Type, ReplicaPolicyDuplicated, ReplicaPolicyDivided)...)
		for _, c := range sortedKeys(r.Weights) {
			errs = append(errs, nonNegative(q.Child("weights").Key(c), r.Weights[c])...)
		}
	}
	return errs
}

package v1

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

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
	errs = append(errs, validateTaints(c.Spec.Taints, p.Child("taints"))...)
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
		if s.Namespace != "" && s.Namespace != pl.Namespace {
			errs = append(errs, Invalid(q.Child("namespace").String(), s.Namespace, "a Placement selects objects in its own namespace "+strconv.Quote(pl.Namespace)))
		}
		errs = append(errs, optionalName(q.Child("name"), s.Name, dnsSubdomain)...)
		if s.Name != "" && s.LabelSelector != nil {
			errs = append(errs, Forbidden(q.Child("labelSelector").String(), "may not be set together with `name`"))
		}
		errs = append(errs, validateLabelSelector(s.LabelSelector, q.Child("labelSelector"))...)
	}
	if a := pl.Spec.ClusterAffinity; a != nil {
		q := p.Child("clusterAffinity")
		for i, n := range a.ClusterNames {
			errs = append(errs, requiredName(q.Child("clusterNames").Index(i), n, dnsLabel)...)
		}
		for i, n := range a.ExcludeClusters {
			errs = append(errs, requiredName(q.Child("exclude").Index(i), n, dnsLabel)...)
		}
		errs = append(errs, validateLabelSelector(a.LabelSelector, q.Child("labelSelector"))...)
	}
	errs = append(errs, validateTolerations(pl.Spec.ClusterTolerations, p.Child("clusterTolerations"))...)
	for i, sc := range pl.Spec.SpreadConstraints {
		q := p.Child("spreadConstraints").Index(i)
		if sc.SpreadByField == "" {
			errs = append(errs, Required(q.Child("spreadByField").String(), "one of region, zone, cluster"))
		} else {
			errs = append(errs, optionalEnum(q.Child("spreadByField"), sc.SpreadByField, SpreadByRegion, SpreadByZone, SpreadByCluster)...)
		}
		errs = append(errs, nonNegative(q.Child("minGroups"), sc.MinGroups)...)
		errs = append(errs, nonNegative(q.Child("maxGroups"), sc.MaxGroups)...)
		if sc.MaxGroups > 0 && sc.MinGroups > sc.MaxGroups {
			errs = append(errs, Invalid(q.Child("minGroups").String(), sc.MinGroups, "must not be more than maxGroups"))
		}
	}
	if r := pl.Spec.ReplicaScheduling; r != nil {
		q := p.Child("replicaScheduling")
		errs = append(errs, optionalEnum(q.Child("type"), r.Type, ReplicaSchedulingDuplicated, ReplicaSchedulingDivided)...)
		if r.Type == ReplicaSchedulingDuplicated && len(r.Weights) > 0 {
			errs = append(errs, Forbidden(q.Child("weights").String(), "weights apply to type Divided only"))
		}
		seen := map[string]bool{}
		for i, w := range r.Weights {
			wq := q.Child("weights").Index(i)
			if len(w.Clusters) == 0 {
				errs = append(errs, Required(wq.Child("clusters").String(), "name at least one cluster"))
			}
			for j, c := range w.Clusters {
				errs = append(errs, requiredName(wq.Child("clusters").Index(j), c, dnsLabel)...)
				if seen[c] {
					errs = append(errs, Invalid(wq.Child("clusters").Index(j).String(), c, "cluster already has a weight"))
				}
				seen[c] = true
			}
			errs = append(errs, nonNegative(wq.Child("weight"), w.Weight)...)
		}
	}
	for i, o := range pl.Spec.Overrides {
		q := p.Child("overrides").Index(i)
		if len(o.Clusters) == 0 && o.LabelSelector == nil {
			errs = append(errs, Required(q.Child("clusters").String(), "name clusters or give a labelSelector"))
		}
		errs = append(errs, validateLabelSelector(o.LabelSelector, q.Child("labelSelector"))...)
		for j, rs := range o.ResourceSelectors {
			rq := q.Child("resourceSelectors").Index(j)
			if rs.Kind == "" {
				errs = append(errs, Required(rq.Child("kind").String(), ""))
			}
			errs = append(errs, validateLabelSelector(rs.LabelSelector, rq.Child("labelSelector"))...)
		}
		if len(o.Set) == 0 && len(o.JSONPatch) == 0 {
			errs = append(errs, Required(q.Child("set").String(), "an override must set a field or carry a jsonPatch"))
		}
		for j, f := range o.Set {
			if f.Path == "" {
				errs = append(errs, Required(q.Child("set").Index(j).Child("path").String(), ""))
			}
			if len(f.Value) == 0 || !json.Valid(f.Value) {
				errs = append(errs, Required(q.Child("set").Index(j).Child("value").String(), "a JSON value"))
			}
		}
		for j, op := range o.JSONPatch {
			jq := q.Child("jsonPatch").Index(j)
			errs = append(errs, optionalEnum(jq.Child("op"), op.Op, "add", "remove", "replace", "test")...)
			if op.Op == "" {
				errs = append(errs, Required(jq.Child("op").String(), "add, remove, replace or test"))
			}
			if !strings.HasPrefix(op.Path, "/") {
				errs = append(errs, Invalid(jq.Child("path").String(), op.Path, "must be a JSON pointer (starting with /)"))
			}
			if op.Op != "remove" && len(op.Value) == 0 {
				errs = append(errs, Required(jq.Child("value").String(), "op "+op.Op+" needs a value"))
			}
		}
	}
	if f := pl.Spec.Failover; f != nil {
		q := p.Child("failover").Child("policy")
		errs = append(errs, optionalEnum(q, f.Policy, FailoverNever, FailoverAutomatic)...)
		for name, d := range map[string]*Duration{"fencingPeriod": f.FencingPeriod, "gracePeriod": f.GracePeriod} {
			if d != nil && d.Duration < time.Second {
				errs = append(errs, Invalid(p.Child("failover").Child(name).String(), d.Duration.String(), "must be at least 1s"))
			}
		}
	}
	return errs
}

func validateWork(w *Work) FieldErrors {
	errs := validateObjectMeta(&w.ObjectMeta, true, dnsSubdomain)
	p := fieldPath("spec")
	errs = append(errs, requiredName(p.Child("cluster"), w.Spec.Cluster, dnsLabel)...)
	if w.Spec.Source.Kind == "" || w.Spec.Source.Name == "" {
		errs = append(errs, Required(p.Child("source").String(), "the federated object's kind and name"))
	}
	if len(w.Spec.Manifest) == 0 || !json.Valid(w.Spec.Manifest) {
		errs = append(errs, Required(p.Child("manifest").String(), "the rendered object, as JSON"))
	}
	return errs
}

func validateFederatedEndpoints(e *FederatedEndpoints) FieldErrors {
	errs := validateObjectMeta(&e.ObjectMeta, true, dnsSubdomain)
	p := fieldPath("spec")
	errs = append(errs, requiredName(p.Child("federation"), e.Spec.Federation, dnsLabel)...)
	errs = append(errs, requiredName(p.Child("domain"), e.Spec.Domain, dnsSubdomain)...)
	errs = append(errs, requiredName(p.Child("namespace"), e.Spec.Namespace, dnsLabel)...)
	errs = append(errs, requiredName(p.Child("service"), e.Spec.Service, dnsLabel)...)
	for i, sh := range e.Spec.Shards {
		q := p.Child("shards").Index(i)
		errs = append(errs, requiredName(q.Child("cluster"), sh.Cluster, dnsLabel)...)
		for j, a := range sh.Addresses {
			if net.ParseIP(a) == nil {
				errs = append(errs, Invalid(q.Child("addresses").Index(j).String(), a, "must be an IP address"))
			}
		}
		for j, pa := range sh.Pets {
			if net.ParseIP(pa.IP) == nil {
				errs = append(errs, Invalid(q.Child("pets").Index(j).Child("ip").String(), pa.IP, "must be an IP address"))
			}
		}
	}
	return errs
}

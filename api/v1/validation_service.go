package v1

import (
	"fmt"
	"net"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// noNodePorts is why NodePort and LoadBalancer services are refused, and
// what clients do instead.
const noNodePorts = "not supported: Kennel has no load balancer or node ports; " +
	"clients resolve the service name by DNS to its ready endpoints"

func validateService(s *Service) FieldErrors {
	errs := validateObjectMeta(&s.ObjectMeta, true, dnsLabel)
	spec := &s.Spec
	p := fieldPath("spec")
	switch spec.Type {
	case "", ServiceTypeClusterIP:
		if len(spec.Ports) == 0 && spec.ClusterIP != ClusterIPNone {
			errs = append(errs, Required(p.Child("ports").String(), "a service that is not headless must have ports"))
		}
	case ServiceTypeExternalName:
		if spec.ExternalName == "" {
			errs = append(errs, Required(p.Child("externalName").String(), "required for an ExternalName service"))
		} else {
			name := strings.TrimSuffix(spec.ExternalName, ".")
			errs = append(errs, invalidMsgs(p.Child("externalName"), spec.ExternalName, validation.IsDNS1123Subdomain(name))...)
		}
		if spec.ClusterIP != "" && spec.ClusterIP != ClusterIPNone {
			errs = append(errs, Forbidden(p.Child("clusterIP").String(), "may not be set for an ExternalName service"))
		}
		// The external name is the whole answer; pods are never selected.
		if len(spec.Selector) > 0 {
			errs = append(errs, Forbidden(p.Child("selector").String(), "may not be set for an ExternalName service"))
		}
	case ServiceTypeNodePort, ServiceTypeLoadBalancer:
		errs = append(errs, FieldError{Type: FieldNotSupported, Field: p.Child("type").String(),
			Detail: fmt.Sprintf("%q %s", spec.Type, noNodePorts)})
	default:
		errs = append(errs, NotSupported(p.Child("type").String(), string(spec.Type),
			string(ServiceTypeClusterIP), string(ServiceTypeExternalName)))
	}
	errs = append(errs, validateServicePorts(spec.Ports, p.Child("ports"))...)
	errs = append(errs, validateLabels(spec.Selector, p.Child("selector"))...)
	if ip := spec.ClusterIP; ip != "" && ip != ClusterIPNone && net.ParseIP(ip) == nil {
		errs = append(errs, Invalid(p.Child("clusterIP").String(), ip, "must be empty, 'None', or an IP address"))
	}
	for i, ip := range spec.ClusterIPs {
		q := p.Child("clusterIPs").Index(i)
		if i == 0 && spec.ClusterIP != "" && ip != spec.ClusterIP {
			errs = append(errs, Invalid(q.String(), ip, "must match `clusterIP` when both are specified"))
		} else if ip != ClusterIPNone && net.ParseIP(ip) == nil {
			errs = append(errs, Invalid(q.String(), ip, "must be 'None' or an IP address"))
		}
	}
	errs = append(errs, optionalEnum(p.Child("sessionAffinity"), spec.SessionAffinity, ServiceAffinityNone, ServiceAffinityClientIP)...)
	for i, f := range spec.IPFamilies {
		errs = append(errs, notSupportedValue(p.Child("ipFamilies").Index(i), f, "IPv4", "IPv6")...)
	}
	if v := spec.IPFamilyPolicy; v != nil {
		errs = append(errs, notSupportedValue(p.Child("ipFamilyPolicy"), *v, "SingleStack", "PreferDualStack", "RequireDualStack")...)
	}
	if v := spec.InternalTrafficPolicy; v != nil {
		errs = append(errs, notSupportedValue(p.Child("internalTrafficPolicy"), *v, "Cluster", "Local")...)
	}
	return errs
}

func validateServicePorts(ports []ServicePort, p fieldPath) FieldErrors {
	var errs FieldErrors
	names := map[string]bool{}
	seen := map[string]bool{}
	for i, port := range ports {
		q := p.Index(i)
		if len(ports) > 1 && port.Name == "" {
			errs = append(errs, Required(q.Child("name").String(), "each port must be named when a service has more than one"))
		}
		if port.Name != "" {
			errs = append(errs, invalidMsgs(q.Child("name"), port.Name, validation.IsValidPortName(port.Name))...)
			if names[port.Name] {
				errs = append(errs, Duplicate(q.Child("name").String(), port.Name))
			}
			names[port.Name] = true
		}
		errs = append(errs, invalidMsgs(q.Child("port"), port.Port, validation.IsValidPortNum(int(port.Port)))...)
		errs = append(errs, optionalEnum(q.Child("protocol"), port.Protocol, ProtocolTCP, ProtocolUDP, ProtocolSCTP)...)
		// An unset targetPort is defaulted to port.
		if port.TargetPort.IntVal != 0 || port.TargetPort.StrVal != "" {
			errs = append(errs, validateIntOrStringPort(port.TargetPort, q.Child("targetPort"))...)
		}
		if port.NodePort != 0 {
			errs = append(errs, FieldError{Type: FieldNotSupported, Field: q.Child("nodePort").String(), Detail: noNodePorts})
		}
		id := fmt.Sprintf("%d/%s", port.Port, protocolOrTCP(port.Protocol))
		if seen[id] {
			errs = append(errs, Duplicate(q.String(), id))
		}
		seen[id] = true
	}
	return errs
}

func protocolOrTCP(p Protocol) Protocol {
	if p == "" {
		return ProtocolTCP
	}
	return p
}

func validateServiceUpdate(old, new *Service) FieldErrors {
	var errs FieldErrors
	if old.Spec.ClusterIP != "" && new.Spec.ClusterIP != old.Spec.ClusterIP {
		errs = append(errs, Immutable("spec.clusterIP"))
	}
	if len(old.Spec.ClusterIPs) > 0 && !semanticEqual(old.Spec.ClusterIPs, new.Spec.ClusterIPs) {
		errs = append(errs, Immutable("spec.clusterIPs"))
	}
	return errs
}

func validateEndpoints(e *Endpoints) FieldErrors {
	errs := validateObjectMeta(&e.ObjectMeta, true, dnsSubdomain)
	for i := range e.Subsets {
		s := &e.Subsets[i]
		p := fieldPath("subsets").Index(i)
		errs = append(errs, validateEndpointAddresses(s.Addresses, p.Child("addresses"))...)
		errs = append(errs, validateEndpointAddresses(s.NotReadyAddresses, p.Child("notReadyAddresses"))...)
		names := map[string]bool{}
		for j, port := range s.Ports {
			q := p.Child("ports").Index(j)
			if len(s.Ports) > 1 && port.Name == "" {
				errs = append(errs, Required(q.Child("name").String(), "each port must be named when a subset has more than one"))
			}
			if port.Name != "" {
				errs = append(errs, invalidMsgs(q.Child("name"), port.Name, validation.IsValidPortName(port.Name))...)
				if names[port.Name] {
					errs = append(errs, Duplicate(q.Child("name").String(), port.Name))
				}
				names[port.Name] = true
			}
			errs = append(errs, invalidMsgs(q.Child("port"), port.Port, validation.IsValidPortNum(int(port.Port)))...)
			errs = append(errs, optionalEnum(q.Child("protocol"), port.Protocol, ProtocolTCP, ProtocolUDP, ProtocolSCTP)...)
		}
	}
	return errs
}

func validateEndpointAddresses(as []EndpointAddress, p fieldPath) FieldErrors {
	var errs FieldErrors
	for i, a := range as {
		q := p.Index(i)
		if net.ParseIP(a.IP) == nil {
			errs = append(errs, Invalid(q.Child("ip").String(), a.IP, "must be a valid IP address"))
		}
		errs = append(errs, optionalName(q.Child("hostname"), a.Hostname, dnsLabel)...)
		if a.NodeName != nil {
			errs = append(errs, optionalName(q.Child("nodeName"), *a.NodeName, dnsSubdomain)...)
		}
	}
	return errs
}

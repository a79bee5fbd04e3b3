package endpoints

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// Labels the controller puts on the Endpoints it writes, besides the
// service's own labels.
const (
	// LabelManagedBy marks Endpoints written by this controller, so that
	// they are deleted when their service loses its selector while
	// Endpoints a user wrote for a service without one are left alone.
	LabelManagedBy = "endpoints.kennel.io/managed-by"
	// ManagedBy is the value of LabelManagedBy.
	ManagedBy = "endpoints-controller"
	// LabelHeadless is set (empty) on the Endpoints of a headless service,
	// as Kubernetes does.
	LabelHeadless = "service.kubernetes.io/headless"
)

// managed reports whether the controller keeps svc's Endpoints: a service
// with a selector that is not ExternalName. The others are the user's.
func managed(svc *v1.Service) bool {
	return svc.Spec.Type != v1.ServiceTypeExternalName && len(svc.Spec.Selector) > 0
}

// selects reports whether svc's selector matches a pod's labels. An empty
// selector selects nothing: such a service has no Endpoints from us.
func selects(svc *v1.Service, labels map[string]string) bool {
	if len(svc.Spec.Selector) == 0 {
		return false
	}
	for k, v := range svc.Spec.Selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// desiredEndpoints is the Endpoints object svc should have, given the pods
// its selector matches.
func desiredEndpoints(svc *v1.Service, pods []*v1.Pod) *v1.Endpoints {
	return &v1.Endpoints{
		ObjectMeta: v1.ObjectMeta{Name: svc.Name, Namespace: svc.Namespace, Labels: endpointsLabels(svc)},
		Subsets:    subsets(svc, pods),
	}
}

// endpointsLabels are the service's labels, the headless mark when it is
// headless, and the controller's mark.
func endpointsLabels(svc *v1.Service) map[string]string {
	l := maps.Clone(svc.Labels)
	if l == nil {
		l = map[string]string{}
	}
	delete(l, LabelHeadless)
	if svc.Spec.ClusterIP == v1.ClusterIPNone {
		l[LabelHeadless] = ""
	}
	l[LabelManagedBy] = ManagedBy
	return l
}

// subsets computes the subsets of svc's Endpoints from the pods its
// selector matches, as Kubernetes' endpoints controller does: pods without
// an IP, terminal pods, and terminating pods (unless the service publishes
// not-ready addresses) are left out; a pod goes into addresses when it is
// Ready or the service publishes not-ready addresses, else into
// notReadyAddresses; pods are grouped by the ports the service's ports
// resolve to on them, and a pod on which a named targetPort does not
// resolve is left out of that port only. The result is sorted (subsets by
// ports, addresses by IP), so equal input gives equal output.
func subsets(svc *v1.Service, pods []*v1.Pod) []v1.EndpointSubset {
	type group struct {
		ports           []v1.EndpointPort
		ready, notReady []v1.EndpointAddress
	}
	groups := map[string]*group{}
	for _, pod := range pods {
		if !included(svc, pod) {
			continue
		}
		ports, ok := podPorts(svc, pod)
		if !ok {
			continue
		}
		key := portsKey(ports)
		g := groups[key]
		if g == nil {
			g = &group{ports: ports}
			groups[key] = g
		}
		a := address(svc, pod)
		if svc.Spec.PublishNotReadyAddresses || v1.IsPodReady(pod) {
			g.ready = append(g.ready, a)
		} else {
			g.notReady = append(g.notReady, a)
		}
	}
	var out []v1.EndpointSubset
	for _, key := range slices.Sorted(maps.Keys(groups)) {
		g := groups[key]
		slices.SortFunc(g.ready, compareAddresses)
		slices.SortFunc(g.notReady, compareAddresses)
		out = append(out, v1.EndpointSubset{Addresses: g.ready, NotReadyAddresses: g.notReady, Ports: g.ports})
	}
	return out
}

// included reports whether pod has a place in svc's endpoints at all.
func included(svc *v1.Service, pod *v1.Pod) bool {
	switch {
	case pod.Status.PodIP == "", v1.IsPodTerminal(pod):
		return false
	case pod.DeletionTimestamp != nil:
		// A terminating pod still answers while it stops; only a service
		// that wants not-ready addresses keeps publishing it.
		return svc.Spec.PublishNotReadyAddresses
	}
	return true
}

// address is pod's entry in svc's endpoints. The hostname is published
// only when the pod asks to be named under this service (SPECS.md §2).
func address(svc *v1.Service, pod *v1.Pod) v1.EndpointAddress {
	a := v1.EndpointAddress{
		IP:        pod.Status.PodIP,
		TargetRef: &v1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
	}
	if pod.Spec.Hostname != "" && pod.Spec.Subdomain == svc.Name && pod.Namespace == svc.Namespace {
		a.Hostname = pod.Spec.Hostname
	}
	if pod.Spec.NodeName != "" {
		nodeName := pod.Spec.NodeName
		a.NodeName = &nodeName
	}
	return a
}

// podPorts resolves svc's ports on pod, in the service's order. ok is
// false when the pod serves none of them: a headless service without
// ports lists every pod with no ports; any other service without ports
// lists none.
func podPorts(svc *v1.Service, pod *v1.Pod) (ports []v1.EndpointPort, ok bool) {
	if len(svc.Spec.Ports) == 0 {
		return nil, svc.Spec.ClusterIP == v1.ClusterIPNone
	}
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		n, found := findPort(pod, sp)
		if !found {
			continue
		}
		ports = append(ports, v1.EndpointPort{Name: sp.Name, Port: n, Protocol: protocolOrTCP(sp.Protocol), AppProtocol: sp.AppProtocol})
	}
	return ports, len(ports) > 0
}

// findPort resolves a service port's targetPort on pod: a number as is
// (unset means the service port), a name by the container port of that
// name and protocol.
func findPort(pod *v1.Pod, sp *v1.ServicePort) (int32, bool) {
	tp := sp.TargetPort
	if tp.Type == intstr.Int {
		if tp.IntVal == 0 {
			return sp.Port, true
		}
		return tp.IntVal, true
	}
	proto := protocolOrTCP(sp.Protocol)
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.Name == tp.StrVal && protocolOrTCP(p.Protocol) == proto {
				return p.ContainerPort, true
			}
		}
	}
	return 0, false
}

// protocolOrTCP is p with the API server's default applied, so that what
// the controller computes equals what it reads back.
func protocolOrTCP(p v1.Protocol) v1.Protocol {
	if p == "" {
		return v1.ProtocolTCP
	}
	return p
}

// portsKey identifies a set of resolved ports; pods with equal keys share a
// subset.
func portsKey(ports []v1.EndpointPort) string {
	parts := make([]string, len(ports))
	for i, p := range ports {
		parts[i] = fmt.Sprintf("%s/%s/%d", p.Name, p.Protocol, p.Port)
	}
	return strings.Join(parts, ",")
}

// compareAddresses orders addresses by IP (numerically when both parse),
// then by pod name.
func compareAddresses(a, b v1.EndpointAddress) int {
	ai, aerr := netip.ParseAddr(a.IP)
	bi, berr := netip.ParseAddr(b.IP)
	c := 0
	if aerr == nil && berr == nil {
		c = ai.Compare(bi)
	} else {
		c = strings.Compare(a.IP, b.IP)
	}
	if c != 0 {
		return c
	}
	return strings.Compare(targetName(a), targetName(b))
}

func targetName(a v1.EndpointAddress) string {
	if a.TargetRef == nil {
		return ""
	}
	return a.TargetRef.Name
}

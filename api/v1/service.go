package v1

import "k8s.io/apimachinery/pkg/util/intstr"

// Service names a set of pods (by selector) and their ports, and publishes
// them in DNS. Kennel has no virtual IPs: a service is headless
// (clusterIP: None) or ExternalName in effect, whatever clusterIP says.
type Service struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       ServiceSpec   `json:"spec,omitempty"`
	Status     ServiceStatus `json:"status,omitempty"`
}

// ServiceType says how a service is reached.
type ServiceType string

// The service types. NodePort and LoadBalancer are defined so they can be
// named in errors; Kennel rejects them.
const (
	ServiceTypeClusterIP    ServiceType = "ClusterIP"
	ServiceTypeExternalName ServiceType = "ExternalName"
	ServiceTypeNodePort     ServiceType = "NodePort"
	ServiceTypeLoadBalancer ServiceType = "LoadBalancer"
)

// ClusterIPNone marks a headless service.
const ClusterIPNone = "None"

// ServiceAffinity is None or ClientIP.
type ServiceAffinity string

// The session affinities.
const (
	ServiceAffinityNone     ServiceAffinity = "None"
	ServiceAffinityClientIP ServiceAffinity = "ClientIP"
)

// ServiceSpec is the desired state of a service.
type ServiceSpec struct {
	Ports    []ServicePort     `json:"ports,omitempty"`
	Selector map[string]string `json:"selector,omitempty"`
	// ClusterIP is "" or "None" in practice; any IP is accepted for
	// compatibility but Kennel allocates none and routes none.
	ClusterIP                string          `json:"clusterIP,omitempty"`
	ClusterIPs               []string        `json:"clusterIPs,omitempty"`
	Type                     ServiceType     `json:"type,omitempty"`
	ExternalName             string          `json:"externalName,omitempty"`
	SessionAffinity          ServiceAffinity `json:"sessionAffinity,omitempty"`
	PublishNotReadyAddresses bool            `json:"publishNotReadyAddresses,omitempty"`
	IPFamilies               []string        `json:"ipFamilies,omitempty"`
	IPFamilyPolicy           *string         `json:"ipFamilyPolicy,omitempty"`
	InternalTrafficPolicy    *string         `json:"internalTrafficPolicy,omitempty"`
}

// ServicePort is one port of a service. Named ports get SRV records.
type ServicePort struct {
	Name        string             `json:"name,omitempty"`
	Protocol    Protocol           `json:"protocol,omitempty"`
	AppProtocol *string            `json:"appProtocol,omitempty"`
	Port        int32              `json:"port"`
	TargetPort  intstr.IntOrString `json:"targetPort,omitempty"`
	// NodePort exists so Kubernetes manifests decode; Kennel rejects any
	// value but 0.
	NodePort int32 `json:"nodePort,omitempty"`
}

// ServiceStatus is the observed state of a service. LoadBalancer stays
// empty; it exists because Kubernetes tools write `loadBalancer: {}`.
type ServiceStatus struct {
	LoadBalancer LoadBalancerStatus `json:"loadBalancer,omitempty"`
	Conditions   []Condition        `json:"conditions,omitempty"`
}

// LoadBalancerStatus is always empty in Kennel.
type LoadBalancerStatus struct {
	Ingress []LoadBalancerIngress `json:"ingress,omitempty"`
}

// LoadBalancerIngress is an address of a load balancer.
type LoadBalancerIngress struct {
	IP       string `json:"ip,omitempty"`
	Hostname string `json:"hostname,omitempty"`
}

// Endpoints lists the addresses behind a service, maintained by the
// endpoints controller and read by DNS.
type Endpoints struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Subsets    []EndpointSubset `json:"subsets,omitempty"`
}

// EndpointSubset is a set of addresses that all serve the same ports.
type EndpointSubset struct {
	Addresses         []EndpointAddress `json:"addresses,omitempty"`
	NotReadyAddresses []EndpointAddress `json:"notReadyAddresses,omitempty"`
	Ports             []EndpointPort    `json:"ports,omitempty"`
}

// EndpointAddress is one address, with the pod behind it.
type EndpointAddress struct {
	IP        string           `json:"ip"`
	Hostname  string           `json:"hostname,omitempty"`
	NodeName  *string          `json:"nodeName,omitempty"`
	TargetRef *ObjectReference `json:"targetRef,omitempty"`
}

// EndpointPort is one port of a subset.
type EndpointPort struct {
	Name        string   `json:"name,omitempty"`
	Port        int32    `json:"port"`
	Protocol    Protocol `json:"protocol,omitempty"`
	AppProtocol *string  `json:"appProtocol,omitempty"`
}

package v1

// Labels and annotations the agent, scheduler and controllers agree on
// (the topology labels are in common.go).
const (
	// LabelRuntimeImages is "true" on nodes whose runtime can run
	// container images. The process runtime cannot, so its nodes carry
	// "false" and pods that set an image stay Pending.
	LabelRuntimeImages = "kennel.io/runtime-images"
	// LabelPodTemplateHash tells a Deployment's pods of one template
	// apart from another's.
	LabelPodTemplateHash = "pod-template-hash"

	// AnnotationAgentCertSHA256 is the hex SHA-256 of the agent's serving
	// certificate (DER); the API server pins it when it proxies logs and
	// exec to the agent.
	AnnotationAgentCertSHA256 = "kennel.io/agent-cert-sha256"
)

// AgentProxyClientCN is the CommonName of the client certificate, signed
// by the cluster CA, that the API server presents to node agents when it
// proxies logs and exec; agents accept no other.
const AgentProxyClientCN = "kennel-apiserver"

// Node lease timing: the agent renews its Lease in kennel-node-lease every
// NodeLeaseRenewSeconds; the node lifecycle controller marks a node whose
// Lease is older than its grace period (default NodeMonitorGraceSeconds)
// NotReady.
const (
	NodeLeaseDurationSeconds = 40
	NodeLeaseRenewSeconds    = 5
	NodeMonitorGraceSeconds  = 20
	// DefaultNotReadyTolerationSeconds is how long a pod that does not
	// say otherwise stays bound to a NotReady or unreachable node before
	// it is evicted (pets are never evicted this way).
	DefaultNotReadyTolerationSeconds = 30
)

// Reasons of the node's Ready condition.
const (
	NodeReasonAgentReady        = "AgentReady"
	NodeReasonNodeStatusUnknown = "NodeStatusUnknown"
)

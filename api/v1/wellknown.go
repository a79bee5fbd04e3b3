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

// Volume binding and QoS annotations, parameters and finalizers (the
// Kubernetes names where Kubernetes has one).
const (
	// AnnotationSelectedNode on a claim names the node its volume is to
	// be provisioned on: set by the scheduler for WaitForFirstConsumer
	// claims and by the volume binding controller for Immediate ones.
	AnnotationSelectedNode = "volume.kubernetes.io/selected-node"
	// AnnotationSelectedDevice on a claim names the storage device of the
	// selected node (NodeStorageDevice.Name) whose capacity and QoS the
	// claim reserves.
	AnnotationSelectedDevice = "kennel.io/selected-device"
	// AnnotationStorageProvisioner on a claim names the provisioner asked
	// to provision it.
	AnnotationStorageProvisioner = "volume.kubernetes.io/storage-provisioner"
	// AnnotationProvisionedBy on a volume names the provisioner that made
	// it (and so must delete it).
	AnnotationProvisionedBy = "pv.kubernetes.io/provisioned-by"
	// AnnotationVolumeNode and AnnotationVolumeDevice on a volume name
	// the node and device it was carved from, for reservation accounting.
	AnnotationVolumeNode   = "kennel.io/storage-node"
	AnnotationVolumeDevice = "kennel.io/storage-device"

	// The QoS limits of a volume, copied from its class when it is
	// provisioned (users may set them on volumes they make): IOPS as an
	// integer, bandwidth as bytes per second ("50Mi").
	AnnotationQoSReadIOPS       = "qos.kennel.io/read-iops"
	AnnotationQoSWriteIOPS      = "qos.kennel.io/write-iops"
	AnnotationQoSReadBandwidth  = "qos.kennel.io/read-bandwidth"
	AnnotationQoSWriteBandwidth = "qos.kennel.io/write-bandwidth"

	// FinalizerPVCProtection keeps a claim that a pod uses until no pod
	// does; FinalizerPVProtection keeps a bound volume until it is
	// released.
	FinalizerPVCProtection = "kubernetes.io/pvc-protection"
	FinalizerPVProtection  = "kubernetes.io/pv-protection"
)

// StorageClass parameters Kennel reads.
const (
	// The QoS of a class: each is a limit on every volume of the class
	// and, summed (read+write), the reservation it holds on its device.
	ParamReadIOPS       = "readIOPS"
	ParamWriteIOPS      = "writeIOPS"
	ParamReadBandwidth  = "readBandwidth"
	ParamWriteBandwidth = "writeBandwidth"
	// ParamFSType asks the local driver for a loop-device filesystem
	// (ext4, xfs) instead of a plain directory; for FlexVolume classes it
	// is the volume's fsType.
	ParamFSType = "fsType"
	// ParamDevice restricts a local class to devices of this name.
	ParamDevice = "device"
	// ParamFlexDriver is the "vendor/driver" of a FlexVolume class; the
	// class's other parameters that are not QoS become the volume's
	// options.
	ParamFlexDriver = "driver"
)

// The provisioners built in to Kennel.
const (
	ProvisionerLocal = "kennel.io/local"
	ProvisionerFlex  = "kennel.io/flexvolume"
	// ProvisionerNone is the provisioner of classes whose volumes are all
	// made by hand (Kubernetes' name): only pre-made volumes bind.
	ProvisionerNone = "kubernetes.io/no-provisioner"
)

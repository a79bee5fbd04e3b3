package v1

import "k8s.io/apimachinery/pkg/api/resource"

// Node is a host that runs pods; its agent registers it and keeps its status
// current.
type Node struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       NodeSpec   `json:"spec,omitempty"`
	Status     NodeStatus `json:"status,omitempty"`
}

// NodeSpec is what operators set on a node.
type NodeSpec struct {
	// PodCIDR is the range pod addresses come from; on one machine a
	// loopback range such as 127.3.0.0/16.
	PodCIDR       string   `json:"podCIDR,omitempty"`
	PodCIDRs      []string `json:"podCIDRs,omitempty"`
	Unschedulable bool     `json:"unschedulable,omitempty"`
	Taints        []Taint  `json:"taints,omitempty"`
}

// TaintEffect says what a taint does to pods that do not tolerate it.
type TaintEffect string

// The taint effects.
const (
	TaintEffectNoSchedule       TaintEffect = "NoSchedule"
	TaintEffectPreferNoSchedule TaintEffect = "PreferNoSchedule"
	TaintEffectNoExecute        TaintEffect = "NoExecute"
)

// Taints the node lifecycle controller and the scheduler use.
const (
	TaintNodeNotReady      = "node.kubernetes.io/not-ready"
	TaintNodeUnreachable   = "node.kubernetes.io/unreachable"
	TaintNodeUnschedulable = "node.kubernetes.io/unschedulable"
)

// Taint repels pods that do not tolerate it.
type Taint struct {
	Key       string      `json:"key"`
	Value     string      `json:"value,omitempty"`
	Effect    TaintEffect `json:"effect"`
	TimeAdded *Time       `json:"timeAdded,omitempty"`
}

// NodeConditionType names a node condition.
type NodeConditionType string

// The node conditions.
const (
	NodeReady              NodeConditionType = "Ready"
	NodeMemoryPressure     NodeConditionType = "MemoryPressure"
	NodeDiskPressure       NodeConditionType = "DiskPressure"
	NodePIDPressure        NodeConditionType = "PIDPressure"
	NodeNetworkUnavailable NodeConditionType = "NetworkUnavailable"
)

// NodeCondition is one condition of a node.
type NodeCondition struct {
	Type               NodeConditionType `json:"type"`
	Status             ConditionStatus   `json:"status"`
	LastHeartbeatTime  *Time             `json:"lastHeartbeatTime,omitempty"`
	LastTransitionTime *Time             `json:"lastTransitionTime,omitempty"`
	Reason             string            `json:"reason,omitempty"`
	Message            string            `json:"message,omitempty"`
}

// NodeAddressType classifies a node address.
type NodeAddressType string

// The node address types.
const (
	NodeHostName    NodeAddressType = "Hostname"
	NodeInternalIP  NodeAddressType = "InternalIP"
	NodeExternalIP  NodeAddressType = "ExternalIP"
	NodeInternalDNS NodeAddressType = "InternalDNS"
	NodeExternalDNS NodeAddressType = "ExternalDNS"
)

// NodeAddress is one address of a node.
type NodeAddress struct {
	Type    NodeAddressType `json:"type"`
	Address string          `json:"address"`
}

// NodeStatus is what the agent reports about its node. Capacity and
// allocatable carry cpu, memory, pods and Kennel's node-local resources
// (kennel.io/network-bandwidth); per-device storage is in Storage.
type NodeStatus struct {
	Capacity    ResourceList    `json:"capacity,omitempty"`
	Allocatable ResourceList    `json:"allocatable,omitempty"`
	Conditions  []NodeCondition `json:"conditions,omitempty"`
	Addresses   []NodeAddress   `json:"addresses,omitempty"`
	NodeInfo    NodeSystemInfo  `json:"nodeInfo,omitempty"`
	// Storage lists the devices (or pools) local volumes are carved from,
	// with what each can give; the scheduler subtracts what bound volumes
	// reserve and never over-commits a device. Kennel extension.
	Storage []NodeStorageDevice `json:"storage,omitempty"`
	// Network describes the interface pods' network bandwidth is reserved
	// on. Kennel extension.
	Network *NodeNetwork `json:"network,omitempty"`
	// DaemonEndpoints is where the node's agent serves logs and exec.
	DaemonEndpoints NodeDaemonEndpoints `json:"daemonEndpoints,omitempty"`
}

// NodeDaemonEndpoints lists the ports of the node's daemons.
type NodeDaemonEndpoints struct {
	// KubeletEndpoint is the agent's HTTPS port (on the node's
	// InternalIP); Kubernetes' name for it.
	KubeletEndpoint DaemonEndpoint `json:"kubeletEndpoint,omitempty"`
}

// DaemonEndpoint is one daemon's port.
type DaemonEndpoint struct {
	Port int32 `json:"Port"`
}

// NodeSystemInfo identifies the node's software.
type NodeSystemInfo struct {
	MachineID               string `json:"machineID,omitempty"`
	SystemUUID              string `json:"systemUUID,omitempty"`
	BootID                  string `json:"bootID,omitempty"`
	KernelVersion           string `json:"kernelVersion,omitempty"`
	OSImage                 string `json:"osImage,omitempty"`
	ContainerRuntimeVersion string `json:"containerRuntimeVersion,omitempty"`
	KubeletVersion          string `json:"kubeletVersion,omitempty"`
	OperatingSystem         string `json:"operatingSystem,omitempty"`
	Architecture            string `json:"architecture,omitempty"`
	// KennelVersion is the version of the agent. Kennel extension.
	KennelVersion string `json:"kennelVersion,omitempty"`
	// CgroupVersion is "v1" or "v2". Kennel extension.
	CgroupVersion string `json:"cgroupVersion,omitempty"`
}

// StorageMediaType is the kind of device behind node storage.
type StorageMediaType string

// The storage media types.
const (
	MediaTypeHDD  StorageMediaType = "HDD"
	MediaTypeSSD  StorageMediaType = "SSD"
	MediaTypeNVMe StorageMediaType = "NVMe"
)

// NodeStorageDevice is one storage device or pool of a node.
type NodeStorageDevice struct {
	// Name identifies the device on the node ("data0"); volumes name it.
	Name string `json:"name"`
	// Path is the directory local volumes are created under.
	Path string `json:"path,omitempty"`
	// Device is the block device as "major:minor", the key of cgroup io
	// limits.
	Device    string           `json:"device,omitempty"`
	MediaType StorageMediaType `json:"mediaType,omitempty"`
	// Capacity is the bytes volumes may reserve.
	Capacity resource.Quantity `json:"capacity"`
	// IOPS is the I/O operations per second volumes may reserve.
	IOPS *resource.Quantity `json:"iops,omitempty"`
	// Bandwidth is the bytes per second volumes may reserve.
	Bandwidth *resource.Quantity `json:"bandwidth,omitempty"`
	// Reserved is what the volumes carved from the device hold of it,
	// reported by the agent; Capacity/IOPS/Bandwidth less Reserved is
	// what is left.
	Reserved *StorageReservation `json:"reserved,omitempty"`
}

// StorageReservation is what volumes hold of a storage device.
type StorageReservation struct {
	Volumes   int32             `json:"volumes"`
	Capacity  resource.Quantity `json:"capacity"`
	IOPS      resource.Quantity `json:"iops"`
	Bandwidth resource.Quantity `json:"bandwidth"`
}

// NodeNetwork is the node's pod-facing network interface.
type NodeNetwork struct {
	Interface string `json:"interface,omitempty"`
	// Bandwidth is the bits per second pods may reserve.
	Bandwidth *resource.Quantity `json:"bandwidth,omitempty"`
}

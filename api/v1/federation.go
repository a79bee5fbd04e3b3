package v1

// Cluster is a member of a federation, registered on the federation control
// plane. Its federation agent renews its membership and reports status.
type Cluster struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       ClusterSpec   `json:"spec,omitempty"`
	Status     ClusterStatus `json:"status,omitempty"`
}

// ClusterSpec says where a member cluster is.
type ClusterSpec struct {
	// APIEndpoint is the member's API server URL, when the federation may
	// reach it (members pull, so it is optional).
	APIEndpoint string `json:"apiEndpoint,omitempty"`
	// Region is the member's region, a DNS label used in federated names.
	Region string `json:"region"`
	// Zones are the member's zones, DNS labels used in federated names.
	Zones []string `json:"zones,omitempty"`
}

// The conditions of a Cluster.
const (
	// ClusterReady is True while the member renews its membership lease.
	ClusterReady = "Ready"
)

// ClusterStatus is the observed state of a member cluster.
type ClusterStatus struct {
	Conditions []Condition `json:"conditions,omitempty"`
}

// Placement says which member clusters objects go to.
type Placement struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       PlacementSpec   `json:"spec,omitempty"`
	Status     PlacementStatus `json:"status,omitempty"`
}

// PlacementSpec selects objects and the clusters they are placed on.
type PlacementSpec struct {
	// ResourceSelectors select the objects (in the placement's namespace)
	// this placement places.
	ResourceSelectors []ResourceSelector `json:"resourceSelectors"`
	// ClusterSelector selects member clusters by label; nil selects all.
	ClusterSelector *LabelSelector `json:"clusterSelector,omitempty"`
	// Replicas says how replicated objects spread over the clusters.
	Replicas *ReplicaPolicy `json:"replicas,omitempty"`
}

// ResourceSelector selects objects of one kind, by name or by label.
type ResourceSelector struct {
	APIVersion    string         `json:"apiVersion,omitempty"`
	Kind          string         `json:"kind"`
	Name          string         `json:"name,omitempty"`
	LabelSelector *LabelSelector `json:"labelSelector,omitempty"`
}

// ReplicaPolicyType says whether each cluster gets all replicas or a share.
type ReplicaPolicyType string

// The replica policies.
const (
	// ReplicaPolicyDuplicated gives every selected cluster the full count.
	ReplicaPolicyDuplicated ReplicaPolicyType = "Duplicated"
	// ReplicaPolicyDivided splits the count over the selected clusters by
	// weight (equal weights when none are given).
	ReplicaPolicyDivided ReplicaPolicyType = "Divided"
)

// ReplicaPolicy says how replicas spread over clusters.
type ReplicaPolicy struct {
	Type ReplicaPolicyType `json:"type,omitempty"`
	// Weights maps a cluster name to its relative share under Divided.
	Weights map[string]int32 `json:"weights,omitempty"`
}

// PlacementStatus reports where the placement put things.
type PlacementStatus struct {
	ObservedGeneration int64              `json:"observedGeneration,omitempty"`
	Conditions         []Condition        `json:"conditions,omitempty"`
	Clusters           []ClusterPlacement `json:"clusters,omitempty"`
}

// ClusterPlacement is the share of one cluster.
type ClusterPlacement struct {
	Name     string `json:"name"`
	Replicas *int32 `json:"replicas,omitempty"`
}

package v1

import (
	"encoding/json"
	"fmt"
	"time"
)

// Namespaces of a federation control plane.
const (
	// NamespaceFederation holds the federation's own objects: the
	// FederatedEndpoints its DNS serves (mirrored into every member).
	NamespaceFederation = "kennel-federation"
	// NamespaceClusterLeases holds each member's membership Lease, named
	// after the Cluster.
	NamespaceClusterLeases = "kennel-cluster-lease"
	// MemberNamespacePrefix + cluster name is the namespace that holds
	// the Works of one member: its agent may read only that namespace.
	MemberNamespacePrefix = "kennel-member-"
)

// Labels and annotations of federated objects.
const (
	// LabelFederation marks an object a federation agent applied to a
	// member; its value is the federation's name. An agent never touches
	// an object without it.
	LabelFederation = "kennel.io/federation"
	// LabelWorkCluster is the member a Work is for.
	LabelWorkCluster = "kennel.io/cluster"
	// AnnotationFederationWork is the Work (namespace/name) an object in a
	// member was applied from.
	AnnotationFederationWork = "kennel.io/federation-work"
	// AnnotationWorkGeneration is the Work generation an object in a
	// member was last applied from.
	AnnotationWorkGeneration = "kennel.io/federation-work-generation"
)

// MemberNamespace is the namespace of a member's Works.
func MemberNamespace(cluster string) string { return MemberNamespacePrefix + cluster }

// Cluster is a member of a federation, registered on the federation control
// plane by `kennel federation join`. Its federation agent renews its
// membership Lease (NamespaceClusterLeases/<name>) and reports status.
// Its labels (region=…, compliance=…, security=…) are what Placements
// select on.
type Cluster struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       ClusterSpec   `json:"spec,omitempty"`
	Status     ClusterStatus `json:"status,omitempty"`
}

// ClusterSpec says where a member cluster is.
type ClusterSpec struct {
	// APIEndpoint is the member's API server URL, for information only:
	// members pull, so the federation never needs to reach them.
	APIEndpoint string `json:"apiEndpoint,omitempty"`
	// Region is the member's region, a DNS label used in federated names.
	Region string `json:"region"`
	// Zones are the member's zones, DNS labels used in federated names;
	// the first is the zone its federated DNS names use.
	Zones []string `json:"zones,omitempty"`
	// Taints repel the workloads of Placements that do not tolerate them
	// (effects NoSchedule and PreferNoSchedule).
	Taints []Taint `json:"taints,omitempty"`
}

// The conditions of a Cluster.
const (
	// ClusterReady is True while the member renews its membership lease.
	ClusterReady = "Ready"
)

// ClusterStatus is the observed state of a member cluster, reported by its
// federation agent (the Ready condition by the federation).
type ClusterStatus struct {
	Conditions []Condition `json:"conditions,omitempty"`
	// KennelVersion is the version of the member's control plane.
	KennelVersion string `json:"kennelVersion,omitempty"`
	// Nodes and ReadyNodes count the member's nodes.
	Nodes      int32 `json:"nodes,omitempty"`
	ReadyNodes int32 `json:"readyNodes,omitempty"`
	// Allocatable sums what the member's ready nodes offer; Free is what
	// is left of it after the requests of the pods and claims placed
	// there (cpu, memory, storage, kennel.io/storage-iops,
	// kennel.io/storage-bandwidth, kennel.io/network-bandwidth).
	Allocatable ResourceList `json:"allocatable,omitempty"`
	Free        ResourceList `json:"free,omitempty"`
	// LastRenewTime is when the member last renewed its membership.
	LastRenewTime *MicroTime `json:"lastRenewTime,omitempty"`
}

// Placement says which member clusters objects go to, and how their
// replicas are divided. It is separate from the workload, so a plain
// manifest applies to a cluster and to a federation alike.
type Placement struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       PlacementSpec   `json:"spec,omitempty"`
	Status     PlacementStatus `json:"status,omitempty"`
}

// PlacementSpec selects objects and the clusters they are placed on.
type PlacementSpec struct {
	// ResourceSelectors select the objects (in the placement's namespace)
	// this placement places. An object selected by two Placements is
	// placed by neither (a Conflict condition says which).
	ResourceSelectors []ResourceSelector `json:"resourceSelectors"`
	// ClusterAffinity is the hard requirement on clusters: it holds for
	// every placement decision, failover included. Nil selects every
	// cluster.
	ClusterAffinity *ClusterAffinity `json:"clusterAffinity,omitempty"`
	// ClusterTolerations tolerate cluster taints.
	ClusterTolerations []Toleration `json:"clusterTolerations,omitempty"`
	// SpreadConstraints bound how many regions, zones or clusters are
	// used.
	SpreadConstraints []SpreadConstraint `json:"spreadConstraints,omitempty"`
	// ReplicaScheduling says how replicas go to the clusters; nil is
	// Duplicated.
	ReplicaScheduling *ReplicaScheduling `json:"replicaScheduling,omitempty"`
	// Overrides change the objects for some clusters.
	Overrides []ClusterOverride `json:"overrides,omitempty"`
	// Failover says what happens when a cluster fails.
	Failover *FailoverPolicy `json:"failover,omitempty"`
}

// ResourceSelector selects objects of one kind, by name or by label.
type ResourceSelector struct {
	APIVersion    string         `json:"apiVersion,omitempty"`
	Kind          string         `json:"kind"`
	Namespace     string         `json:"namespace,omitempty"`
	Name          string         `json:"name,omitempty"`
	LabelSelector *LabelSelector `json:"labelSelector,omitempty"`
}

// ClusterAffinity selects clusters: by name, by label, minus exclusions.
// A cluster must pass every part that is set.
type ClusterAffinity struct {
	ClusterNames    []string       `json:"clusterNames,omitempty"`
	LabelSelector   *LabelSelector `json:"labelSelector,omitempty"`
	ExcludeClusters []string       `json:"exclude,omitempty"`
}

// SpreadByField is the topology a spread constraint counts.
type SpreadByField string

// The fields a spread constraint counts.
const (
	SpreadByRegion  SpreadByField = "region"
	SpreadByZone    SpreadByField = "zone"
	SpreadByCluster SpreadByField = "cluster"
)

// SpreadConstraint bounds the number of groups (regions, zones or clusters)
// the chosen clusters span: at least MinGroups, at most MaxGroups (0: no
// bound).
type SpreadConstraint struct {
	SpreadByField SpreadByField `json:"spreadByField"`
	MinGroups     int32         `json:"minGroups,omitempty"`
	MaxGroups     int32         `json:"maxGroups,omitempty"`
}

// ReplicaSchedulingType says whether each cluster gets all replicas or a
// share.
type ReplicaSchedulingType string

// The replica scheduling types.
const (
	// ReplicaSchedulingDuplicated gives every selected cluster all replicas.
	ReplicaSchedulingDuplicated ReplicaSchedulingType = "Duplicated"
	// ReplicaSchedulingDivided divides the replicas among the clusters, by
	// static weights or, without weights, by free capacity.
	ReplicaSchedulingDivided ReplicaSchedulingType = "Divided"
)

// ReplicaScheduling says how replicas spread over clusters.
type ReplicaScheduling struct {
	Type ReplicaSchedulingType `json:"type,omitempty"`
	// Weights give clusters static shares under Divided; a selected
	// cluster no weight names gets none. Omitted: divide by free capacity
	// (what the workload's pods request, of cpu, memory, storage, storage
	// IOPS and bandwidth and network bandwidth).
	Weights []ClusterWeight `json:"weights,omitempty"`
}

// ClusterWeight is the relative share of some clusters.
type ClusterWeight struct {
	Clusters []string `json:"clusters"`
	Weight   int32    `json:"weight"`
}

// ClusterOverride changes the objects placed on some clusters.
type ClusterOverride struct {
	// Clusters names the clusters it applies to; LabelSelector selects
	// them by label. At least one must be set; both must match.
	Clusters      []string       `json:"clusters,omitempty"`
	LabelSelector *LabelSelector `json:"labelSelector,omitempty"`
	// ResourceSelectors limit the override to some of the placed objects
	// (by kind, and name or labels); empty: all of them, so every path
	// must exist in every one.
	ResourceSelectors []ResourceSelector `json:"resourceSelectors,omitempty"`
	// Set sets fields: a path such as
	// spec.volumeClaimTemplates[0].spec.storageClassName, which must
	// exist in the object unless its parent does (then it is added).
	Set []FieldOverride `json:"set,omitempty"`
	// JSONPatch is an RFC 6902 patch (add, remove, replace, test).
	JSONPatch []JSONPatchOperation `json:"jsonPatch,omitempty"`
}

// FieldOverride sets the field at Path to Value.
type FieldOverride struct {
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

// JSONPatchOperation is one operation of an RFC 6902 JSON patch.
type JSONPatchOperation struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value,omitempty"`
}

// FailoverPolicyType says whether the federation moves workloads out of a
// failed cluster.
type FailoverPolicyType string

// The failover policies.
const (
	// FailoverNever leaves a failed cluster's workloads where they are.
	FailoverNever FailoverPolicyType = "Never"
	// FailoverAutomatic re-places a failed cluster's share elsewhere: pets
	// only after they are fenced (stopped) in the failed cluster, stateless
	// replicas after GracePeriod.
	FailoverAutomatic FailoverPolicyType = "Automatic"
)

// Defaults of a FailoverPolicy.
const (
	DefaultFencingPeriod = 15 * time.Second
	DefaultGracePeriod   = 30 * time.Second
)

// FailoverPolicy says what happens when a cluster fails.
type FailoverPolicy struct {
	Policy FailoverPolicyType `json:"policy,omitempty"`
	// FencingPeriod is how long a member may go without renewing its
	// membership before it stops its pets of this placement (default
	// 15 s); the federation moves them only after that plus a clock-drift
	// margin.
	FencingPeriod *Duration `json:"fencingPeriod,omitempty"`
	// GracePeriod is how long after a member's last renewal the replicas
	// of stateless workloads are divided among the other clusters
	// (default 30 s).
	GracePeriod *Duration `json:"gracePeriod,omitempty"`
}

// Fencing is the fencing period, defaulted.
func (f *FailoverPolicy) Fencing() time.Duration {
	if f == nil || f.FencingPeriod == nil {
		return DefaultFencingPeriod
	}
	return f.FencingPeriod.Duration
}

// Grace is the grace period, defaulted.
func (f *FailoverPolicy) Grace() time.Duration {
	if f == nil || f.GracePeriod == nil {
		return DefaultGracePeriod
	}
	return f.GracePeriod.Duration
}

// Duration is a time.Duration written as a Go duration string ("15s").
type Duration struct {
	time.Duration
}

// MarshalJSON writes "15s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.Duration.String()) }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"15s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration (such as 15s or 1m30s)", s)
	}
	d.Duration = v
	return nil
}

// The conditions of a Placement.
const (
	// PlacementFailoverBlocked is True while a failed cluster's share
	// cannot be moved (no eligible cluster, or too many clusters failed
	// at once), with the reason.
	PlacementFailoverBlocked = "FailoverBlocked"
	// PlacementScheduled is True when clusters were chosen for every
	// selected object.
	PlacementScheduled = "Scheduled"
	// PlacementPropagated is True when every Work was rendered and
	// written; False with the reason (a bad override, a conflict).
	PlacementPropagated = "Propagated"
	// PlacementApplied is True when every member reports its Works
	// applied.
	PlacementApplied = "Applied"
)

// PlacementStatus reports where the placement put things.
type PlacementStatus struct {
	ObservedGeneration int64       `json:"observedGeneration,omitempty"`
	Conditions         []Condition `json:"conditions,omitempty"`
	// Clusters are the clusters chosen, in order.
	Clusters []string `json:"clusters,omitempty"`
	// Resources are the objects placed and their shares per cluster.
	Resources []PlacedResource `json:"resources,omitempty"`
}

// PlacedResource is one placed object and what each cluster got.
type PlacedResource struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	// Clusters are the shares, ordered by ordinal start for PetSets.
	Clusters []ClusterShare `json:"clusters,omitempty"`
}

// ClusterShare is what one cluster runs of a placed object.
type ClusterShare struct {
	Name string `json:"name"`
	// Replicas is the cluster's share (all replicas under Duplicated).
	Replicas *int32 `json:"replicas,omitempty"`
	// OrdinalStart is the first ordinal of a divided PetSet's range in
	// this cluster: it runs OrdinalStart … OrdinalStart+Replicas-1.
	OrdinalStart *int32 `json:"ordinalStart,omitempty"`
}

// Work is one object rendered for one member cluster: the unit a member's
// federation agent pulls, applies and reports on. Works live in the
// member's namespace (MemberNamespace) and are written by the federation
// only; the agent writes their status.
type Work struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       WorkSpec   `json:"spec,omitempty"`
	Status     WorkStatus `json:"status,omitempty"`
}

// WorkSpec is the object to apply.
type WorkSpec struct {
	// Cluster is the member it is for.
	Cluster string `json:"cluster"`
	// Source is the federated object it was rendered from.
	Source ObjectReference `json:"source"`
	// Placement is the Placement (same namespace as Source) that placed it.
	Placement string `json:"placement,omitempty"`
	// Manifest is the rendered object, as the member should have it.
	Manifest json.RawMessage `json:"manifest"`
}

// The conditions of a Work.
const (
	// WorkApplied is True when the manifest of the Work's generation is
	// in the member; False with the member's error.
	WorkApplied = "Applied"
)

// WorkStatus is what the member's agent reports.
type WorkStatus struct {
	Conditions []Condition `json:"conditions,omitempty"`
	// AppliedGeneration is the Work generation last applied.
	AppliedGeneration int64 `json:"appliedGeneration,omitempty"`
	// ResourceStatus is the status of the object in the member.
	ResourceStatus json.RawMessage `json:"resourceStatus,omitempty"`
	// Endpoints, for a Service, are the addresses of its Endpoints in the
	// member: what federated DNS answers with.
	ReadyAddresses    []EndpointAddress `json:"readyAddresses,omitempty"`
	NotReadyAddresses []EndpointAddress `json:"notReadyAddresses,omitempty"`
	// Migration, for a PetSet asked to move a pet out or in
	// (AnnotationMigrateOut, AnnotationMigrateIn), is how far the member
	// is.
	Migration *WorkMigration `json:"migration,omitempty"`
}

// FederatedEndpoints are the shards of one federated Service: per member,
// where it is and its ready addresses. The federation writes them
// (NamespaceFederation, named <namespace>.<service>); every member's agent
// mirrors them into the member, so federated names (SPECS.md §3) resolve
// inside a member when the federation is unreachable.
type FederatedEndpoints struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       FederatedEndpointsSpec `json:"spec"`
}

// FederatedEndpointsName is the name of a service's FederatedEndpoints.
func FederatedEndpointsName(namespace, service string) string { return namespace + "." + service }

// FederatedEndpointsSpec names the service and lists its shards.
type FederatedEndpointsSpec struct {
	// Federation and Domain make the names: <service>.<namespace>.<federation>.svc.<domain>.
	Federation string `json:"federation"`
	Domain     string `json:"domain"`
	Namespace  string `json:"namespace"`
	Service    string `json:"service"`
	// Shards are the members that run the service, ordered by name.
	Shards []ServiceShard `json:"shards,omitempty"`
}

// ServiceShard is a federated service in one member.
type ServiceShard struct {
	Cluster string `json:"cluster"`
	Region  string `json:"region"`
	Zone    string `json:"zone,omitempty"`
	// Healthy: the member is Ready and the service has a ready endpoint
	// there.
	Healthy bool `json:"healthy"`
	// Addresses are the ready endpoint IPs.
	Addresses []string `json:"addresses,omitempty"`
	// Pets are the ready endpoints with a hostname (the pets of a
	// headless service), for <pet>.<service>.<namespace>.<federation>.svc.<domain>.
	Pets []PetAddress `json:"pets,omitempty"`
}

// PetAddress is one pet's address.
type PetAddress struct {
	Hostname string `json:"hostname"`
	IP       string `json:"ip"`
}

// Membership is what a member knows of its federation, in the member's
// ConfigMap NamespaceSystem/MembershipConfigMap (keys below). Its DNS
// server reads it to answer federated names.
const (
	MembershipConfigMap  = "kennel-federation-membership"
	MembershipFederation = "federation"
	MembershipDomain     = "domain"
	MembershipCluster    = "cluster"
	MembershipRegion     = "region"
	MembershipZone       = "zone"
)

// FederationInfoConfigMap (in NamespaceSystem of a federation control
// plane) says what the federation is: its name and DNS domain. Members
// read it when they join.
const (
	FederationInfoConfigMap = "kennel-federation"
	FederationInfoName      = "name"
	FederationInfoDomain    = "domain"
)

// MembershipSecret (in NamespaceSystem of a member) holds what `kennel
// federation join` was given; the member's control plane runs its
// federation agent while it exists. Its keys:
const (
	MembershipSecret = "kennel-federation-join"
	// JoinURL is the federation API server's URL; JoinCA its PEM CA.
	JoinURL = "url"
	JoinCA  = "ca.crt"
	// JoinToken is the member's token on the federation.
	JoinToken = "token"
	// JoinCluster is the member's name in the federation.
	JoinCluster = "cluster"
	// JoinLabels is a JSON object of the Cluster's labels; JoinRegion and
	// JoinZones (comma separated) its location.
	JoinLabels = "labels"
	JoinRegion = "region"
	JoinZones  = "zones"
)

// Fencing (failover Automatic): the names the federation, a member's
// federation agent and its node agents agree on.
const (
	// LabelFenced ("true") on a pod (template) of a workload whose
	// Placement fails over automatically: its pods are stopped in a
	// member cut off from the federation for longer than their
	// AnnotationFencingPeriod (a Go duration).
	LabelFenced             = "kennel.io/fenced"
	AnnotationFencingPeriod = "kennel.io/fencing-period"
	// FenceConfigMap (in a member's NamespaceSystem) holds, under
	// FenceRenewed, when the member last renewed its membership with a
	// fresh view of its Works (RFC 3339, nanoseconds): fenceable pods run
	// until that plus their fencing period.
	FenceConfigMap = "kennel-federation-fence"
	FenceRenewed   = "renewed"
	// AnnotationFencedByFederation on a member's Lease: the federation
	// took shares away from the member while it was cut off (set with a
	// compare-and-swap on the expired Lease, so a member that renewed
	// meanwhile keeps them).
	AnnotationFencedByFederation = "kennel.io/fenced-by-federation"
)

// AnnotationFenceClaim on a Work: the claim (AnnotationFencedByFederation)
// of its member's Lease that the federation has decided about; a member
// lifts the fence of a Work only once it carries its Lease's claim.
const AnnotationFenceClaim = "kennel.io/fence-claim"

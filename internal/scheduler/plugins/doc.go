// Package plugins holds the scheduler's built-in plugins, one per file.
// Filters drop the nodes a pod cannot run on, each with a named reason a
// user is shown; scorers rank the nodes left. The scheduler package's Registry
// builds them by name with their args (New… constructors) for the
// profiles of its configuration (../config).
//
//	NodeUnschedulable  filter  cordoned nodes (spec.unschedulable)
//	NodeReady          filter  nodes whose Ready condition is not True
//	NodeAffinity       filter  spec.nodeSelector and required node affinity
//	                   score   preferred node affinity
//	TaintToleration    filter  NoSchedule/NoExecute taints the pod does not tolerate
//	                   score   PreferNoSchedule taints it does not tolerate
//	NodeRuntime        filter  pods with images on nodes that cannot run them
//	NodeResourcesFit   filter  cpu, memory, pods and extended resources
//	                   score   LeastAllocated (default) or MostAllocated
//	NodeResourcesBalancedAllocation
//	                   score   balanced use of cpu and memory
//	NetworkBandwidth   filter  kennel.io/network-bandwidth reservations
//	                   score   free bandwidth, or the zone of the pod's peers
//	InterPodAffinity   filter  required pod (anti-)affinity, existing pods' anti-affinity
//	                   score   preferred terms, both ways
//	PodTopologySpread  filter  DoNotSchedule spread constraints
//	                   score   ScheduleAnyway constraints; default pet spreading
//	VolumeBinding      filter  claims: bound volumes' node affinity; for unbound
//	                           WaitForFirstConsumer claims a volume made in
//	                           advance, or the provisioner (topology, and room
//	                           on a storage device for local volumes)
//	                   score   the device with the most headroom after placement
//	                   reserve the devices' room for the pod's waiting claims
//	                   prebind selected node (and device) on those claims
package plugins

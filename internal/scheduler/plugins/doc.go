// Package plugins holds the scheduler's built-in plugins, one per file.
// Filters drop the nodes a pod cannot run on, each with a named reason a
// user is shown; scorers rank the nodes left. The scheduler package wires
// them into its default Profile; every plugin's zero value is ready to
// use, except VolumeBinding's, which NewVolumeBinding builds over the
// scheduler's listers.
//
//	NodeUnschedulable  filter  cordoned nodes (spec.unschedulable)
//	NodeReady          filter  nodes whose Ready condition is not True
//	NodeAffinity       filter  spec.nodeSelector and required node affinity
//	                   score   preferred node affinity
//	TaintToleration    filter  NoSchedule/NoExecute taints the pod does not tolerate
//	                   score   PreferNoSchedule taints it does not tolerate
//	NodeRuntime        filter  pods with images on nodes that cannot run them
//	NodeResourcesFit   filter  cpu, memory, pods and advertised extended resources
//	LeastAllocated     score   the node with the most cpu and memory left
//	VolumeBinding      filter  claims: bound volumes' node affinity; for unbound
//	                           WaitForFirstConsumer claims a volume made in
//	                           advance, or the provisioner (topology, and room
//	                           on a storage device for local volumes)
//	                   prebind selected node (and device) on those claims
package plugins

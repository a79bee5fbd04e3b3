// Package scheduler places pending pods on nodes. It watches pods, nodes,
// and the claims, volumes and storage classes that pods' volumes need,
// keeps a cache of what each node has room for, and runs every pod that
// names it (spec.schedulerName, default-scheduler by default) and has no
// node through a Profile of plugins (framework and plugins subpackages).
// It lets the profile's PreBind plugins prepare the best node (select it
// for the pod's unbound WaitForFirstConsumer claims), then binds the pod
// to it by setting spec.nodeName once, conditionally on the pod's
// resourceVersion.
// When no node fits, it says why on the pod's PodScheduled condition and
// in a FailedScheduling event, and tries again when nodes change, pods
// go, claims, volumes or classes change, or its back-off runs out.
// README.md draws the pipeline and defines its words.
package scheduler

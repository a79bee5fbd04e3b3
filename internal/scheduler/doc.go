// Package scheduler places pending pods on nodes. It watches pods and
// nodes, keeps a cache of what each node has room for, runs every pod
// that names it (spec.schedulerName, default-scheduler by default) and has
// no node through a Profile of plugins (framework and plugins
// subpackages), and binds the pod to the best node by setting
// spec.nodeName once, conditionally on the pod's resourceVersion. When no
// node fits, it says why on the pod's PodScheduled condition and in a
// FailedScheduling event, and tries again when nodes change, pods go, or
// its back-off runs out. README.md draws the pipeline and defines its
// words.
package scheduler

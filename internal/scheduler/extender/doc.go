// Package extender is the HTTP client of scheduler extenders (SPECS.md
// §5): services outside Kennel that filter, rank and bind pods, speaking
// the current Kubernetes extender protocol so that extenders written for
// Kubernetes work unchanged. Config is one entry of a
// KubeSchedulerConfiguration's extenders list; New turns it into an
// Extender, which implements framework.Extender for the scheduler's
// Profile.
//
// Each verb is a POST of a JSON body to <urlPrefix>/<verb>, answered
// with status 200 and a JSON body; keys are Kubernetes' Go field names:
//
//	filter      {"Pod": pod, "Nodes": {"items": [node…]}}
//	            or, when nodeCacheCapable, {"Pod": pod, "NodeNames": [name…]}
//	         →  {"Nodes"|"NodeNames": the kept subset,
//	             "FailedNodes": {name: reason},
//	             "FailedAndUnresolvableNodes": {name: reason}, "Error": ""}
//	prioritize  the filter body
//	         →  [{"Host": name, "Score": 0..10}], added as score × weight × 10
//	bind        {"PodName", "PodNamespace", "PodUID", "Node"}
//	         →  {"Error": ""}
//
// Pods and nodes are Kennel's own JSON objects, which use Kubernetes'
// field names. Any other status, an answer that does not decode, a
// non-empty Error, a kept node that was not sent and a call that outlasts
// httpTimeout are errors (*Error, naming the extender and the call);
// whether they fail the pod's scheduling attempt (not when ignorable) is
// the scheduler's decision. Preemption (preemptVerb) is accepted in the
// configuration but not used: Kennel's scheduler does not preempt.
package extender

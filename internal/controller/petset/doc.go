// Package petset is the PetSet controller (Kubernetes' StatefulSet, which
// is accepted as an alias kind): it runs replicated stateful pods
// ("pets") with stable identities — ordinal names, stable DNS names
// through hostname and subdomain, and claims that follow the identity —
// and keeps at most one pod per identity at all times: a pet is created
// again only once its previous pod object is gone from the API, never
// while it is terminating, since its processes may still run.
//
// The package is split as Kubernetes' StatefulSet controller is (see
// README.md for the picture and the vocabulary):
//
//	controller.go   informers and event handlers → work queue, Run
//	sync.go         one sync: read the caches, adopt and release, run the
//	                algorithm, write the status
//	control.go      the control algorithm: set + pets → steps, taken
//	                through podControl (OrderedReady / Parallel, scaling,
//	                rolling update, OnDelete)
//	history.go      ControllerRevisions: snapshot, hash, rollback, limit
//	status.go       status fields
//	podcontrol.go   the side effects behind small interfaces: pods,
//	                claims, revisions, events
//	recent.go       the controller's writes its caches do not show yet
//	pets.go         pure helpers: names, ordinals, pods, claims, identity
//	retention.go    claim retention policies as owner references
//	invariant.go    atMostOnePerIdentity, the rule the tests assert
//	rollout.go      revisions, rollback and rollout status for the CLI
//	events.go       Event reasons
package petset

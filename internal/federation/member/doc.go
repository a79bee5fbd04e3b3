// Package member is the federation agent that runs in each member
// cluster. Members pull: the agent watches the Works of its namespace
// (kennel-member-<cluster>) on the federation's API, applies each Work's
// manifest to the member's own API, and reports back; the federation
// never needs to reach a member.
//
// Run runs one agent from a Config: it registers the member's Cluster,
// renews its membership Lease, reports the Cluster's status (nodes and
// capacity), applies Works idempotently (an object already carrying the
// Work's generation and spec is not written, so restarting the agent or
// the federation restarts no pod), deletes what deleted Works applied,
// and mirrors the federation's FederatedEndpoints and a membership
// ConfigMap into the member for its DNS server. Nothing is deleted
// because the federation is unreachable: deletions follow only from a
// complete list of the federation's objects.
//
// It also does the member's part of fenced failover: after each renewal
// it publishes the renewal time in the fence ConfigMap (once its Works
// are known to be applied), and when it cannot renew it stops fenceable
// workloads (pod template label kennel.io/fenced=true) before their
// fencing deadline and holds them at 0 replicas until it renews again.
//
// Supervisor is what a member's control plane runs: it starts, restarts
// and stops the agent as the membership Secret written by `kennel
// federation join` appears, changes and goes, and on unjoin calls Leave.
//
// See README.md for the objects involved and the rules of ownership.
package member

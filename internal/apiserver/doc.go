// Package apiserver serves Kennel's HTTP/JSON API: Kubernetes-style paths,
// list and watch, the status subresource, optimistic concurrency, graceful
// deletion with finalizers, authentication by bearer token, authorization by
// role, health and metrics endpoints, and pods/log and pods/exec, which it
// proxies to the agent of the pod's node (agentproxy.go).
//
// Requests flow: authenticate → route (requestInfo) → authorize → handler →
// store. Handlers decode and validate objects with api/v1 and keep them in
// internal/store as JSON; an object's resourceVersion is the etcd revision.
package apiserver

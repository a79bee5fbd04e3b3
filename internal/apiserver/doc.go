// Package apiserver serves Kennel's HTTP/JSON API: Kubernetes-style paths,
// list and watch, the status subresource, optimistic concurrency, graceful
// deletion with finalizers, authentication by bearer token, authorization by
// role, and health and metrics endpoints.
//
// Requests flow: authenticate → route (requestInfo) → authorize → handler →
// store. Handlers decode and validate objects with api/v1 and keep them in
// internal/store as JSON; an object's resourceVersion is the etcd revision.
package apiserver

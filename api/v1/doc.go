// Package v1 defines Kennel's API objects: their Go types, defaults,
// validation and strict decoding from YAML and JSON.
//
// Objects are shaped like Kubernetes objects (apiVersion, kind, metadata,
// spec, status) with the same field names wherever a feature exists in both,
// so a Kubernetes manifest that uses supported fields decodes unchanged. A
// field Kennel does not know is rejected with its full path.
//
// The Registry (NewRegistry) knows every kind: its names, API versions and
// scope, and its Default, Validate and ValidateUpdate functions. The write
// path of the API server is
//
//	obj, err := reg.DecodeInto(body, kind) // strict: unknown fields are errors
//	reg.Canonicalize(obj)                  // StatefulSet → kennel.io/v1 PetSet
//	kind.Default(obj)
//	errs := kind.Validate(obj)             // plus kind.ValidateUpdate(old, obj)
//
// and the CLI reads manifests with reg.Decode, which takes multi-document
// YAML, JSON streams and Lists. Every error is an *Error whose causes name
// fields by path (spec.template.spec.containers[0].name); Kubernetes fields
// Kennel knowingly lacks are listed in one table (unsupported.go) and
// rejected as "not supported by Kennel".
//
// The package is public: the Go client and third-party tools use it.
package v1

// Package v1 defines Kennel's API objects: their Go types, defaults,
// validation and strict decoding from YAML and JSON.
//
// Objects are shaped like Kubernetes objects (apiVersion, kind, metadata,
// spec, status) with the same field names wherever a feature exists in both,
// so a Kubernetes manifest that uses supported fields decodes unchanged. A
// field Kennel does not know is rejected with its full path.
//
// The package is public: the Go client and third-party tools use it.
package v1

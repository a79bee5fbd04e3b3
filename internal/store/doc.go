// Package store is Kennel's object store, written in etcd's own terms:
// revision, create, get, list, update-if-revision, delete, watch and compact,
// one verb per file, with a distinct error for each outcome.
//
// Values are opaque bytes; the API server encodes and decodes objects. An
// object's resourceVersion is the etcd revision that last modified its key.
//
// By default etcd runs embedded in the data dir (embed.go); Config.Endpoints
// switches to an external etcd cluster. A datastore URL may carry
// credentials, so none is ever printed.
package store

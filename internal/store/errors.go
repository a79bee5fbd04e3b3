package store

import "errors"

// The outcomes of store calls that are not successes. Each is distinct so
// that the API server can map it to one HTTP status.
var (
	// ErrNotFound: the key does not exist.
	ErrNotFound = errors.New("store: key not found")
	// ErrExists: Create found the key already there.
	ErrExists = errors.New("store: key already exists")
	// ErrConflict: the key's revision is not the one the caller expected.
	ErrConflict = errors.New("store: revision conflict")
	// ErrCompacted: the revision asked for has been compacted away.
	ErrCompacted = errors.New("store: revision compacted")
	// ErrFutureRevision: the revision asked for is newer than the store's.
	ErrFutureRevision = errors.New("store: revision is in the future")
	// ErrWatchClosed: etcd ended a watch (for example, it lost its leader);
	// the watcher should resume from its last revision.
	ErrWatchClosed = errors.New("store: watch closed by etcd")
	// ErrBadContinue: a list continue token could not be decoded.
	ErrBadContinue = errors.New("store: invalid continue token")
)

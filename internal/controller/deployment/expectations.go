package deployment

import (
	"sync"
	"time"

	"github.com/kennel-dev/kennel/internal/controller/clock"
)

// expectationsTimeout is how long a sync waits for the pod informer to
// report the creations and deletions it made before it acts again anyway
// (a lost watch event must not stall a deployment for ever); Kubernetes'
// ControllerExpectations use the same 5 minutes.
const expectationsTimeout = 5 * time.Minute

// expectations remember, per deployment key, the pod creations and
// deletions a sync made that the pod informer has not reported yet. Until
// they are all seen the cache is known to be stale, and a sync that acted
// on it would create or delete the same pods twice.
type expectations struct {
	clock clock.Clock

	mu    sync.Mutex
	byKey map[string]*expectation
}

type expectation struct {
	adds    int                 // creations not yet seen
	deletes map[string]struct{} // keys of pods whose deletion is not yet seen
	at      time.Time           // when these were set
}

func newExpectations(c clock.Clock) *expectations {
	return &expectations{clock: c, byKey: map[string]*expectation{}}
}

// satisfied reports whether the deployment may act on the cache: nothing
// is pending, or what is pending has timed out.
func (e *expectations) satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.byKey[key]
	if !ok {
		return true
	}
	if x.adds <= 0 && len(x.deletes) == 0 {
		return true
	}
	return e.clock.Now().Sub(x.at) > expectationsTimeout
}

// expect records the creations and deletions a sync is about to make,
// replacing what was pending (which satisfied has just accepted).
func (e *expectations) expect(key string, adds int, deletes []string) {
	x := &expectation{adds: adds, deletes: make(map[string]struct{}, len(deletes)), at: e.clock.Now()}
	for _, k := range deletes {
		x.deletes[k] = struct{}{}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.byKey[key] = x
}

// creationObserved lowers the pending creations by one: the informer saw a
// new pod, or a creation failed and never will be seen.
func (e *expectations) creationObserved(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.byKey[key]; ok {
		x.adds--
	}
}

// deletionObserved marks the deletion of pod (its "namespace/name") seen,
// or failed. Only pods this controller deleted count, and each only once,
// whether the informer reports the deletion timestamp, the removal, or
// both.
func (e *expectations) deletionObserved(key, pod string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.byKey[key]; ok {
		delete(x.deletes, pod)
	}
}

// forget drops what is pending for a deployment that is gone.
func (e *expectations) forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.byKey, key)
}

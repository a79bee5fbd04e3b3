package controller

import (
	"fmt"
	"time"
)

// Requeue is returned by a sync function (directly or wrapped) to have its
// key looked at again after After, without counting a failure: the key's
// back-off is reset. Use it when sync is waiting for time to pass (a grace
// period, a pet becoming Ready) rather than for an error to clear. After <= 0
// requeues at once.
type Requeue struct {
	After time.Duration
}

// Error describes the request; it is not a failure.
func (r Requeue) Error() string {
	return fmt.Sprintf("controller: requeue after %s", r.After)
}

// RequeueAfter returns a Requeue error for d.
func RequeueAfter(d time.Duration) error { return Requeue{After: d} }

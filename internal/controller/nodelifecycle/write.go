package nodelifecycle

import (
	"context"
	"fmt"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// conflictRetries bounds how often a write is retried against a fresher
// copy before the sync fails and the key backs off.
const conflictRetries = 5

// writeScope says which part of an object a write replaces.
type writeScope int

const (
	writeSpec writeScope = iota
	writeStatus
)

// mutateAndWrite applies mutate to a copy of obj and writes it when mutate
// reports a change. A conflict (the agent writes the same objects) is
// retried at once on a live copy rather than left to the queue's back-off,
// which runs on the controller's clock. It returns the written object, or
// obj when nothing changed, and ok false when the object is gone.
func mutateAndWrite[T v1.Object](ctx context.Context, res *client.Resource[T], obj T, scope writeScope, mutate func(T) bool) (out T, ok bool, err error) {
	name := obj.GetObjectMeta().Name
	for attempt := 0; ; attempt++ {
		cp := v1.Clone(obj)
		if !mutate(cp) {
			return obj, true, nil
		}
		if scope == writeStatus {
			out, err = res.UpdateStatus(ctx, cp)
		} else {
			out, err = res.Update(ctx, cp)
		}
		switch {
		case err == nil:
			return out, true, nil
		case v1.IsNotFound(err):
			return out, false, nil
		case !v1.IsConflict(err) || attempt == conflictRetries:
			return out, false, fmt.Errorf("nodelifecycle: update %s %q: %w", res.Kind().Singular, name, err)
		}
		if obj, err = res.Get(ctx, name); v1.IsNotFound(err) {
			return out, false, nil
		} else if err != nil {
			return out, false, fmt.Errorf("nodelifecycle: get %s %q: %w", res.Kind().Singular, name, err)
		}
	}
}

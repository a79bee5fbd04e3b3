package endpoints

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
)

// conflictRetry is when a key whose write met a newer object is looked at
// again. The informer's event for that object normally enqueues it sooner;
// this is the fallback, and it is not a failure.
const conflictRetry = 200 * time.Millisecond

// sync converges the Endpoints of the service named by key: creates,
// updates or deletes them, and writes nothing when the cache already shows
// what is wanted.
func (ec *Controller) sync(ctx context.Context, key string) error {
	namespace, _, err := controller.SplitKey(key)
	if err != nil {
		return err
	}
	svc, haveSvc := ec.services.Get(key)
	cur, haveEp := ec.endpoints.Get(key)
	switch {
	case !haveSvc:
		// Kubernetes deletes the Endpoints of a deleted service, whoever
		// wrote them.
		if !haveEp {
			return nil
		}
		// The Service may be newer than the cache (a selectorless
		// Service and its hand-written Endpoints applied together).
		_, err := client.For[*v1.Service](ec.c, namespace).Get(ctx, cur.Name)
		switch {
		case err == nil:
			return nil // its event brings the key back
		case !v1.IsNotFound(err):
			return fmt.Errorf("endpoints: %s: read service: %w", key, err)
		}
		return ec.delete(ctx, cur)
	case !managed(svc):
		if haveEp && cur.Labels[LabelManagedBy] == ManagedBy {
			return ec.delete(ctx, cur)
		}
		return nil
	}
	want := desiredEndpoints(svc, ec.selected(svc))
	res := client.For[*v1.Endpoints](ec.c, namespace)
	if !haveEp {
		if _, err := res.Create(ctx, want); err != nil {
			// AlreadyExists means the cache is behind: retried with back-off.
			return fmt.Errorf("endpoints: create %s: %w", key, err)
		}
		controller.LoggerFrom(ctx).Debug("created endpoints", "subsets", len(want.Subsets))
		return nil
	}
	if maps.Equal(cur.Labels, want.Labels) && reflect.DeepEqual(cur.Subsets, want.Subsets) {
		return nil
	}
	next := v1.Clone(cur)
	next.Labels, next.Subsets = want.Labels, want.Subsets
	_, err = res.Update(ctx, next)
	switch {
	case v1.IsConflict(err):
		return controller.RequeueAfter(conflictRetry)
	case v1.IsNotFound(err):
		// Deleted meanwhile: the delete event enqueues the key again.
		return nil
	case err != nil:
		return fmt.Errorf("endpoints: update %s: %w", key, err)
	}
	controller.LoggerFrom(ctx).Debug("updated endpoints", "subsets", len(want.Subsets))
	return nil
}

// selected lists the cached pods in svc's namespace that its selector
// matches.
func (ec *Controller) selected(svc *v1.Service) []*v1.Pod {
	var out []*v1.Pod
	for _, p := range ec.pods.ByIndex(indexNamespace, svc.Namespace) {
		if selects(svc, p.Labels) {
			out = append(out, p)
		}
	}
	return out
}

// delete deletes the cached Endpoints e, only if the object on the server
// is still that version: a new one may already have been written for a
// new service of the same name, or a user may have taken them over (the
// managed-by label dropped) since the cache saw them.
func (ec *Controller) delete(ctx context.Context, e *v1.Endpoints) error {
	uid, rv := e.UID, e.ResourceVersion
	_, err := client.For[*v1.Endpoints](ec.c, e.Namespace).Delete(ctx, e.Name,
		client.DeleteOptions{Preconditions: &client.Preconditions{UID: &uid, ResourceVersion: &rv}})
	switch {
	case v1.IsNotFound(err):
		return nil
	case v1.IsConflict(err):
		return controller.RequeueAfter(conflictRetry)
	case err != nil:
		return fmt.Errorf("endpoints: delete %s: %w", v1.ObjectKey(e), err)
	}
	controller.LoggerFrom(ctx).Debug("deleted endpoints")
	return nil
}

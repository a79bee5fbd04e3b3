package petset

import (
	"context"
	"fmt"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/events"
)

// podControl makes the changes the control algorithm decides to pods and
// claims. Each method makes one change and returns the object as the API
// server left it, or an error naming the object, which the algorithm
// returns from the sync to be retried with back-off (it never retries
// within a sync). Creating a name that is taken fails with an error
// satisfying v1.IsAlreadyExists.
type podControl interface {
	CreatePod(ctx context.Context, set *v1.PetSet, pod *v1.Pod) (*v1.Pod, error)
	// DeletePod deletes the pod if it still has its UID, and returns it
	// as left: terminating, or nil once removed. A pod already gone is
	// no error.
	DeletePod(ctx context.Context, set *v1.PetSet, pod *v1.Pod) (*v1.Pod, error)
	// UpdatePod writes the pod's metadata, conditional on its
	// resourceVersion.
	UpdatePod(ctx context.Context, set *v1.PetSet, pod *v1.Pod) (*v1.Pod, error)
	CreateClaim(ctx context.Context, set *v1.PetSet, claim *v1.PersistentVolumeClaim) (*v1.PersistentVolumeClaim, error)
	// UpdateClaim writes the claim's owner references, conditional on
	// its resourceVersion.
	UpdateClaim(ctx context.Context, set *v1.PetSet, claim *v1.PersistentVolumeClaim) (*v1.PersistentVolumeClaim, error)
}

// historyControl makes the changes the algorithm decides to the set's
// ControllerRevisions, with podControl's error contract.
type historyControl interface {
	// CreateRevision creates rev. When its name is taken it returns the
	// revision of that name with an error satisfying v1.IsAlreadyExists.
	CreateRevision(ctx context.Context, set *v1.PetSet, rev *v1.ControllerRevision) (*v1.ControllerRevision, error)
	// UpdateRevision renumbers rev as revision (a rollback to it).
	UpdateRevision(ctx context.Context, rev *v1.ControllerRevision, revision int64) (*v1.ControllerRevision, error)
	// DeleteRevision deletes rev; one already gone is no error.
	DeleteRevision(ctx context.Context, rev *v1.ControllerRevision) error
}

// recorder records Events on a set. Events are best effort: recording
// never fails.
type recorder interface {
	Eventf(ctx context.Context, set *v1.PetSet, typ, reason, format string, args ...any)
}

// apiControl is podControl, historyControl and recorder over the API
// server. It records every write in the recent-writes caches, so that the
// next sync sees it even before the informers do, and an Event on the set
// for every change to a pod or claim.
type apiControl struct {
	c      *client.Client
	kind   *v1.Kind // PetSet's, for events
	events *events.Recorder
	pods   *recent[*v1.Pod]
	claims *recent[*v1.PersistentVolumeClaim]
	revs   *recent[*v1.ControllerRevision]
	sets   *recent[*v1.PetSet] // status writes
}

var (
	_ podControl     = (*apiControl)(nil)
	_ historyControl = (*apiControl)(nil)
	_ recorder       = (*apiControl)(nil)
)

// Eventf implements recorder.
func (a *apiControl) Eventf(ctx context.Context, set *v1.PetSet, typ, reason, format string, args ...any) {
	a.events.Recordf(ctx, set, a.kind.Kind, a.kind.APIVersion(), typ, reason, format, args...)
}

// CreatePod implements podControl.
func (a *apiControl) CreatePod(ctx context.Context, set *v1.PetSet, pod *v1.Pod) (*v1.Pod, error) {
	got, err := client.For[*v1.Pod](a.c, set.Namespace).Create(ctx, pod)
	if err != nil {
		a.Eventf(ctx, set, v1.EventTypeWarning, ReasonFailedCreate, "create Pod %s in PetSet %s failed: %v", pod.Name, set.Name, err)
		return nil, fmt.Errorf("petset: %s: create pod %s: %w", v1.ObjectKey(set), pod.Name, err)
	}
	a.pods.wrote(got)
	a.Eventf(ctx, set, v1.EventTypeNormal, ReasonSuccessfulCreate, "create Pod %s in PetSet %s successful", pod.Name, set.Name)
	return got, nil
}

// DeletePod implements podControl.
func (a *apiControl) DeletePod(ctx context.Context, set *v1.PetSet, pod *v1.Pod) (*v1.Pod, error) {
	uid := pod.UID
	got, err := client.For[*v1.Pod](a.c, set.Namespace).Delete(ctx, pod.Name,
		client.DeleteOptions{Preconditions: &client.Preconditions{UID: &uid}})
	if v1.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		a.Eventf(ctx, set, v1.EventTypeWarning, ReasonFailedDelete, "delete Pod %s in PetSet %s failed: %v", pod.Name, set.Name, err)
		return nil, fmt.Errorf("petset: %s: delete pod %s: %w", v1.ObjectKey(set), pod.Name, err)
	}
	a.Eventf(ctx, set, v1.EventTypeNormal, ReasonSuccessfulDelete, "delete Pod %s in PetSet %s successful", pod.Name, set.Name)
	// The server answers a removal with the object as it was stored, not
	// marked for deletion: no deletion timestamp means it is gone.
	if got.DeletionTimestamp == nil {
		a.pods.removed(got)
		return nil, nil
	}
	a.pods.wrote(got)
	return got, nil
}

// UpdatePod implements podControl.
func (a *apiControl) UpdatePod(ctx context.Context, set *v1.PetSet, pod *v1.Pod) (*v1.Pod, error) {
	got, err := client.For[*v1.Pod](a.c, set.Namespace).Update(ctx, pod)
	if err != nil {
		a.Eventf(ctx, set, v1.EventTypeWarning, ReasonFailedUpdate, "update Pod %s in PetSet %s failed: %v", pod.Name, set.Name, err)
		return nil, fmt.Errorf("petset: %s: update pod %s: %w", v1.ObjectKey(set), pod.Name, err)
	}
	a.pods.wrote(got)
	a.Eventf(ctx, set, v1.EventTypeNormal, ReasonSuccessfulUpdate, "update Pod %s in PetSet %s successful", pod.Name, set.Name)
	return got, nil
}

// CreateClaim implements podControl.
func (a *apiControl) CreateClaim(ctx context.Context, set *v1.PetSet, claim *v1.PersistentVolumeClaim) (*v1.PersistentVolumeClaim, error) {
	got, err := client.For[*v1.PersistentVolumeClaim](a.c, set.Namespace).Create(ctx, claim)
	if v1.IsAlreadyExists(err) {
		return nil, fmt.Errorf("petset: %s: create claim %s: %w", v1.ObjectKey(set), claim.Name, err)
	}
	if err != nil {
		a.Eventf(ctx, set, v1.EventTypeWarning, ReasonFailedCreate, "create Claim %s in PetSet %s failed: %v", claim.Name, set.Name, err)
		return nil, fmt.Errorf("petset: %s: create claim %s: %w", v1.ObjectKey(set), claim.Name, err)
	}
	a.claims.wrote(got)
	a.Eventf(ctx, set, v1.EventTypeNormal, ReasonSuccessfulCreate, "create Claim %s in PetSet %s successful", claim.Name, set.Name)
	return got, nil
}

// UpdateClaim implements podControl.
func (a *apiControl) UpdateClaim(ctx context.Context, set *v1.PetSet, claim *v1.PersistentVolumeClaim) (*v1.PersistentVolumeClaim, error) {
	got, err := client.For[*v1.PersistentVolumeClaim](a.c, set.Namespace).Update(ctx, claim)
	if err != nil {
		return nil, fmt.Errorf("petset: %s: update owners of claim %s: %w", v1.ObjectKey(set), claim.Name, err)
	}
	a.claims.wrote(got)
	return got, nil
}

// CreateRevision implements historyControl.
func (a *apiControl) CreateRevision(ctx context.Context, set *v1.PetSet, rev *v1.ControllerRevision) (*v1.ControllerRevision, error) {
	revs := client.For[*v1.ControllerRevision](a.c, set.Namespace)
	got, err := revs.Create(ctx, rev)
	if v1.IsAlreadyExists(err) {
		existing, gerr := revs.Get(ctx, rev.Name)
		if gerr != nil {
			return nil, fmt.Errorf("petset: %s: read revision %s: %w", v1.ObjectKey(set), rev.Name, gerr)
		}
		return existing, fmt.Errorf("petset: %s: create revision %s: %w", v1.ObjectKey(set), rev.Name, err)
	}
	if err != nil {
		return nil, fmt.Errorf("petset: %s: create revision %s: %w", v1.ObjectKey(set), rev.Name, err)
	}
	a.revs.wrote(got)
	return got, nil
}

// UpdateRevision implements historyControl. A conflict is retried once on
// a fresh read: only the number changes, so the fresh copy is as good.
func (a *apiControl) UpdateRevision(ctx context.Context, rev *v1.ControllerRevision, revision int64) (*v1.ControllerRevision, error) {
	revs := client.For[*v1.ControllerRevision](a.c, rev.Namespace)
	next := v1.Clone(rev)
	for attempt := 0; ; attempt++ {
		next.Revision = revision
		got, err := revs.Update(ctx, next)
		if err == nil {
			a.revs.wrote(got)
			return got, nil
		}
		if !v1.IsConflict(err) || attempt > 0 {
			return nil, fmt.Errorf("petset: renumber revision %s as %d: %w", v1.ObjectKey(rev), revision, err)
		}
		if next, err = revs.Get(ctx, rev.Name); err != nil {
			return nil, fmt.Errorf("petset: read revision %s: %w", v1.ObjectKey(rev), err)
		}
	}
}

// DeleteRevision implements historyControl.
func (a *apiControl) DeleteRevision(ctx context.Context, rev *v1.ControllerRevision) error {
	uid := rev.UID
	got, err := client.For[*v1.ControllerRevision](a.c, rev.Namespace).Delete(ctx, rev.Name,
		client.DeleteOptions{Preconditions: &client.Preconditions{UID: &uid}})
	if v1.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("petset: delete revision %s: %w", v1.ObjectKey(rev), err)
	}
	if got.DeletionTimestamp == nil {
		a.revs.removed(got)
	} else {
		a.revs.wrote(got)
	}
	return nil
}

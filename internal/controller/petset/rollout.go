package petset

import (
	"bytes"
	"errors"
	"fmt"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// The functions below are what `kennel rollout history|undo|status` need;
// they read only objects the caller lists, as kubectl does.

// Revisions returns the revisions set controls among revs (the
// ControllerRevisions of its namespace), oldest first. The last one is the
// set's newest template; a rollback renumbers the revision it returns to
// as the newest, so numbers show the order templates were used in.
func Revisions(set *v1.PetSet, revs []*v1.ControllerRevision) []*v1.ControllerRevision {
	var out []*v1.ControllerRevision
	for _, r := range revs {
		if v1.IsControlledBy(r, set) {
			out = append(out, r)
		}
	}
	sortRevisions(out)
	return out
}

// TemplateOf returns the pod template a revision snapshots.
func TemplateOf(rev *v1.ControllerRevision) (v1.PodTemplateSpec, error) { return templateOf(rev) }

// RollbackTarget finds the revision `rollout undo` returns to among a
// set's revisions (as Revisions returns them): the one numbered
// toRevision, or when toRevision is 0 the newest but one.
func RollbackTarget(revs []*v1.ControllerRevision, toRevision int64) (*v1.ControllerRevision, error) {
	switch {
	case toRevision < 0:
		return nil, fmt.Errorf("petset: revision %d: must not be negative", toRevision)
	case toRevision == 0 && len(revs) <= 1:
		return nil, errors.New("petset: no earlier revision to roll back to")
	case toRevision == 0:
		sorted := append([]*v1.ControllerRevision(nil), revs...)
		sortRevisions(sorted)
		return sorted[len(sorted)-2], nil
	}
	for _, r := range revs {
		if r.Revision == toRevision {
			return r, nil
		}
	}
	return nil, fmt.Errorf("petset: revision %d: not found", toRevision)
}

// Rollback returns a copy of set whose template is rev's, and whether that
// differs from set's template. Writing it back (Update) is the rollback:
// the controller then renumbers rev as the newest revision and rolls the
// pets to it like any other update.
func Rollback(set *v1.PetSet, rev *v1.ControllerRevision) (*v1.PetSet, bool, error) {
	out, err := applyRevision(set, rev)
	if err != nil {
		return nil, false, err
	}
	cur, err := revisionData(set)
	if err != nil {
		return nil, false, err
	}
	return out, !bytes.Equal(cur, rev.Data), nil
}

// RolloutStatus says how far set's rollout has gone, in kubectl's words,
// and whether it is done. It is an error under OnDelete, which has no
// rollout to wait for.
func RolloutStatus(set *v1.PetSet) (msg string, done bool, err error) {
	st, replicas := set.Status, set.DesiredReplicas()
	strategy := set.Spec.UpdateStrategy
	switch {
	case strategy.Type == v1.OnDeletePetSetStrategyType:
		return "", true, fmt.Errorf("petset: %s: rollout status is only available for the %s strategy",
			v1.ObjectKey(set), v1.RollingUpdatePetSetStrategyType)
	case st.ObservedGeneration == 0 || set.Generation > st.ObservedGeneration:
		return "Waiting for petset spec update to be observed...", false, nil
	case st.ReadyReplicas < replicas:
		return fmt.Sprintf("Waiting for %d pods to be ready...", replicas-st.ReadyReplicas), false, nil
	}
	if ru := strategy.RollingUpdate; ru != nil && ru.Partition != nil && *ru.Partition > 0 {
		if want := replicas - *ru.Partition; st.UpdatedReplicas < want {
			return fmt.Sprintf("Waiting for partitioned roll out to finish: %d out of %d new pods have been updated...",
				st.UpdatedReplicas, want), false, nil
		}
		return fmt.Sprintf("partitioned roll out complete: %d new pods have been updated...", st.UpdatedReplicas), true, nil
	}
	if st.UpdateRevision != st.CurrentRevision {
		return fmt.Sprintf("waiting for petset rolling update to complete %d pods at revision %s...",
			st.UpdatedReplicas, st.UpdateRevision), false, nil
	}
	return fmt.Sprintf("petset rolling update complete %d pods at revision %s...", st.CurrentReplicas, st.CurrentRevision), true, nil
}

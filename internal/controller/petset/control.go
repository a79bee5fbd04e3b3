package petset

import (
	"context"
	"errors"
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// petControl is the control algorithm: from a set and what the caches show
// of its pods, revisions and claims, it decides the next steps towards the
// set's desired state and takes them through podControl and
// historyControl. It keeps no state between calls.
type petControl struct {
	pods    podControl
	history historyControl
	events  recorder
	kinds   kinds
}

// observed is what the caches show of one set.
type observed struct {
	set *v1.PetSet
	// pods are the set's pets: pods it controls named "<set>-<ordinal>".
	pods []*v1.Pod
	// revisions are the revisions the set controls, in any order.
	revisions []*v1.ControllerRevision
	// claims are the claims of the set's namespace, by name.
	claims map[string]*v1.PersistentVolumeClaim
}

// round is one pass of the algorithm over a set: the pets by ordinal and
// the revisions it works with, updated as its steps change them.
type round struct {
	pc                    *petControl
	set                   *v1.PetSet
	current, update       *v1.ControllerRevision
	currentSet, updateSet *v1.PetSet // set with each revision's template
	// pets holds the pod of each ordinal in range, at index ordinal -
	// start; nil when the pet has no pod.
	pets []*v1.Pod
	// condemned are the pods of ordinals out of range, highest first;
	// nil once removed.
	condemned []*v1.Pod
	claims    map[string]*v1.PersistentVolumeClaim
	// monotonic is OrderedReady: one pet at a time, in order, each
	// waiting for its predecessors.
	monotonic bool
	now       time.Time
}

// update takes the next steps for one set at now and returns the set's
// status, and how long until a pet becomes available (for a look then;
// zero if none is waiting). A set being deleted is only reported on: the
// garbage collector removes its pods. The status is returned even when a
// step failed, with the error.
func (pc *petControl) update(ctx context.Context, obs observed, now time.Time) (*v1.PetSetStatus, time.Duration, error) {
	set := obs.set
	if set.DeletionTimestamp != nil {
		return deletingStatus(set, obs.pods, now), 0, nil
	}
	revs := append([]*v1.ControllerRevision(nil), obs.revisions...)
	sortRevisions(revs)
	current, update, collisions, err := pc.revisions(ctx, set, revs)
	if err != nil {
		return nil, 0, err
	}
	r, err := pc.newRound(obs, current, update, now)
	if err != nil {
		return nil, 0, err
	}
	err = r.converge(ctx)
	// The history is kept to its limit even when a step failed.
	for _, old := range staleHistory(set, obs.pods, revs, current.Name, update.Name) {
		if herr := pc.history.DeleteRevision(ctx, old); herr != nil {
			err = errors.Join(err, herr)
			break
		}
	}
	return r.status(collisions), r.nextAvailable(), err
}

// newRound sorts the set's pods into pets in range and condemned ones.
func (pc *petControl) newRound(obs observed, current, update *v1.ControllerRevision, now time.Time) (*round, error) {
	set := obs.set
	currentSet, err := applyRevision(set, current)
	if err != nil {
		return nil, err
	}
	updateSet, err := applyRevision(set, update)
	if err != nil {
		return nil, err
	}
	r := &round{pc: pc, set: set, current: current, update: update, currentSet: currentSet, updateSet: updateSet,
		pets: make([]*v1.Pod, set.DesiredReplicas()), claims: make(map[string]*v1.PersistentVolumeClaim, len(obs.claims)),
		monotonic: set.Spec.PodManagementPolicy != v1.ParallelPodManagement, now: now}
	for k, c := range obs.claims {
		r.claims[k] = c
	}
	for _, p := range obs.pods {
		ord, ok := set.OrdinalOf(p)
		switch {
		case !ok:
		case set.KeepsOrdinal(ord):
			r.pets[ord-set.StartOrdinal()] = p
		default:
			r.condemned = append(r.condemned, p)
		}
	}
	sort.Slice(r.condemned, func(i, j int) bool {
		a, _ := set.OrdinalOf(r.condemned[i])
		b, _ := set.OrdinalOf(r.condemned[j])
		return a > b
	})
	return r, nil
}

// converge runs the steps in Kubernetes' order: bring every pet in range
// to life (or wait), then remove the condemned ones (highest first), then
// roll the update. Under OrderedReady a step that must wait ends the
// round; under Parallel only an error does.
func (r *round) converge(ctx context.Context) error {
	if stop, err := r.forEach(ctx, len(r.pets), r.processPet); stop || err != nil {
		return err
	}
	fixClaims := func(ctx context.Context, i int) (bool, error) {
		return false, r.fixClaimOwners(ctx, r.condemned[i])
	}
	if stop, err := r.forEach(ctx, len(r.condemned), fixClaims); stop || err != nil {
		return err
	}
	first := r.firstUnhealthy()
	condemn := func(ctx context.Context, i int) (bool, error) { return r.processCondemned(ctx, i, first) }
	if stop, err := r.forEach(ctx, len(r.condemned), condemn); stop || err != nil {
		return err
	}
	if r.set.Spec.UpdateStrategy.Type == v1.OnDeletePetSetStrategyType {
		return nil
	}
	return r.rollingUpdate(ctx)
}

// forEach calls fn for 0..n-1. Under OrderedReady it stops at the first
// call that must wait or fails; under Parallel it goes on past waits and
// stops only at an error. stop reports whether the round must end.
func (r *round) forEach(ctx context.Context, n int, fn func(ctx context.Context, i int) (wait bool, err error)) (stop bool, err error) {
	for i := range n {
		wait, err := fn(ctx, i)
		if err != nil {
			return true, err
		}
		if wait && r.monotonic {
			return true, nil
		}
	}
	return false, nil
}

// ordinal is the ordinal of pets[i].
func (r *round) ordinal(i int) int32 { return r.set.StartOrdinal() + int32(i) }

// processPet brings the pet at index i one step towards Running and Ready
// at the right revision with its identity and claims, and reports whether
// it must be waited for. A finished pod is deleted, and the pet created
// again only once that pod object is gone from the API: never two pods
// for one identity, even while one terminates.
func (r *round) processPet(ctx context.Context, i int) (bool, error) {
	pod := r.pets[i]
	if pod != nil && v1.IsPodTerminal(pod) && !isTerminating(pod) {
		reason := ReasonRecreatingFailedPod
		if pod.Status.Phase == v1.PodSucceeded {
			reason = ReasonRecreatingTerminatedPod
		}
		r.pc.events.Eventf(ctx, r.set, v1.EventTypeWarning, reason,
			"PetSet %s is recreating %s Pod %s", r.set.Name, pod.Status.Phase, pod.Name)
		left, err := r.pc.pods.DeletePod(ctx, r.set, pod)
		if err != nil {
			return true, err
		}
		r.pets[i], pod = left, left
	}
	if pod == nil {
		return r.createPet(ctx, i)
	}
	if isTerminating(pod) {
		return true, nil
	}
	if pod.Status.Phase == "" || pod.Status.Phase == v1.PodPending {
		if _, err := r.createClaims(ctx, pod, r.ordinal(i)); err != nil {
			return true, err
		}
	}
	if r.monotonic && !isHealthy(pod, r.set.Spec.MinReadySeconds, r.now) {
		return true, nil
	}
	return false, r.keepIdentity(ctx, i)
}

// createPet creates the claims and then the pod of the pet at index i,
// unless a claim it needs is on its way out.
func (r *round) createPet(ctx context.Context, i int) (bool, error) {
	ord := r.ordinal(i)
	pod := r.versionedPod(ord)
	for _, t := range r.set.Spec.VolumeClaimTemplates {
		if c := r.claims[r.set.ClaimName(t.Name, ord)]; c != nil && claimIsStale(c, r.set, pod, r.pc.kinds) {
			r.pc.events.Eventf(ctx, r.set, v1.EventTypeNormal, ReasonWaitingForStaleClaim,
				"Pod %s waits for claim %s of its scaled-down predecessor to be deleted", pod.Name, c.Name)
			return true, nil
		}
	}
	if wait, err := r.createClaims(ctx, pod, ord); wait || err != nil {
		return true, err
	}
	got, err := r.pc.pods.CreatePod(ctx, r.set, pod)
	if v1.IsAlreadyExists(err) {
		// A pod the set does not control holds the name (a released
		// pet, say): the pet waits for it to go, never beside it.
		return true, nil
	}
	if err != nil {
		return true, err
	}
	r.pets[i] = got
	return true, nil
}

// versionedPod is the new pod of ordinal: at the current revision below
// the rolling update's partition (counted from the first ordinal, as
// Kubernetes does), else at the update revision.
func (r *round) versionedPod(ord int32) *v1.Pod {
	if s := r.set.Spec.UpdateStrategy; s.Type != v1.OnDeletePetSetStrategyType &&
		s.RollingUpdate != nil && s.RollingUpdate.Partition != nil &&
		ord-r.set.StartOrdinal() < *s.RollingUpdate.Partition {
		return newPod(r.currentSet, r.current.Name, ord, r.pc.kinds)
	}
	return newPod(r.updateSet, r.update.Name, ord, r.pc.kinds)
}

// createClaims creates the pet's claims that do not exist. wait reports a
// claim that exists but is being deleted: the pet must not start on it.
func (r *round) createClaims(ctx context.Context, pod *v1.Pod, ord int32) (wait bool, err error) {
	for _, c := range newClaims(r.set, ord, r.pc.kinds) {
		if old := r.claims[c.Name]; old != nil {
			wait = wait || old.DeletionTimestamp != nil
			continue
		}
		got, err := r.pc.pods.CreateClaim(ctx, r.set, c)
		switch {
		case v1.IsAlreadyExists(err):
			// Created by an earlier sync whose write the cache has
			// not shown yet, or by the user: either way it exists.
		case err != nil:
			return true, err
		default:
			r.claims[c.Name] = got
		}
	}
	return wait, nil
}

// keepIdentity gives a live pet its identity labels and its claims the
// owners the retention policy asks for. A pod whose volumes do not mount
// its claims (an adopted pod) cannot be fixed in place, since a pod's spec
// is immutable: that is reported, and it runs on as it is.
func (r *round) keepIdentity(ctx context.Context, i int) error {
	pod, ord := r.pets[i], r.ordinal(i)
	if !storageMatches(r.set, pod, ord) {
		r.pc.events.Eventf(ctx, r.set, v1.EventTypeWarning, ReasonStorageMismatch,
			"Pod %s does not mount the claims of its pet; delete it to have it created with them", pod.Name)
	}
	if err := r.fixClaimOwners(ctx, pod); err != nil {
		return err
	}
	if identityMatches(pod, ord) {
		return nil
	}
	fixed := v1.Clone(pod)
	setIdentity(fixed, ord)
	got, err := r.pc.pods.UpdatePod(ctx, r.set, fixed)
	if err != nil {
		return err
	}
	r.pets[i] = got
	return nil
}

// fixClaimOwners sets the owners of the pod's claims as the retention
// policy asks, for a pod in range or condemned.
func (r *round) fixClaimOwners(ctx context.Context, pod *v1.Pod) error {
	if pod == nil {
		return nil
	}
	ord, _ := r.set.OrdinalOf(pod)
	for _, t := range r.set.Spec.VolumeClaimTemplates {
		c := r.claims[r.set.ClaimName(t.Name, ord)]
		if c == nil || claimOwnersUpToDate(c, r.set, pod, ord, r.pc.kinds) {
			continue
		}
		fixed := v1.Clone(c)
		setClaimOwners(fixed, r.set, pod, ord, r.pc.kinds)
		got, err := r.pc.pods.UpdateClaim(ctx, r.set, fixed)
		if err != nil {
			return err
		}
		r.claims[c.Name] = got
	}
	return nil
}

// firstUnhealthy is the first pet in range that is not healthy (nil also
// when that pet has no pod), or else the lowest condemned one that is not.
func (r *round) firstUnhealthy() *v1.Pod {
	mrs := r.set.Spec.MinReadySeconds
	for _, p := range r.pets {
		if !isHealthy(p, mrs, r.now) {
			return p
		}
	}
	for i := len(r.condemned) - 1; i >= 0; i-- {
		if p := r.condemned[i]; !isHealthy(p, mrs, r.now) {
			return p
		}
	}
	return nil
}

// processCondemned deletes the condemned pod at index i (scale-down).
// Under OrderedReady it waits for a terminating pod to be gone before the
// next, lower one is deleted, and deletes an unhealthy pod only if it is
// the first unhealthy one, as Kubernetes does.
func (r *round) processCondemned(ctx context.Context, i int, first *v1.Pod) (bool, error) {
	pod := r.condemned[i]
	if isTerminating(pod) {
		return true, nil
	}
	if r.monotonic && pod != first && !isHealthy(pod, r.set.Spec.MinReadySeconds, r.now) {
		return true, nil
	}
	left, err := r.pc.pods.DeletePod(ctx, r.set, pod)
	if err != nil {
		return true, err
	}
	r.condemned[i] = left
	return true, nil
}

// rollingUpdate deletes pods of an old revision, highest ordinal first,
// down to the partition, while fewer than maxUnavailable pets in range
// are unavailable (missing, terminating, or not Ready for
// minReadySeconds); each comes back at the update revision once it is
// gone.
func (r *round) rollingUpdate(ctx context.Context) error {
	budget := r.maxUnavailable()
	for _, p := range r.pets {
		if !isHealthy(p, r.set.Spec.MinReadySeconds, r.now) {
			budget--
		}
	}
	partition := int32(0)
	if ru := r.set.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
		partition = *ru.Partition
	}
	for i := len(r.pets) - 1; i >= 0 && int32(i) >= partition && budget > 0; i-- {
		pod := r.pets[i]
		if pod == nil || isTerminating(pod) || revisionOf(pod) == r.update.Name {
			continue
		}
		left, err := r.pc.pods.DeletePod(ctx, r.set, pod)
		if err != nil {
			return err
		}
		r.pets[i] = left
		budget--
	}
	return nil
}

// maxUnavailable resolves rollingUpdate.maxUnavailable against replicas,
// rounding down, and at least 1.
func (r *round) maxUnavailable() int {
	mu := intstr.FromInt32(1)
	if ru := r.set.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.MaxUnavailable != nil {
		mu = *ru.MaxUnavailable
	}
	n, err := intstr.GetScaledValueFromIntOrPercent(&mu, int(r.set.DesiredReplicas()), false)
	if err != nil || n < 1 {
		return 1
	}
	return n
}

package petset

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// world is an in-memory cluster for the control algorithm. It is the
// algorithm's podControl, historyControl and recorder (the side-effect
// seam), and the tests play the node agent and the garbage collector on it
// step by step. While it runs it checks the rules of SPECS.md §1 at every
// call, and step checks atMostOnePerIdentity after every reconcile.
//
// Unlike the API server, the world stores a second pod under a name its
// set already holds: a controller that counted on the name to keep one
// pod per identity would then be caught by atMostOnePerIdentity instead of
// being saved by the refusal. A name held by a pod the set does not
// control is refused (AlreadyExists), as the API server does.
type world struct {
	t   *testing.T
	k   kinds
	set *v1.PetSet
	now time.Time
	rev int64
	uid int

	pods   []*v1.Pod // every pod object, in creation order
	claims map[string]*v1.PersistentVolumeClaim
	revs   map[string]*v1.ControllerRevision

	// graceful: a deleted pod stays terminating until the agent finishes
	// it; otherwise it is removed at once, as an unscheduled pod is.
	graceful bool
	// lazyGC: owned objects whose owners are gone wait for gc(); else
	// they are collected as soon as their last owner goes.
	lazyGC bool

	control *petControl
	events  []string
	log     []string // "create web-0", "delete web-2", …
	wait    time.Duration
}

var (
	_ podControl     = (*world)(nil)
	_ historyControl = (*world)(nil)
	_ recorder       = (*world)(nil)
)

func newWorld(t *testing.T, set *v1.PetSet) *world {
	reg := v1.NewRegistry()
	sk, _ := reg.ByKind("PetSet")
	pk, _ := reg.ByKind("Pod")
	sk.Default(set)
	w := &world{t: t, k: kinds{set: sk, pod: pk}, set: set, now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		claims: map[string]*v1.PersistentVolumeClaim{}, revs: map[string]*v1.ControllerRevision{}, graceful: true}
	w.control = &petControl{pods: w, history: w, events: w, kinds: w.k}
	return w
}

func (w *world) nextRV() string { w.rev++; return strconv.FormatInt(w.rev, 10) }
func (w *world) nextUID() string {
	w.uid++
	return "uid-" + strconv.Itoa(w.uid)
}

// violation fails the test at the call that broke a rule.
func (w *world) violation(format string, args ...any) {
	w.t.Helper()
	w.t.Errorf("violation: "+format, args...)
}

// step runs one reconcile of the set on what the world holds, stores the
// status, and checks the identity invariant.
func (w *world) step() {
	w.t.Helper()
	obs := observed{set: v1.Clone(w.set), pods: w.setPods(), claims: map[string]*v1.PersistentVolumeClaim{}}
	for _, r := range w.revs {
		obs.revisions = append(obs.revisions, r)
	}
	for k, c := range w.claims {
		obs.claims[k] = c
	}
	status, wait, err := w.control.update(context.Background(), obs, w.now)
	if err != nil {
		w.t.Fatalf("reconcile: %v", err)
	}
	w.wait = wait
	if status != nil {
		w.set.Status = *status
	}
	if err := atMostOnePerIdentity(w.pods); err != nil {
		w.t.Fatalf("after reconcile: %v", err)
	}
}

// setPods are the pods the set controls, as its informer would show them.
func (w *world) setPods() []*v1.Pod {
	var out []*v1.Pod
	for _, p := range w.pods {
		if v1.IsControlledBy(p, w.set) {
			out = append(out, v1.Clone(p))
		}
	}
	return out
}

// pod is the newest pod object named name, or nil.
func (w *world) pod(name string) *v1.Pod {
	for i := len(w.pods) - 1; i >= 0; i-- {
		if w.pods[i].Name == name {
			return w.pods[i]
		}
	}
	return nil
}

// CreatePod implements podControl, checking that the pod's claims exist
// and, under OrderedReady, that every predecessor is Running and Ready.
func (w *world) CreatePod(_ context.Context, set *v1.PetSet, pod *v1.Pod) (*v1.Pod, error) {
	w.t.Helper()
	if old := w.pod(pod.Name); old != nil && !v1.IsControlledBy(old, set) {
		w.events = append(w.events, ReasonFailedCreate)
		return nil, v1.NewError(v1.ReasonAlreadyExists, "pods %q already exists", pod.Name)
	}
	for _, v := range pod.Spec.Volumes {
		if c := v.PersistentVolumeClaim; c != nil && w.claims[c.ClaimName] == nil {
			w.violation("pod %s created before its claim %s", pod.Name, c.ClaimName)
		}
	}
	ord, _ := set.OrdinalOf(pod)
	if set.Spec.PodManagementPolicy == v1.OrderedReadyPodManagement {
		for o := set.StartOrdinal(); o < ord; o++ {
			if p := w.pod(set.PetName(o)); p == nil || isTerminating(p) || !isRunningAndReady(p) {
				w.violation("pod %s created before its predecessor %s was Running and Ready", pod.Name, set.PetName(o))
			}
		}
	}
	p := v1.Clone(pod)
	p.UID, p.ResourceVersion, p.CreationTimestamp = w.nextUID(), w.nextRV(), v1.NewTime(w.now)
	w.pods = append(w.pods, p)
	w.log = append(w.log, "create "+p.Name)
	return v1.Clone(p), nil
}

// DeletePod implements podControl, checking the order of scale-down and
// the bounds of a rolling update.
func (w *world) DeletePod(_ context.Context, set *v1.PetSet, pod *v1.Pod) (*v1.Pod, error) {
	w.t.Helper()
	i := slices.IndexFunc(w.pods, func(p *v1.Pod) bool { return p.UID == pod.UID })
	if i < 0 {
		return nil, nil
	}
	w.checkDelete(set, w.pods[i])
	w.log = append(w.log, "delete "+pod.Name)
	return w.remove(i), nil
}

// checkDelete checks a deletion by the controller against SPECS.md §1.
func (w *world) checkDelete(set *v1.PetSet, pod *v1.Pod) {
	w.t.Helper()
	ord, _ := set.OrdinalOf(pod)
	switch {
	case v1.IsPodTerminal(pod):
	case !set.KeepsOrdinal(ord):
		if set.Spec.PodManagementPolicy == v1.OrderedReadyPodManagement {
			for _, p := range w.pods {
				if o, ok := set.OrdinalOf(p); ok && o > ord {
					w.violation("pod %s deleted while its successor %s exists", pod.Name, p.Name)
				}
			}
		}
	case set.Spec.UpdateStrategy.Type == v1.OnDeletePetSetStrategyType:
		w.violation("pod %s deleted under OnDelete", pod.Name)
	default:
		w.checkRollingDelete(set, pod, ord)
	}
}

// checkRollingDelete checks a rolling update's deletion: an old revision,
// at or above the partition, with fewer than maxUnavailable pets down.
func (w *world) checkRollingDelete(set *v1.PetSet, pod *v1.Pod, ord int32) {
	w.t.Helper()
	newest := w.newestRevision()
	if revisionOf(pod) == newest {
		w.violation("pod %s deleted by a rolling update though it has the update revision", pod.Name)
	}
	if p := set.Spec.UpdateStrategy.RollingUpdate.Partition; p != nil && ord-set.StartOrdinal() < *p {
		w.violation("pod %s deleted below the partition %d", pod.Name, *p)
	}
	down := 0
	for o := set.StartOrdinal(); o < endOrdinal(set); o++ {
		if !isHealthy(w.pod(set.PetName(o)), set.Spec.MinReadySeconds, w.now) {
			down++
		}
	}
	r := &round{set: set}
	if down >= r.maxUnavailable() {
		w.violation("pod %s deleted while %d pets are unavailable (maxUnavailable %d)", pod.Name, down, r.maxUnavailable())
	}
}

func (w *world) newestRevision() string {
	var best *v1.ControllerRevision
	for _, r := range w.revs {
		if best == nil || r.Revision > best.Revision {
			best = r
		}
	}
	if best == nil {
		return ""
	}
	return best.Name
}

// remove deletes the pod at index i: it is marked terminating when the
// world is graceful, else removed (and its dependents collected).
func (w *world) remove(i int) *v1.Pod {
	p := w.pods[i]
	if w.graceful {
		if p.DeletionTimestamp == nil {
			p.DeletionTimestamp, p.ResourceVersion = v1.NewTime(w.now), w.nextRV()
		}
		return v1.Clone(p)
	}
	w.pods = slices.Delete(w.pods, i, i+1)
	w.collect()
	return nil
}

// UpdatePod implements podControl.
func (w *world) UpdatePod(_ context.Context, _ *v1.PetSet, pod *v1.Pod) (*v1.Pod, error) {
	i := slices.IndexFunc(w.pods, func(p *v1.Pod) bool { return p.UID == pod.UID })
	if i < 0 {
		return nil, v1.NewError(v1.ReasonNotFound, "pods %q not found", pod.Name)
	}
	if w.pods[i].ResourceVersion != pod.ResourceVersion {
		return nil, v1.NewError(v1.ReasonConflict, "pod %s changed", pod.Name)
	}
	p := v1.Clone(pod)
	p.ResourceVersion = w.nextRV()
	w.pods[i] = p
	return v1.Clone(p), nil
}

// CreateClaim implements podControl.
func (w *world) CreateClaim(_ context.Context, _ *v1.PetSet, claim *v1.PersistentVolumeClaim) (*v1.PersistentVolumeClaim, error) {
	if w.claims[claim.Name] != nil {
		return nil, v1.NewError(v1.ReasonAlreadyExists, "persistentvolumeclaims %q already exists", claim.Name)
	}
	c := v1.Clone(claim)
	c.UID, c.ResourceVersion = w.nextUID(), w.nextRV()
	w.claims[c.Name] = c
	return v1.Clone(c), nil
}

// UpdateClaim implements podControl.
func (w *world) UpdateClaim(_ context.Context, _ *v1.PetSet, claim *v1.PersistentVolumeClaim) (*v1.PersistentVolumeClaim, error) {
	old := w.claims[claim.Name]
	if old == nil || old.ResourceVersion != claim.ResourceVersion {
		return nil, v1.NewError(v1.ReasonConflict, "claim %s changed", claim.Name)
	}
	c := v1.Clone(claim)
	c.ResourceVersion = w.nextRV()
	w.claims[c.Name] = c
	return v1.Clone(c), nil
}

// CreateRevision implements historyControl.
func (w *world) CreateRevision(_ context.Context, _ *v1.PetSet, rev *v1.ControllerRevision) (*v1.ControllerRevision, error) {
	if old := w.revs[rev.Name]; old != nil {
		return v1.Clone(old), v1.NewError(v1.ReasonAlreadyExists, "controllerrevisions %q already exists", rev.Name)
	}
	r := v1.Clone(rev)
	r.UID, r.ResourceVersion, r.CreationTimestamp = w.nextUID(), w.nextRV(), v1.NewTime(w.now)
	w.revs[r.Name] = r
	return v1.Clone(r), nil
}

// UpdateRevision implements historyControl.
func (w *world) UpdateRevision(_ context.Context, rev *v1.ControllerRevision, revision int64) (*v1.ControllerRevision, error) {
	r := w.revs[rev.Name]
	if r == nil {
		return nil, v1.NewError(v1.ReasonNotFound, "controllerrevisions %q not found", rev.Name)
	}
	r.Revision, r.ResourceVersion = revision, w.nextRV()
	return v1.Clone(r), nil
}

// DeleteRevision implements historyControl.
func (w *world) DeleteRevision(_ context.Context, rev *v1.ControllerRevision) error {
	delete(w.revs, rev.Name)
	return nil
}

// Eventf implements recorder.
func (w *world) Eventf(_ context.Context, _ *v1.PetSet, _, reason, _ string, _ ...any) {
	w.events = append(w.events, reason)
}

// The agent, the garbage collector and the user.

// ready reports the named pods (every live pod when none is named)
// Running and Ready since now.
func (w *world) ready(names ...string) {
	for _, p := range w.pods {
		if isTerminating(p) || v1.IsPodTerminal(p) || len(names) > 0 && !slices.Contains(names, p.Name) || isRunningAndReady(p) {
			continue
		}
		p.Status.Phase = v1.PodRunning
		v1.SetPodCondition(&p.Status, v1.PodCondition{Type: v1.PodReady, Status: v1.ConditionTrue, LastTransitionTime: v1.NewTime(w.now)})
		p.ResourceVersion = w.nextRV()
	}
}

// setPhase sets the phase of the newest pod named name, and makes it not
// Ready (a NotReady node reports the same for a Running pod).
func (w *world) setPhase(name string, phase v1.PodPhase) {
	p := w.pod(name)
	p.Status.Phase = phase
	v1.SetPodCondition(&p.Status, v1.PodCondition{Type: v1.PodReady, Status: v1.ConditionFalse, LastTransitionTime: v1.NewTime(w.now)})
	p.ResourceVersion = w.nextRV()
}

// finish plays the agent completing deletions: the named terminating pods
// (every one when none is named) are removed.
func (w *world) finish(names ...string) {
	w.pods = slices.DeleteFunc(w.pods, func(p *v1.Pod) bool {
		return isTerminating(p) && (len(names) == 0 || slices.Contains(names, p.Name))
	})
	w.collect()
}

// fence plays `kennel node fence`: the pod is removed whatever its state.
func (w *world) fence(name string) {
	w.pods = slices.DeleteFunc(w.pods, func(p *v1.Pod) bool { return p.Name == name })
	w.collect()
}

// userDelete deletes the newest pod named name as a user would.
func (w *world) userDelete(name string) {
	i := slices.IndexFunc(w.pods, func(p *v1.Pod) bool { return p == w.pod(name) })
	w.remove(i)
}

// collect plays the garbage collector unless it is lazy.
func (w *world) collect() {
	if !w.lazyGC {
		w.gc()
	}
}

// gc deletes, until nothing more changes, the claims and revisions whose
// owners are all gone, and the pods of a set being deleted (which then
// terminate, in a graceful world).
func (w *world) gc() {
	for changed := true; changed; {
		changed = false
		exists := map[string]bool{}
		if w.set.DeletionTimestamp == nil {
			exists[w.set.UID] = true
		}
		for _, p := range w.pods {
			exists[p.UID] = true
		}
		orphaned := func(m *v1.ObjectMeta) bool {
			return len(m.OwnerReferences) > 0 && !slices.ContainsFunc(m.OwnerReferences, func(r v1.OwnerReference) bool { return exists[r.UID] })
		}
		for name, c := range w.claims {
			if orphaned(&c.ObjectMeta) {
				delete(w.claims, name)
				changed = true
			}
		}
		for name, r := range w.revs {
			if orphaned(&r.ObjectMeta) {
				delete(w.revs, name)
			}
		}
		n := len(w.pods)
		w.pods = slices.DeleteFunc(w.pods, func(p *v1.Pod) bool { return !w.graceful && orphaned(&p.ObjectMeta) })
		changed = changed || len(w.pods) != n
		for _, p := range w.pods {
			if orphaned(&p.ObjectMeta) && !isTerminating(p) {
				p.DeletionTimestamp, p.ResourceVersion = v1.NewTime(w.now), w.nextRV()
			}
		}
	}
}

// scale sets the set's replicas, as a user would.
func (w *world) scale(n int32) { w.edit(func(s *v1.PetSetSpec) { s.Replicas = &n }) }

// edit changes the set's spec and bumps its generation.
func (w *world) edit(change func(*v1.PetSetSpec)) {
	change(&w.set.Spec)
	w.set.Generation++
}

// run steps the world, playing an agent that readies every new pod and
// finishes every deletion, and letting time pass when the controller asks
// to look again later, until done holds; it fails after 50 steps.
func (w *world) run(what string, done func() bool) {
	w.t.Helper()
	for range 50 {
		w.step()
		if done() {
			return
		}
		w.now = w.now.Add(w.wait)
		w.ready()
		w.finish()
	}
	w.t.Fatalf("%s: not reached after 50 steps; log %v; pods %v", what, w.log, w.describe())
}

// describe lists the pods as "name(revision,phase[,terminating])".
func (w *world) describe() []string {
	var out []string
	for _, p := range w.pods {
		s := fmt.Sprintf("%s(%s,%s", p.Name, revisionOf(p), p.Status.Phase)
		if isTerminating(p) {
			s += ",terminating"
		}
		out = append(out, s+")")
	}
	return out
}

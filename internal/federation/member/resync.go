package member

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// removed marks in works.done a Work whose objects were removed.
const removed = -1

// snapshot is a list of the member's Works read straight from the
// federation. Until the informer catches up with it (after a cut watch
// it may lag), the newer of the two copies of a Work is the one that
// counts: a Work the list has not, older in the cache than the list, is
// gone.
type snapshot struct {
	rv    int64
	works map[string]*v1.Work
}

// current is the newest known version of the Work key and its
// resourceVersion; ok is false when the Work is gone.
func (w *works) current(key string) (work *v1.Work, ok bool, rv int64) {
	cached, ok := w.works.Get(key)
	w.mu.Lock()
	snap := w.snap
	if snap != nil && parseRV(w.works.ResourceVersion()) >= snap.rv {
		w.snap, snap = nil, nil
	}
	w.mu.Unlock()
	switch {
	case snap == nil && !ok:
		return nil, false, 0
	case snap == nil || (ok && rvOf(cached) >= snap.rv):
		return cached, true, rvOf(cached)
	}
	if listed, in := snap.works[key]; in {
		return listed, true, rvOf(listed)
	}
	return nil, false, 0
}

// markDone records that the Work key was synced at resourceVersion rv
// (removed: its objects were removed).
func (w *works) markDone(key string, rv int64) {
	w.mu.Lock()
	w.done[key] = rv
	w.mu.Unlock()
	select {
	case w.progress <- struct{}{}:
	default:
	}
}

// markUndone forgets the last completed sync of the Work key.
func (w *works) markUndone(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.done, key)
}

// resync lists the member's Works from the federation and returns once
// every Work of a workload (PetSet, Deployment) in that list is applied
// at least at the listed version, and the objects of the workload Works
// the list no longer has are removed. Works that set replicas 0 are
// queued first. At start it also waits for the first sweep. Other kinds
// are applied as usual but not waited for: a ConfigMap the member
// refuses must not keep pets fenced.
func (w *works) resync(ctx context.Context) error {
	if !w.works.WaitForSync(ctx) {
		return ctx.Err()
	}
	select {
	case <-w.swept:
	case <-ctx.Done():
		return ctx.Err()
	}
	list, err := client.For[*v1.Work](w.a.fed, w.ns).ListAll(ctx, client.ListOptions{})
	if err != nil {
		return fmt.Errorf("member: list the Works of %s on the federation: %w", w.ns, err)
	}
	snap := &snapshot{rv: parseRV(list.ResourceVersion), works: map[string]*v1.Work{}}
	for _, work := range list.Items {
		snap.works[v1.ObjectKey(work)] = work
	}
	w.mu.Lock()
	w.snap = snap
	w.mu.Unlock()
	want := w.wanted(snap)
	keys := make([]string, 0, len(want))
	for key := range want {
		keys = append(keys, key)
	}
	// Replicas 0 (what the federation took away) first.
	slices.SortFunc(keys, func(a, b string) int {
		za, zb := zeroReplicas(snap.works[a]), zeroReplicas(snap.works[b])
		switch {
		case za && !zb:
			return -1
		case zb && !za:
			return 1
		}
		return cmp.Compare(a, b)
	})
	for _, key := range keys {
		if w.fencedTarget(key, snap) {
			// Its Fenced condition must reach the federation first.
			w.markUndone(key)
		}
		if !w.isDone(key, want[key], snap.rv) {
			w.ctrl.Enqueue(key)
		}
	}
	return w.waitDone(ctx, want, snap.rv)
}

// wanted maps the workload Works to wait for to their listed
// resourceVersion, and those that are gone to removed.
func (w *works) wanted(snap *snapshot) map[string]int64 {
	want := map[string]int64{}
	for key, work := range snap.works {
		if isWorkloadRef(targetOf(w.a.reg, work)) {
			want[key] = rvOf(work)
		}
	}
	for _, cached := range w.works.List() {
		key := v1.ObjectKey(cached)
		if _, in := snap.works[key]; !in && rvOf(cached) < snap.rv && isWorkloadRef(targetOf(w.a.reg, cached)) {
			want[key] = removed
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for key, ref := range w.applied {
		if _, in := snap.works[key]; !in && isWorkloadRef(ref, nil) {
			want[key] = removed
		}
	}
	return want
}

// fencedTarget reports whether the member workload the Work key
// applies is fenced, as cached.
func (w *works) fencedTarget(key string, snap *snapshot) bool {
	work, ok := snap.works[key]
	if !ok {
		return false
	}
	ref, err := targetOf(w.a.reg, work)
	if err != nil {
		return false
	}
	objKey := objectKeyOf(ref)
	switch ref.Kind {
	case "PetSet":
		ps, ok := w.petsets.Get(objKey)
		return ok && isFenced(ps)
	case "Deployment":
		d, ok := w.deployments.Get(objKey)
		return ok && isFenced(d)
	}
	return false
}

func isWorkloadRef(ref objectRef, err error) bool {
	return err == nil && (ref.Kind == "PetSet" || ref.Kind == "Deployment")
}

// isDone reports whether key is synced at least at rv (or removed, or
// synced again since a list at snapRV that did not have it).
func (w *works) isDone(key string, rv, snapRV int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	got, ok := w.done[key]
	if !ok {
		return false
	}
	if rv == removed {
		return got == removed || got > snapRV
	}
	return got >= rv
}

// waitDone waits until every wanted Work is done, logging the laggards
// now and then.
func (w *works) waitDone(ctx context.Context, want map[string]int64, snapRV int64) error {
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		var missing []string
		for key, rv := range want {
			if !w.isDone(key, rv, snapRV) {
				missing = append(missing, key)
			}
		}
		if len(missing) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.progress:
		case <-tick.C:
			slices.Sort(missing)
			w.a.log.Warn("the fence waits for Works to be applied", "works", missing)
		}
	}
}

// zeroReplicas reports whether a Work's manifest sets spec.replicas 0.
func zeroReplicas(work *v1.Work) bool {
	if work == nil {
		return false
	}
	var m struct {
		Spec struct {
			Replicas *int32 `json:"replicas"`
		} `json:"spec"`
	}
	return json.Unmarshal(work.Spec.Manifest, &m) == nil && m.Spec.Replicas != nil && *m.Spec.Replicas == 0
}

// parseRV reads a resourceVersion, which this API server makes from
// the store's revision, so that versions compare; 0 when it is not one.
func parseRV(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

func rvOf(obj v1.Object) int64 { return parseRV(obj.GetObjectMeta().ResourceVersion) }

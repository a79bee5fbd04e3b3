package member

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// report writes the Work's status from what applying it came to, when
// it changed.
func (w *works) report(ctx context.Context, work *v1.Work, out outcome) error {
	st := w.workStatus(work, out)
	if reflect.DeepEqual(jsonOf(work.Status), jsonOf(st)) {
		return nil
	}
	next := v1.Clone(work)
	next.Status = st
	// The agent alone writes a Work's status: no need to guard against
	// concurrent writers with the resourceVersion.
	next.ResourceVersion = ""
	_, err := client.For[*v1.Work](w.a.fed, work.Namespace).UpdateStatus(ctx, next)
	if err = ignoreNotFound(err); err != nil {
		return fmt.Errorf("member: update the status of Work %s on the federation: %w", v1.ObjectKey(work), err)
	}
	return nil
}

// workStatus is the status a Work should have after out.
func (w *works) workStatus(work *v1.Work, out outcome) v1.WorkStatus {
	old := v1.Clone(work).Status
	st := v1.WorkStatus{Conditions: old.Conditions, AppliedGeneration: old.AppliedGeneration}
	cond := v1.Condition{Type: v1.WorkApplied, Status: v1.ConditionFalse, ObservedGeneration: work.Generation,
		Reason: out.reason, Message: out.message}
	if out.applied {
		cond.Status = v1.ConditionTrue
		st.AppliedGeneration = work.Generation
	}
	setCondition(&st.Conditions, cond)
	fencedCondition(&st.Conditions, out.current, work.Generation)
	switch {
	case out.current != nil:
		st.ResourceStatus = statusJSON(out.current)
		st.Migration = out.migration
		if svc, ok := out.current.(*v1.Service); ok {
			st.ReadyAddresses, st.NotReadyAddresses = w.addresses(svc)
		}
	case out.reason == ReasonApplyFailed:
		// The member's API refused or failed: what it last said of the
		// object still stands.
		st.ResourceStatus, st.ReadyAddresses, st.NotReadyAddresses = old.ResourceStatus, old.ReadyAddresses, old.NotReadyAddresses
	}
	return st
}

// fencedCondition sets the Fenced condition from the member workload:
// True while it carries the fenced-at annotation, then False. Works that
// were never fenced get none.
func fencedCondition(conds *[]v1.Condition, cur v1.Object, gen int64) {
	if cur == nil || templateOf(cur) == nil {
		return
	}
	if at := cur.GetObjectMeta().Annotations[AnnotationFencedAt]; at != "" {
		setCondition(conds, v1.Condition{Type: WorkFenced, Status: v1.ConditionTrue, ObservedGeneration: gen, Reason: ReasonFenced,
			Message: fmt.Sprintf("fenced at %s: the member could not renew its federation membership within the fencing period; "+
				"its pods are stopped and its replicas held at 0 until it renews", at)})
		return
	}
	i := slices.IndexFunc(*conds, func(c v1.Condition) bool { return c.Type == WorkFenced })
	if i >= 0 && (*conds)[i].Status != v1.ConditionFalse {
		setCondition(conds, v1.Condition{Type: WorkFenced, Status: v1.ConditionFalse, ObservedGeneration: gen, Reason: ReasonFenceLifted,
			Message: "the member renewed its federation membership and re-applied its Works"})
	}
}

// addresses are the addresses of a Service's Endpoints in the member,
// each once.
func (w *works) addresses(svc *v1.Service) (ready, notReady []v1.EndpointAddress) {
	ep, ok := w.endpoints.Get(v1.ObjectKey(svc))
	if !ok {
		return nil, nil
	}
	add := func(list []v1.EndpointAddress, a v1.EndpointAddress) []v1.EndpointAddress {
		if slices.ContainsFunc(list, func(x v1.EndpointAddress) bool { return x.IP == a.IP && x.Hostname == a.Hostname }) {
			return list
		}
		return append(list, a)
	}
	for _, s := range v1.Clone(ep).Subsets {
		for _, a := range s.Addresses {
			ready = add(ready, a)
		}
		for _, a := range s.NotReadyAddresses {
			notReady = add(notReady, a)
		}
	}
	return ready, notReady
}

// statusJSON is the "status" of obj's JSON, or nil when it has none.
func statusJSON(obj v1.Object) json.RawMessage {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(b, &fields) != nil {
		return nil
	}
	st := fields["status"]
	switch string(st) {
	case "", "null", "{}":
		return nil
	}
	return st
}

// setCondition adds or updates the condition of c's type; its
// lastTransitionTime moves only when its status changes.
func setCondition(conds *[]v1.Condition, c v1.Condition) {
	for i := range *conds {
		old := &(*conds)[i]
		if old.Type != c.Type {
			continue
		}
		c.LastTransitionTime = old.LastTransitionTime
		if old.Status != c.Status || c.LastTransitionTime == nil {
			c.LastTransitionTime = v1.Now()
		}
		*old = c
		return
	}
	c.LastTransitionTime = v1.Now()
	*conds = append(*conds, c)
}

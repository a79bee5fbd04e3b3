package bench

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// PetSetStartResult is how an OrderedReady PetSet came up: the whole
// start, and per pet the controller's hand-off (pet N Ready to pet N+1
// created, both as a watcher of the API sees them) and the node's start
// (pet created to Ready).
type PetSetStartResult struct {
	Pets                            int
	AllReady                        time.Duration
	HandoffP50, HandoffP99, Handoff time.Duration // Handoff: the largest
	StartP50, StartP99              time.Duration
}

func (r PetSetStartResult) String() string {
	return fmt.Sprintf("%d pets: apply→all Ready %v; controller hand-off (pet N Ready→pet N+1 created) p50 %v p99 %v max %v; pet created→Ready p50 %v p99 %v",
		r.Pets, r.AllReady.Round(time.Millisecond), r.HandoffP50.Round(100*time.Microsecond), r.HandoffP99.Round(100*time.Microsecond),
		r.Handoff.Round(100*time.Microsecond), r.StartP50.Round(time.Millisecond), r.StartP99.Round(time.Millisecond))
}

// MeasurePetSetStart creates an OrderedReady PetSet of n pets running
// argv (no readiness probe: a pet is Ready once its process runs) and
// times it from the create until every pet is Ready.
func MeasurePetSetStart(ctx context.Context, c *client.Client, ns, name string, n int, argv []string) (PetSetStartResult, error) {
	pods := client.For[*v1.Pod](c, ns)
	w, err := pods.Watch(ctx, client.ListOptions{})
	if err != nil {
		return PetSetStartResult{}, err
	}
	defer w.Stop()
	replicas := int32(n)
	set := &v1.PetSet{ObjectMeta: v1.ObjectMeta{Name: name, Namespace: ns}, Spec: v1.PetSetSpec{
		Replicas: &replicas, ServiceName: name,
		Selector: &v1.LabelSelector{MatchLabels: map[string]string{"app": name}},
		Template: v1.PodTemplateSpec{ObjectMeta: v1.ObjectMeta{Labels: map[string]string{"app": name}},
			Spec: v1.PodSpec{Containers: []v1.Container{{Name: "main", Command: argv}}}}}}
	start := time.Now()
	if _, err := client.For[*v1.PetSet](c, ns).Create(ctx, set); err != nil {
		return PetSetStartResult{}, err
	}
	created, ready := map[string]time.Time{}, map[string]time.Time{}
	for len(ready) < n {
		select {
		case ev, ok := <-w.Events():
			if !ok {
				return PetSetStartResult{}, fmt.Errorf("bench: pod watch ended with %d of %d pets Ready", len(ready), n)
			}
			p := ev.Object
			if p == nil {
				continue
			}
			now := time.Now()
			if _, seen := created[p.Name]; !seen {
				created[p.Name] = now
			}
			if _, seen := ready[p.Name]; !seen && v1.IsPodReady(p) {
				ready[p.Name] = now
			}
		case <-ctx.Done():
			return PetSetStartResult{}, fmt.Errorf("bench: %d of %d pets Ready: %w", len(ready), n, ctx.Err())
		}
	}
	r := PetSetStartResult{Pets: n, AllReady: time.Since(start)}
	var handoffs, starts []time.Duration
	for i := range n {
		pet := fmt.Sprintf("%s-%d", name, i)
		starts = append(starts, ready[pet].Sub(created[pet]))
		if i+1 < n {
			handoffs = append(handoffs, created[fmt.Sprintf("%s-%d", name, i+1)].Sub(ready[pet]))
		}
	}
	r.HandoffP50, r.HandoffP99, r.Handoff = percentiles(handoffs)
	r.StartP50, r.StartP99, _ = percentiles(starts)
	return r, nil
}

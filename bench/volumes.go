package bench

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"k8s.io/apimachinery/pkg/api/resource"
)

// ProvisionResult is the latency from a claim's create returning to a
// watch showing it Bound, for a burst of claims created at once.
type ProvisionResult struct {
	Claims   int
	P50, P99 time.Duration
	Max      time.Duration
	// Total is from the first create to the last claim Bound.
	Total time.Duration
}

func (r ProvisionResult) String() string {
	return fmt.Sprintf("%d claims: create→Bound p50 %v p99 %v (max %v); all bound in %v",
		r.Claims, r.P50.Round(time.Millisecond), r.P99.Round(time.Millisecond), r.Max.Round(time.Millisecond), r.Total.Round(time.Millisecond))
}

// MeasureProvision creates n claims of class (each asking for size) in
// namespace ns as fast as one client can, and times each until it is
// Bound: placement by the volume binding controller, carving and PV
// creation by the node's local provisioner, binding by the controller.
func MeasureProvision(ctx context.Context, c *client.Client, ns, class string, n int, size string) (ProvisionResult, error) {
	claims := client.For[*v1.PersistentVolumeClaim](c, ns)
	w, err := claims.Watch(ctx, client.ListOptions{})
	if err != nil {
		return ProvisionResult{}, err
	}
	defer w.Stop()
	created := map[string]time.Time{}
	start := time.Now()
	for i := range n {
		cl := &v1.PersistentVolumeClaim{ObjectMeta: v1.ObjectMeta{Name: fmt.Sprintf("claim-%03d", i), Namespace: ns}}
		cl.Spec.StorageClassName = &class
		cl.Spec.AccessModes = []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}
		cl.Spec.Resources.Requests = v1.ResourceList{v1.ResourceStorage: resource.MustParse(size)}
		if _, err := claims.Create(ctx, cl); err != nil {
			return ProvisionResult{}, err
		}
		created[cl.Name] = time.Now()
	}
	var lat []time.Duration
	bound := map[string]bool{}
	for len(bound) < n {
		select {
		case ev, ok := <-w.Events():
			if !ok {
				return ProvisionResult{}, fmt.Errorf("bench: claim watch ended with %d of %d bound", len(bound), n)
			}
			cl := ev.Object
			if cl == nil || bound[cl.Name] || cl.Status.Phase != v1.ClaimBound {
				continue
			}
			bound[cl.Name] = true
			lat = append(lat, time.Since(created[cl.Name]))
		case <-ctx.Done():
			return ProvisionResult{}, fmt.Errorf("bench: %d of %d claims bound: %w", len(bound), n, ctx.Err())
		}
	}
	p50, p99, maxd := percentiles(lat)
	return ProvisionResult{Claims: n, P50: p50, P99: p99, Max: maxd, Total: time.Since(start)}, nil
}

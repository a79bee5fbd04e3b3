package endpoints

import (
	"context"
	"errors"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// TestStaleCacheKeepsUserEndpoints: Endpoints are deleted only on what
// the API server holds. A Service its cache has not seen yet (a
// selectorless Service and its hand-written Endpoints applied together)
// keeps its Endpoints; Endpoints a user took over (the managed-by label
// dropped) since the cached version are not deleted for that version.
func TestStaleCacheKeepsUserEndpoints(t *testing.T) {
	tc := testcluster.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ec, err := New(tc.Admin, nil, controller.Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Only the Endpoints are watched: the Service cache stays empty.
	go ec.endpoints.Run(ctx)
	svcs := client.For[*v1.Service](tc.Admin, "default")
	eps := client.For[*v1.Endpoints](tc.Admin, "default")
	if _, err := svcs.Create(ctx, service("manual", "", "pg:5432")); err != nil {
		t.Fatal(err)
	}
	mine, err := eps.Create(ctx, &v1.Endpoints{ObjectMeta: v1.ObjectMeta{Name: "manual"}, Subsets: []v1.EndpointSubset{{
		Addresses: []v1.EndpointAddress{{IP: "192.0.2.10"}}, Ports: []v1.EndpointPort{{Name: "pg", Port: 5432}}}}})
	if err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, 30*time.Second, "endpoints manual cached", func() bool {
		_, ok := ec.endpoints.Get("default/manual")
		return ok
	})
	if err := ec.sync(ctx, "default/manual"); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if _, err := eps.Get(ctx, "manual"); err != nil {
		t.Fatalf("endpoints of a service not yet cached were deleted: %v", err)
	}

	// A cached managed version; the user has since taken them over.
	stale := v1.Clone(mine)
	stale.Labels = map[string]string{LabelManagedBy: ManagedBy}
	if stale, err = eps.Update(ctx, stale); err != nil {
		t.Fatal(err)
	}
	if _, err := eps.Patch(ctx, "manual", []byte(`{"metadata":{"labels":null}}`)); err != nil {
		t.Fatal(err)
	}
	if err := ec.delete(ctx, stale); err != nil && !errors.As(err, new(controller.Requeue)) {
		t.Fatalf("delete: %v", err)
	}
	if _, err := eps.Get(ctx, "manual"); err != nil {
		t.Fatalf("endpoints a user took over were deleted for their stale cached version: %v", err)
	}
}

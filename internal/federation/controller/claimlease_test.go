package controller

import (
	"context"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// TestClaimLeaseReadsALeaseTheCacheLacks: a failed member's Lease that
// the controller's cache does not hold (yet) is read from the API server
// and claimed, rather than taken for a member that never ran anything —
// which would let its pets start elsewhere unfenced. The controller is
// not run here, so its caches stay empty.
func TestClaimLeaseReadsALeaseTheCacheLacks(t *testing.T) {
	tc := testcluster.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := client.For[*v1.Namespace](tc.Admin, "").Create(ctx, &v1.Namespace{ObjectMeta: v1.ObjectMeta{Name: v1.NamespaceClusterLeases}}); err != nil {
		t.Fatal(err)
	}
	fc, err := New(Config{Client: tc.Admin, Federation: "fed", Domain: "example.com"})
	if err != nil {
		t.Fatal(err)
	}
	leases := client.For[*v1.Lease](tc.Admin, v1.NamespaceClusterLeases)
	holder := "eu-1"
	renewed := &v1.MicroTime{Time: time.Now()}
	if _, err := leases.Create(ctx, &v1.Lease{ObjectMeta: v1.ObjectMeta{Name: "eu-1"},
		Spec: v1.LeaseSpec{HolderIdentity: &holder, RenewTime: renewed}}); err != nil {
		t.Fatal(err)
	}
	claim, err := fc.claimLease(ctx, "eu-1")
	if err != nil || claim == "" {
		t.Fatalf("claimLease(eu-1) = %q, %v; want a claim", claim, err)
	}
	l, err := leases.Get(ctx, "eu-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Annotations[v1.AnnotationFencedByFederation]; got != claim {
		t.Errorf("lease annotation %s = %q, want the claim %q", v1.AnnotationFencedByFederation, got, claim)
	}
	if claim, err := fc.claimLease(ctx, "never-renewed"); err != nil || claim != "" {
		t.Errorf("claimLease of a member without a lease = %q, %v; want none", claim, err)
	}
}

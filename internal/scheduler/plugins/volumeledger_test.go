package plugins

import (
	"slices"
	"strings"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
	"github.com/kennel-dev/kennel/internal/volume"
)

// mustReserve reserves pod on node, failing the test when Reserve fails.
func mustReserve(t *testing.T, pl *VolumeBinding, pod *v1.Pod, node string) {
	t.Helper()
	if s := pl.Reserve(t.Context(), framework.NewCycleState(), pod, node); !s.IsSuccess() {
		t.Fatalf("Reserve %s on %s: %s %q", pod.Name, node, s.Code(), s.Message())
	}
}

// verdictOn is the Filter verdict for pod on node after PreFilter.
func verdictOn(t *testing.T, pl *VolumeBinding, f *fakeVolumes, pod *v1.Pod, node string) *framework.Status {
	t.Helper()
	pre, perNode := decide(t, pl, f, pod)
	if pre != nil {
		t.Fatalf("PreFilter %s: %s", pod.Name, pre.Message())
	}
	return perNode[node]
}

// TestVolumeBindingReserveHoldsTheDevice: two pods reserved back to back
// for a device with room for one, before any claim is written: the
// second is rejected by Filter and by Reserve with the device's reason,
// whichever of capacity, IOPS or bandwidth runs out; Unreserve frees it.
func TestVolumeBindingReserveHoldsTheDevice(t *testing.T) {
	tests := []struct {
		name   string
		dev    v1.NodeStorageDevice
		class  []string // parameters
		size   string
		reason string
	}{
		{"IOPS", device("d0", "100Gi", "1000", ""), []string{v1.ParamReadIOPS, "300", v1.ParamWriteIOPS, "300"}, "1Gi", volume.ReasonIOPS},
		{"capacity", device("d0", "10Gi", "1000", ""), nil, "6Gi", volume.ReasonCapacity},
		{"bandwidth", device("d0", "100Gi", "", "1Gi"), []string{v1.ParamWriteBandwidth, "600Mi"}, "1Gi", volume.ReasonBandwidth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeVolumes()
			f.lagging = true
			f.addNode(storageNode("n1", nil, tt.dev))
			f.addClass(localClass("fast", tt.class...))
			f.addClaim(claim("default", "a", "fast", tt.size))
			f.addClaim(claim("default", "b", "fast", tt.size))
			pl := NewVolumeBinding(f, f)
			first, second := podClaiming("first", "a"), podClaiming("second", "b")

			checkStatus(t, verdictOn(t, pl, f, first, "n1"), nil)
			mustReserve(t, pl, first, "n1")
			mustReserve(t, pl, first, "n1") // again: a no-op
			if len(pl.assumed) != 1 || len(pl.reserved) != 1 {
				t.Fatalf("after reserving one pod twice: %d assumed, %d reserved; want 1 and 1", len(pl.assumed), len(pl.reserved))
			}
			checkStatus(t, verdictOn(t, pl, f, second, "n1"), []string{tt.reason})
			s := pl.Reserve(t.Context(), framework.NewCycleState(), second, "n1")
			if s.Code() != framework.Unschedulable || s.Message() != tt.reason {
				t.Fatalf("Reserve second = %s %q, want Unschedulable %q", s.Code(), s.Message(), tt.reason)
			}

			pl.Unreserve(t.Context(), framework.NewCycleState(), first, "n1")
			pl.Unreserve(t.Context(), framework.NewCycleState(), first, "n1") // idempotent
			if len(pl.assumed) != 0 || len(pl.reserved) != 0 {
				t.Fatalf("after Unreserve: %d assumed, %d reserved; want none", len(pl.assumed), len(pl.reserved))
			}
			checkStatus(t, verdictOn(t, pl, f, second, "n1"), nil)
			mustReserve(t, pl, second, "n1")
			if f.writes != 0 {
				t.Fatalf("%d claim writes; Reserve writes nothing", f.writes)
			}
		})
	}
}

// TestVolumeBindingPreBindWritesWhatReserveAssumed: PreBind writes the
// reserved claim once, and the device counts it once: a claim that fills
// the device exactly still fits after it. A failed binding's Unreserve
// keeps the written claim counted until the informer shows it, and then
// the ledger counts the claim itself.
func TestVolumeBindingPreBindWritesWhatReserveAssumed(t *testing.T) {
	f := newFakeVolumes()
	f.lagging = true
	f.addNode(storageNode("n1", nil, device("hdd", "100Gi", "100", ""), device("ssd", "100Gi", "1000", "")))
	f.addClass(localClass("fast", v1.ParamWriteIOPS, "600"))
	f.addClass(localClass("rest", v1.ParamWriteIOPS, "400"))
	f.addClaim(claim("default", "a", "fast", "1Gi"))
	f.addClaim(claim("default", "b", "fast", "1Gi"))
	f.addClaim(claim("default", "rest", "rest", "1Gi"))
	pl := NewVolumeBinding(f, f)
	a := podClaiming("a", "a")

	mustReserve(t, pl, a, "n1")
	if s := pl.PreBind(t.Context(), framework.NewCycleState(), a, "n1"); !s.IsSuccess() {
		t.Fatalf("PreBind: %s", s.Message())
	}
	if got := f.apiClaim("default", "a").Annotations; got[v1.AnnotationSelectedNode] != "n1" || got[v1.AnnotationSelectedDevice] != "ssd" {
		t.Fatalf("claim a annotations = %v, want n1 and ssd", got)
	}
	if f.writes != 1 || len(pl.reserved) != 0 {
		t.Fatalf("%d writes, %d reservations left; want 1 and 0", f.writes, len(pl.reserved))
	}
	rest := podClaiming("rest", "rest")
	checkStatus(t, verdictOn(t, pl, f, rest, "n1"), nil) // 600 + 400 of 1000: counted once

	pl.Unreserve(t.Context(), framework.NewCycleState(), a, "n1") // the binding failed
	checkStatus(t, verdictOn(t, pl, f, podClaiming("b", "b"), "n1"), []string{volume.ReasonIOPS})

	f.caughtUp()
	checkStatus(t, verdictOn(t, pl, f, podClaiming("b", "b"), "n1"), []string{volume.ReasonIOPS})
	if len(pl.assumed) != 0 {
		t.Fatalf("assumed = %v, want none once the informer shows the claim", pl.assumed)
	}
	checkStatus(t, verdictOn(t, pl, f, rest, "n1"), nil)
}

// TestVolumeBindingPreBindFailureReleasesTheReservation: a write that
// meets a newer claim fails PreBind, and what Reserve assumed goes.
func TestVolumeBindingPreBindFailureReleasesTheReservation(t *testing.T) {
	f := newFakeVolumes()
	f.lagging = true
	f.addNode(storageNode("n1", nil, device("d0", "100Gi", "1000", "")))
	f.addClass(localClass("fast", v1.ParamWriteIOPS, "600"))
	f.addClaim(claim("default", "a", "fast", "1Gi"))
	f.addClaim(claim("default", "b", "fast", "1Gi"))
	pl := NewVolumeBinding(f, f)
	a := podClaiming("a", "a")
	mustReserve(t, pl, a, "n1")
	f.written["default/a"] = v1.Clone(f.claims["default/a"])
	f.written["default/a"].ResourceVersion = "7" // changed by someone else

	s := pl.PreBind(t.Context(), framework.NewCycleState(), a, "n1")
	if s.Code() != framework.Unschedulable || !strings.Contains(s.Message(), "has been modified") {
		t.Fatalf("PreBind = %s %q, want Unschedulable for the conflict", s.Code(), s.Message())
	}
	pl.Unreserve(t.Context(), framework.NewCycleState(), a, "n1") // as the scheduler does: a no-op now
	if len(pl.assumed) != 0 || len(pl.reserved) != 0 {
		t.Fatalf("after a failed PreBind: %d assumed, %d reserved; want none", len(pl.assumed), len(pl.reserved))
	}
	checkStatus(t, verdictOn(t, pl, f, podClaiming("b", "b"), "n1"), nil)
}

// TestVolumeBindingReserveElsewhereReleases: reserving a pod on another
// node releases its reservation on the first.
func TestVolumeBindingReserveElsewhereReleases(t *testing.T) {
	f := newFakeVolumes()
	f.addNode(storageNode("n1", nil, device("d0", "100Gi", "1000", "")))
	f.addNode(storageNode("n2", nil, device("d0", "100Gi", "1000", "")))
	f.addClass(localClass("fast", v1.ParamWriteIOPS, "600"))
	f.addClaim(claim("default", "a", "fast", "1Gi"))
	f.addClaim(claim("default", "b", "fast", "1Gi"))
	pl := NewVolumeBinding(f, f)
	a, b := podClaiming("a", "a"), podClaiming("b", "b")
	mustReserve(t, pl, a, "n1")
	checkStatus(t, verdictOn(t, pl, f, b, "n1"), []string{volume.ReasonIOPS})
	mustReserve(t, pl, a, "n2")
	checkStatus(t, verdictOn(t, pl, f, b, "n1"), nil)
	checkStatus(t, verdictOn(t, pl, f, b, "n2"), []string{volume.ReasonIOPS})
	pl.Unreserve(t.Context(), framework.NewCycleState(), a, "n1") // not where it is reserved: a no-op
	checkStatus(t, verdictOn(t, pl, f, b, "n2"), []string{volume.ReasonIOPS})
}

// TestVolumeBindingSharedClaimStaysReserved: two pods of one claim
// reserve it together; it stays assumed until both are unreserved.
func TestVolumeBindingSharedClaimStaysReserved(t *testing.T) {
	f := newFakeVolumes()
	f.lagging = true
	f.addNode(storageNode("n1", nil, device("d0", "100Gi", "1000", "")))
	f.addNode(storageNode("n2", nil, device("d0", "100Gi", "1000", "")))
	f.addClass(localClass("fast", v1.ParamWriteIOPS, "600"))
	f.addClaim(claim("default", "shared", "fast", "1Gi"))
	pl := NewVolumeBinding(f, f)
	p, q := podClaiming("p", "shared"), podClaiming("q", "shared")
	mustReserve(t, pl, p, "n1")
	checkStatus(t, verdictOn(t, pl, f, q, "n2"), []string{ReasonSelectedNodeConflict})
	mustReserve(t, pl, q, "n1")
	pl.Unreserve(t.Context(), framework.NewCycleState(), p, "n1")
	checkStatus(t, verdictOn(t, pl, f, podClaiming("r", "shared"), "n2"), []string{ReasonSelectedNodeConflict})
	pl.Unreserve(t.Context(), framework.NewCycleState(), q, "n1")
	checkStatus(t, verdictOn(t, pl, f, podClaiming("r", "shared"), "n2"), nil)
	if len(pl.assumed) != 0 {
		t.Fatalf("assumed = %v, want none", pl.assumed)
	}
}

// TestVolumeBindingReserveBurst: pods decided and reserved one after
// another, as the scheduler does under its decision lock, fill a
// 1000-IOPS device with 200-IOPS claims and stop at five, with nothing
// written.
func TestVolumeBindingReserveBurst(t *testing.T) {
	f := newFakeVolumes()
	f.lagging = true
	f.addNode(storageNode("n1", nil, device("d0", "100Gi", "1000", "")))
	f.addClass(localClass("fast", v1.ParamWriteIOPS, "200"))
	pl := NewVolumeBinding(f, f)
	var placed []string
	for _, name := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		f.addClaim(claim("default", name, "fast", "1Gi"))
		pod := podClaiming(name, name)
		if verdictOn(t, pl, f, pod, "n1").IsSuccess() {
			mustReserve(t, pl, pod, "n1")
			placed = append(placed, name)
		}
	}
	if !slices.Equal(placed, []string{"a", "b", "c", "d", "e"}) || f.writes != 0 {
		t.Fatalf("placed %v with %d writes, want a to e and none", placed, f.writes)
	}
}

// TestVolumeBindingSharedClaimWrittenOnce: of two pods reserved with one
// claim, the first PreBind writes it and the second, before the informer
// shows the write, does not write it again (which would meet a conflict).
func TestVolumeBindingSharedClaimWrittenOnce(t *testing.T) {
	f := newFakeVolumes()
	f.lagging = true
	f.addNode(storageNode("n1", nil, device("d0", "100Gi", "1000", "")))
	f.addClass(localClass("fast", v1.ParamWriteIOPS, "600"))
	f.addClaim(claim("default", "shared", "fast", "1Gi"))
	pl := NewVolumeBinding(f, f)
	p, q := podClaiming("p", "shared"), podClaiming("q", "shared")
	mustReserve(t, pl, p, "n1")
	mustReserve(t, pl, q, "n1")
	for _, pod := range []*v1.Pod{p, q} {
		if s := pl.PreBind(t.Context(), framework.NewCycleState(), pod, "n1"); !s.IsSuccess() {
			t.Fatalf("PreBind %s: %s %q", pod.Name, s.Code(), s.Message())
		}
	}
	if f.writes != 1 || len(pl.assumed) != 1 || len(pl.reserved) != 0 {
		t.Fatalf("%d writes, %d assumed, %d reserved; want 1, 1 (until the informer shows it), 0", f.writes, len(pl.assumed), len(pl.reserved))
	}
}

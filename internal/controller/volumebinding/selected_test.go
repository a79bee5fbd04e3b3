package volumebinding

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// selectNode plays the scheduler: it writes the selected node (and
// device, when not "") on the claim, reading it again when the
// controller wrote it meanwhile.
func (h *harness) selectNode(name, node, device string) {
	h.t.Helper()
	testcluster.Eventually(h.t, wait, "claim "+name+" selected for "+node, func() bool {
		c, _ := h.claim(name)
		if c.Annotations == nil {
			c.Annotations = map[string]string{}
		}
		c.Annotations[v1.AnnotationSelectedNode] = node
		if device != "" {
			c.Annotations[v1.AnnotationSelectedDevice] = device
		}
		_, err := h.claims.Update(h.ctx, c)
		if err != nil && !v1.IsConflict(err) {
			h.t.Fatalf("claim %s: select node %s: %v", name, node, err)
		}
		return err == nil
	})
}

// expectEvent waits for the Event of reason on the claim and checks its
// type and message.
// An earlier event of the same reason (a class the controller's cache
// had not seen yet) may come first; the one asked for must follow.
func (h *harness) expectEvent(claim, reason, typ, msg string) {
	h.t.Helper()
	testcluster.Eventually(h.t, wait, fmt.Sprintf("event %s %s %q on claim %s", reason, typ, msg, claim), func() bool {
		l, err := h.events.List(h.ctx, client.ListOptions{})
		if err != nil {
			return false
		}
		for _, e := range l.Items {
			if e.InvolvedObject.Kind == "PersistentVolumeClaim" && e.InvolvedObject.Name == claim &&
				e.Reason == reason && e.Type == typ && e.Message == msg {
				return true
			}
		}
		return false
	})
}

// TestWaitForFirstConsumerOfOtherClasses: once the scheduler selects a
// node for a WaitForFirstConsumer claim of a FlexVolume class, its
// volume is made here; one of a class without a provisioner binds the
// Available volume that admits that node, not a smaller one elsewhere.
func TestWaitForFirstConsumerOfOtherClasses(t *testing.T) {
	h := start(t, 2)
	h.createNode("node-1", true)
	h.createNode("node-2", true)
	h.createClass(classSpec("flex-late", v1.ProvisionerFlex, v1.VolumeBindingWaitForFirstConsumer,
		map[string]string{v1.ParamFlexDriver: "kennel.io/loop"}))
	h.createClass(classSpec("static", "kubernetes.io/no-provisioner", v1.VolumeBindingWaitForFirstConsumer, nil))
	onNode := func(pv *v1.PersistentVolume, node string) *v1.PersistentVolume {
		pv.Spec.NodeAffinity = &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
			MatchExpressions: []v1.NodeSelectorRequirement{{Key: v1.LabelHostname, Operator: v1.NodeSelectorOpIn, Values: []string{node}}}}}}}
		return pv
	}
	h.createVolume(onNode(volumeSpec("static-1", "static", "2Gi"), "node-1"))
	h.createVolume(onNode(volumeSpec("static-2", "static", "4Gi"), "node-2"))

	flexed := h.createClaim(claimSpec("flexed", ptr("flex-late"), "1Gi"))
	h.createClaim(claimSpec("pinned", ptr("static"), "1Gi"))
	for _, name := range []string{"flexed", "pinned"} {
		h.waitEvent(name, ReasonWaitForFirstConsumer)
		if c, _ := h.claim(name); c.Spec.VolumeName != "" {
			t.Fatalf("claim %s bound to %s before a node was selected", name, c.Spec.VolumeName)
		}
		h.selectNode(name, "node-2", "")
	}
	h.expectBoundTo(h.waitBound("flexed"), "pvc-"+flexed.UID)
	if pv, _ := h.volume("pvc-" + flexed.UID); pv.Spec.FlexVolume == nil || pv.Spec.FlexVolume.Driver != "kennel.io/loop" {
		t.Errorf("volume of claim flexed: flexVolume %+v, want driver kennel.io/loop", pv.Spec.FlexVolume)
	}
	h.expectBoundTo(h.waitBound("pinned"), "static-2")
}

// TestClaimOfAClassNotYetCached: a claim synced before its class reaches
// the controller's cache is judged by the class as the API server has it:
// a WaitForFirstConsumer claim waits for its pod's node rather than
// binding at once to a volume of its class on another node. The class
// informer is not run here, so the cache never has the class.
func TestClaimOfAClassNotYetCached(t *testing.T) {
	tc := testcluster.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	vc, err := New(tc.Admin, slog.New(slog.DiscardHandler), controller.Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, run := range []func(context.Context){vc.claims.Run, vc.volumes.Run, vc.pods.Run, vc.nodes.Run} {
		go run(ctx)
	}
	h := newHarness(t, ctx, tc.Admin)
	h.createNode("node-1", true)
	h.createClass(classSpec("static", "kubernetes.io/no-provisioner", v1.VolumeBindingWaitForFirstConsumer, nil))
	pv := volumeSpec("static-1", "static", "2Gi")
	pv.Spec.NodeAffinity = localVolume("x", claimSpec("x", ptr("static"), "1Gi"), "node-1").Spec.NodeAffinity
	h.createVolume(pv)
	h.createClaim(claimSpec("pinned", ptr("static"), "1Gi"))
	testcluster.Eventually(t, wait, "claim and volume cached", func() bool {
		_, claim := vc.claims.Get(ns + "/pinned")
		_, volume := vc.volumes.Get("static-1")
		return claim && volume
	})
	if _, cached := vc.classes.Get("static"); cached {
		t.Fatal("class static is in the cache; the test needs it not to be")
	}

	if err := vc.syncClaim(ctx, ns+"/pinned"); err != nil {
		t.Fatalf("sync claim pinned: %v", err)
	}
	if c, _ := h.claim("pinned"); c.Spec.VolumeName != "" {
		t.Fatalf("claim pinned bound to %s before a node was selected", c.Spec.VolumeName)
	}
	if h.event("pinned", ReasonWaitForFirstConsumer) == nil {
		t.Errorf("no %s event on claim pinned", ReasonWaitForFirstConsumer)
	}
}

// TestSelectedNodeWithoutDevice: a local claim whose node was selected
// for a volume made in advance gets that volume when it is still free;
// when it is not, a device of that node, of the class's device name,
// counting what the node's devices already hold; and when none has
// room, an Event that names the node and the claim.
func TestSelectedNodeWithoutDevice(t *testing.T) {
	h := start(t, 2)
	// hdd has room for everything, but the class wants nvme.
	h.createNode("node-1", true, device("hdd", "100Gi", ""), device("nvme", "10Gi", ""))
	h.createClass(classSpec("late", v1.ProvisionerLocal, v1.VolumeBindingWaitForFirstConsumer, map[string]string{v1.ParamDevice: "nvme"}))
	free := volumeSpec("free-on-1", "late", "5Gi")
	free.Spec.NodeAffinity = localVolume("x", claimSpec("x", ptr("late"), "1Gi"), "node-1").Spec.NodeAffinity
	h.createVolume(free)
	h.waitVolume(free.Name, "Available", func(pv *v1.PersistentVolume) bool { return pv.Status.Phase == v1.VolumeAvailable })

	for _, name := range []string{"static", "carved"} {
		h.createClaim(claimSpec(name, ptr("late"), "5Gi"))
		h.selectNode(name, "node-1", "")
		if name == "static" {
			h.expectBoundTo(h.waitBound("static"), free.Name)
		}
	}
	c := h.waitClaim("carved", "selected device", func(c *v1.PersistentVolumeClaim) bool {
		return c.Annotations[v1.AnnotationSelectedDevice] != ""
	})
	if got := c.Annotations[v1.AnnotationSelectedDevice]; got != "nvme" || c.Annotations[v1.AnnotationStorageProvisioner] != v1.ProvisionerLocal {
		t.Errorf("claim carved: device %q, provisioner %q; want nvme, %s", got, c.Annotations[v1.AnnotationStorageProvisioner], v1.ProvisionerLocal)
	}
	h.expectEvent("carved", ReasonProvisioning, v1.EventTypeNormal,
		"selected device nvme of node node-1; waiting for the node to provision the volume")

	// 5Gi of nvme's 10Gi is carved's.
	h.createClaim(claimSpec("too-big", ptr("late"), "6Gi"))
	h.selectNode("too-big", "node-1", "")
	h.expectEvent("too-big", ReasonProvisioningFailed, v1.EventTypeWarning,
		"no storage device of node node-1, selected for claim default/too-big, can hold it: insufficient storage capacity")
	if c, _ := h.claim("too-big"); c.Annotations[v1.AnnotationSelectedDevice] != "" {
		t.Errorf("claim too-big: device %q, want none", c.Annotations[v1.AnnotationSelectedDevice])
	}
}

// TestSelectedNodeGone: a local claim selected for a node that no longer
// exists is unselected, with an Event, so that a node is chosen again;
// unless a pod that uses it is bound to that node, which keeps it.
func TestSelectedNodeGone(t *testing.T) {
	h := start(t, 2)
	h.createClass(classSpec("late", v1.ProvisionerLocal, v1.VolumeBindingWaitForFirstConsumer, nil))
	stuck := podUsing("stuck", "pinned")
	stuck.Spec.NodeName = "ghost"
	if _, err := h.pods.Create(h.ctx, stuck); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"lost", "pinned"} {
		h.createClaim(claimSpec(name, ptr("late"), "1Gi"))
		h.waitEvent(name, ReasonWaitForFirstConsumer)
		h.selectNode(name, "ghost", "data0")
	}
	h.waitClaim("lost", "unselected", func(c *v1.PersistentVolumeClaim) bool {
		return c.Annotations[v1.AnnotationSelectedNode] == "" && c.Annotations[v1.AnnotationSelectedDevice] == ""
	})
	h.expectEvent("lost", ReasonProvisioningFailed, v1.EventTypeWarning,
		"node ghost, selected for claim default/lost, no longer exists; unselected it so that a node is chosen again")
	h.expectEvent("pinned", ReasonProvisioningFailed, v1.EventTypeWarning,
		"node ghost, selected for claim default/pinned, no longer exists; pod stuck is bound to it, so the claim stays selected for it")
	if c, _ := h.claim("pinned"); c.Annotations[v1.AnnotationSelectedNode] != "ghost" || c.Annotations[v1.AnnotationSelectedDevice] != "data0" {
		t.Errorf("claim pinned: annotations %v, want ghost/data0 kept", c.Annotations)
	}
}

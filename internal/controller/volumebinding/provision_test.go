package volumebinding

import (
	"maps"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// TestLocalImmediate selects a node and device for Immediate claims of
// the local class: only Ready nodes with room left once earlier claims
// are counted; a claim nothing can hold is told why, node by node, and is
// placed once a node with room appears.
func TestLocalImmediate(t *testing.T) {
	h := start(t, 2)
	h.createNode("big", true, device("data0", "10Gi", ""))
	h.createNode("small", true, device("data0", "1Gi", ""))
	h.createNode("down", false, device("data0", "100Gi", ""))
	h.createNode("bare", true)
	h.createClass(classSpec("local", v1.ProvisionerLocal, v1.VolumeBindingImmediate, nil))
	placed := func(name, node string) {
		t.Helper()
		c := h.waitClaim(name, "selected node", func(c *v1.PersistentVolumeClaim) bool {
			return c.Annotations[v1.AnnotationSelectedNode] != ""
		})
		want := map[string]string{v1.AnnotationSelectedNode: node, v1.AnnotationSelectedDevice: "data0",
			v1.AnnotationStorageProvisioner: v1.ProvisionerLocal}
		for k, v := range want {
			if c.Annotations[k] != v {
				t.Errorf("claim %s: annotation %s = %q, want %q", name, k, c.Annotations[k], v)
			}
		}
	}
	refused := func(name, msg string) {
		t.Helper()
		ev := h.waitEvent(name, ReasonProvisioningFailed)
		if ev.Type != v1.EventTypeWarning || ev.Message != msg {
			t.Errorf("claim %s: event %s %q, want Warning %q", name, ev.Type, ev.Message, msg)
		}
		if c, _ := h.claim(name); c.Annotations[v1.AnnotationSelectedNode] != "" {
			t.Errorf("claim %s placed on %s, want on no node", name, c.Annotations[v1.AnnotationSelectedNode])
		}
	}

	h.createClaim(claimSpec("first", ptr("local"), "5Gi"))
	placed("first", "big")
	if ev := h.waitEvent("first", ReasonProvisioning); ev.Type != v1.EventTypeNormal {
		t.Errorf("Provisioning event type = %s, want Normal", ev.Type)
	}
	h.createClaim(claimSpec("second", ptr("local"), "4Gi"))
	placed("second", "big")
	// 1Gi is left on each Ready device: first and second are counted.
	h.createClaim(claimSpec("third", ptr("local"), "2Gi"))
	refused("third", "no node has a storage device that can hold claim default/third: "+
		"2 nodes insufficient storage capacity, 1 node has no storage device, 1 node is not ready")
	h.createClaim(claimSpec("huge", ptr("local"), "50Gi"))
	refused("huge", "no node has a storage device that can hold claim default/huge: "+
		"2 nodes insufficient storage capacity, 1 node has no storage device, 1 node is not ready")

	h.createNode("roomy", true, device("data0", "100Gi", ""))
	placed("huge", "roomy")
	placed("third", "roomy")
}

// TestFlexProvisioning makes the volume of a FlexVolume class's claim
// here: driver, fsType and options from the class, QoS as annotations,
// the class's reclaim policy; then binds it.
func TestFlexProvisioning(t *testing.T) {
	h := start(t, 2)
	class := classSpec("flex", v1.ProvisionerFlex, v1.VolumeBindingImmediate, map[string]string{
		v1.ParamFlexDriver: "kennel.io/loop", v1.ParamFSType: "ext4", "pool": "fast",
		v1.ParamWriteIOPS: "200", v1.ParamReadBandwidth: "50Mi"})
	class.ReclaimPolicy = ptr(v1.PersistentVolumeReclaimRetain)
	h.createClass(class)
	c := h.createClaim(claimSpec("db", ptr("flex"), "2Gi"))
	claim := h.waitBound("db")
	name := "pvc-" + c.UID
	h.expectBoundTo(claim, name)
	pv, _ := h.volume(name)
	f := pv.Spec.FlexVolume
	if f == nil || f.Driver != "kennel.io/loop" || f.FSType != "ext4" || !maps.Equal(f.Options, map[string]string{"pool": "fast"}) {
		t.Errorf("flexVolume = %+v, want driver kennel.io/loop, fsType ext4, options {pool: fast}", f)
	}
	wantAnn := map[string]string{v1.AnnotationProvisionedBy: v1.ProvisionerFlex,
		v1.AnnotationQoSWriteIOPS: "200", v1.AnnotationQoSReadBandwidth: "50Mi"}
	if !maps.Equal(pv.Annotations, wantAnn) {
		t.Errorf("annotations = %v, want %v", pv.Annotations, wantAnn)
	}
	if got := pv.Spec.Capacity.Storage(); got.Cmp(qty("2Gi")) != 0 {
		t.Errorf("capacity = %s, want 2Gi", got)
	}
	if pv.Spec.PersistentVolumeReclaimPolicy != v1.PersistentVolumeReclaimRetain || pv.Spec.StorageClassName != "flex" {
		t.Errorf("reclaim %s, class %q; want Retain, flex", pv.Spec.PersistentVolumeReclaimPolicy, pv.Spec.StorageClassName)
	}
	if ev := h.waitEvent("db", ReasonProvisioningSucceeded); ev.Message != "provisioned volume "+name+" with FlexVolume driver kennel.io/loop" {
		t.Errorf("event message = %q", ev.Message)
	}
}

// TestDefaultClass: a claim that names no class gets the default class
// from the API server when it is created after the default exists, and
// is provisioned from it; one created before keeps no class, and the
// controller does not give it one later: it binds only volumes of no
// class.
//
// One worker: once a claim touched after the other is synced, the other
// was synced too, with the default class in the cache.
func TestDefaultClass(t *testing.T) {
	h := start(t, 1)
	before := h.createClaim(claimSpec("before", nil, "1Gi"))
	if ev := h.waitEvent("before", ReasonFailedBinding); ev.Message != "no persistent volumes available for this claim and no storage class is set" {
		t.Errorf("claim before: event %q", ev.Message)
	}
	class := classSpec("standard", v1.ProvisionerFlex, v1.VolumeBindingImmediate, map[string]string{v1.ParamFlexDriver: "kennel.io/loop"})
	class.Annotations = map[string]string{v1.AnnotationDefaultStorageClass: "true"}
	h.createClass(class)

	after := h.createClaim(claimSpec("after", nil, "1Gi"))
	if n := after.Spec.StorageClassName; n == nil || *n != "standard" {
		t.Fatalf("claim after: storageClassName %v, want the default, standard, from admission", n)
	}
	h.expectBoundTo(h.waitBound("after"), "pvc-"+after.UID)
	if pv, _ := h.volume("pvc-" + after.UID); pv.Spec.StorageClassName != "standard" {
		t.Errorf("volume class = %q, want standard", pv.Spec.StorageClassName)
	}

	before, _ = h.claim("before")
	before.Labels = map[string]string{"touched": "yes"}
	if _, err := h.claims.Update(h.ctx, before); err != nil {
		t.Fatal(err)
	}
	h.waitBound(h.createClaim(claimSpec("sentinel", ptr("standard"), "1Gi")).Name)
	got, _ := h.claim("before")
	if got.Spec.StorageClassName != nil || got.Spec.VolumeName != "" {
		t.Errorf("claim before: class %v, volume %q; want no class and no volume", got.Spec.StorageClassName, got.Spec.VolumeName)
	}
	if _, ok := h.volume("pvc-" + before.UID); ok {
		t.Errorf("a volume was provisioned for claim before, which has no class")
	}
}

// TestWaitForFirstConsumer leaves a claim of a WaitForFirstConsumer local
// class alone until a node is selected for it (the scheduler's part),
// then waits for that node's agent and binds the volume it makes.
func TestWaitForFirstConsumer(t *testing.T) {
	h := start(t, 2)
	h.createNode("node-1", true, device("data0", "10Gi", ""))
	h.createClass(classSpec("local-late", v1.ProvisionerLocal, v1.VolumeBindingWaitForFirstConsumer, nil))
	c := h.createClaim(claimSpec("late", ptr("local-late"), "1Gi"))
	ev := h.waitEvent("late", ReasonWaitForFirstConsumer)
	if ev.Type != v1.EventTypeNormal || ev.Message != "waiting for first consumer to be created before binding" {
		t.Errorf("event = %s %q", ev.Type, ev.Message)
	}
	// The event is written in the sync that decided not to place it.
	if got, _ := h.claim("late"); got.Annotations[v1.AnnotationSelectedNode] != "" || got.Spec.VolumeName != "" {
		t.Fatalf("claim annotations %v, volumeName %q; want neither a node nor a volume", got.Annotations, got.Spec.VolumeName)
	}

	// The scheduler selects node-1 …
	got, _ := h.claim("late")
	got.Annotations = map[string]string{v1.AnnotationSelectedNode: "node-1", v1.AnnotationSelectedDevice: "data0"}
	if _, err := h.claims.Update(h.ctx, got); err != nil {
		t.Fatal(err)
	}
	h.waitClaim("late", "provisioner named", func(c *v1.PersistentVolumeClaim) bool {
		return c.Annotations[v1.AnnotationStorageProvisioner] == v1.ProvisionerLocal
	})
	// … and node-1's agent makes the volume.
	pv := localVolume("pvc-"+c.UID, c, "node-1")
	h.createVolume(pv)
	h.expectBoundTo(h.waitBound("late"), pv.Name)
}

// TestWaiting tells claims that wait on something outside the controller
// why: an external provisioner, a class that does not exist (until it
// does), no class at all.
func TestWaiting(t *testing.T) {
	h := start(t, 2)
	h.createClass(classSpec("nfs", "example.com/nfs", v1.VolumeBindingImmediate, nil))
	h.createClaim(claimSpec("shared", ptr("nfs"), "1Gi"))
	h.createClaim(claimSpec("orphan", ptr("missing"), "1Gi"))
	h.createClaim(claimSpec("classless", ptr(""), "1Gi"))
	h.createClass(classSpec("manual", "kubernetes.io/no-provisioner", v1.VolumeBindingImmediate, nil))
	h.createClaim(claimSpec("manual", ptr("manual"), "1Gi"))
	tests := []struct {
		claim, reason, typ, msg string
	}{
		{"shared", ReasonExternalProvisioning, v1.EventTypeNormal,
			`waiting for a volume to be created by the external provisioner "example.com/nfs" or by an administrator`},
		{"orphan", ReasonProvisioningFailed, v1.EventTypeWarning, `storageclass.storage.k8s.io "missing" not found`},
		{"classless", ReasonFailedBinding, v1.EventTypeNormal, "no persistent volumes available for this claim and no storage class is set"},
		{"manual", ReasonFailedBinding, v1.EventTypeNormal,
			`no persistent volumes available for this claim, and storage class "manual" makes none (provisioner kubernetes.io/no-provisioner)`},
	}
	for _, tt := range tests {
		t.Run(tt.claim, func(t *testing.T) {
			ev := h.waitEvent(tt.claim, tt.reason)
			if ev.Type != tt.typ || ev.Message != tt.msg {
				t.Errorf("event = %s %q, want %s %q", ev.Type, ev.Message, tt.typ, tt.msg)
			}
		})
	}
	if c, _ := h.claim("shared"); c.Annotations[v1.AnnotationStorageProvisioner] != "example.com/nfs" {
		t.Errorf("claim shared: provisioner annotation = %q, want example.com/nfs", c.Annotations[v1.AnnotationStorageProvisioner])
	}
	if c, _ := h.claim("manual"); c.Annotations[v1.AnnotationStorageProvisioner] != "" {
		t.Errorf("claim manual: provisioner annotation = %q, want none: nothing provisions it", c.Annotations[v1.AnnotationStorageProvisioner])
	}
	h.createClass(classSpec("missing", v1.ProvisionerFlex, v1.VolumeBindingImmediate, map[string]string{v1.ParamFlexDriver: "kennel.io/loop"}))
	h.waitBound("orphan")
}

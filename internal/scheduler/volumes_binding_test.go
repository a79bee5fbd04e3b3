package scheduler_test

import (
	"context"
	"log/slog"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/controller"
	"github.com/kennel-dev/kennel/internal/controller/volumebinding"
	"github.com/kennel-dev/kennel/internal/scheduler"
	"github.com/kennel-dev/kennel/internal/scheduler/plugins"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// runVolumeBinding runs the volume binding controller beside the
// scheduler, so that a test sees claims through to Bound.
func (e *env) runVolumeBinding() {
	e.t.Helper()
	vc, err := volumebinding.New(e.tc.Admin, slog.New(slog.DiscardHandler), controller.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() { vc.Run(ctx); close(done) }()
	e.t.Cleanup(func() { cancel(); <-done })
}

// waitClaimBound waits until the claim is bound and returns it.
func (e *env) waitClaimBound(name string) *v1.PersistentVolumeClaim {
	e.t.Helper()
	var c *v1.PersistentVolumeClaim
	testcluster.Eventually(e.t, waitFor, "claim "+name+" bound", func() bool {
		c = e.getClaim(name)
		return c.Status.Phase == v1.ClaimBound && c.Spec.VolumeName != ""
	})
	return c
}

// TestWaitForFirstConsumerClaimsOfEveryProvisionerBind runs the scheduler
// and the volume binding controller: a pod's WaitForFirstConsumer claims
// of a FlexVolume class and of a class without a provisioner go to the
// node of the volume made in advance, get that node selected, and are
// bound there: the FlexVolume claim to a volume made for it, the other
// to the volume on that node.
func TestWaitForFirstConsumerClaimsOfEveryProvisionerBind(t *testing.T) {
	e := newEnv(t)
	// node-1 is the emptiest; only node-2 has the volume made in advance.
	e.addNode(nodeSpec{name: "node-1", cpu: "32", memory: "64Gi"})
	e.addNode(nodeSpec{name: "node-2", cpu: "2", memory: "4Gi"})
	flex := localWFFC("flex", v1.ParamFlexDriver, "kennel.io/loop")
	flex.Provisioner = v1.ProvisionerFlex
	e.createClass(flex)
	static := localWFFC("static")
	static.Provisioner = plugins.ProvisionerNone
	e.createClass(static)
	pv := pinnedVolume("pv-static", "node-2")
	pv.Spec.StorageClassName = "static"
	e.createVolume(pv)
	e.createClaim(newClaim("scratch", "flex"))
	e.createClaim(newClaim("data", "static"))
	e.runVolumeBinding()
	e.run(scheduler.Config{})

	e.createPod(podWithClaims("db", "scratch", "data"))
	if node := e.waitBound("db"); node != "node-2" {
		t.Fatalf("db bound to %s, want node-2, where the volume made in advance is", node)
	}
	scratch := e.waitClaimBound("scratch")
	if scratch.Annotations[v1.AnnotationSelectedNode] != "node-2" || scratch.Spec.VolumeName != "pvc-"+scratch.UID {
		t.Errorf("claim scratch: selected %q, volume %q; want node-2, pvc-%s", scratch.Annotations[v1.AnnotationSelectedNode], scratch.Spec.VolumeName, scratch.UID)
	}
	if data := e.waitClaimBound("data"); data.Spec.VolumeName != "pv-static" {
		t.Errorf("claim data bound to %q, want pv-static", data.Spec.VolumeName)
	}
}

package agent

import (
	"context"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/cgroups"
	"github.com/kennel-dev/kennel/internal/testcluster"
	"github.com/kennel-dev/kennel/internal/volume/mount"
)

// TestVolumeFlexTornDownForPodDeletedWhileAgentDown: the agent that finds
// a pod gone which had a FlexVolume tears the volume down through the
// driver from the pod's volume record — no mount left, pod or node-wide,
// and the loop device detached — although it never set the volume up
// itself.
func TestVolumeFlexTornDownForPodDeletedWhileAgentDown(t *testing.T) {
	requireRoot(t)
	e, _, img, _, _ := startFlexLoopPod(t, "gone", "x")

	e.agent.Close()
	zero := int64(0)
	if _, err := client.For[*v1.Pod](e.tc.Admin, "default").Delete(context.Background(), "gone",
		client.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	e.startAgent()
	testcluster.Eventually(t, 30*time.Second, "no mount left and the image detached", func() bool {
		mps, err := mount.MountsUnder(e.dataDir)
		return err == nil && len(mps) == 0 && len(loopsUnder(t, img)) == 0
	})
}

// TestVolumeQoSKeptAcrossAgentRestart: a restarted agent keeps a running
// pod's volume I/O limits even while it cannot set the volume up again
// (here its claim reads as unbound).
func TestVolumeQoSKeptAcrossAgentRestart(t *testing.T) {
	requireRoot(t)
	e := startVolumeEnv(t, nil)
	dir := t.TempDir()
	dev := diskOf(t, dir)
	e.localClaim("kept", dir, map[string]string{v1.AnnotationQoSWriteIOPS: "250"})
	mnt := t.TempDir()
	p := e.create(volumePod("kept", mnt, "exec sleep 3600", claimVolume("data", "kept")))
	e.waitPod("kept", 60*time.Second, "Running", running)
	want := cgroups.IOLimit{Device: dev, WriteIOPS: 250}
	waitIOLimit(t, string(p.UID), want)

	e.agent.Close()
	claims := client.For[*v1.PersistentVolumeClaim](e.tc.Admin, "default")
	c, err := claims.Get(context.Background(), "kept")
	if err != nil {
		t.Fatal(err)
	}
	c.Status.Phase = v1.ClaimPending
	if _, err := claims.UpdateStatus(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	e.startAgent()
	e.waitVolumeEvent("kept", `persistentvolumeclaim "kept" is not bound yet`)
	if got := cgroupIOLimit(t, string(p.UID), dev); got != want {
		t.Fatalf("after the restart the pod's cgroup limits %+v, want %+v kept", got, want)
	}
}

package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/cgroups"
	"github.com/kennel-dev/kennel/internal/runtime"
	"github.com/kennel-dev/kennel/internal/testcluster"
	"github.com/kennel-dev/kennel/internal/volume/mount"
	"k8s.io/apimachinery/pkg/api/resource"
)

// These tests run pods with emptyDir, hostPath, persistentVolumeClaim and
// flexVolume volumes through a real agent as root: real mounts, loop
// devices and cgroup I/O limits.

const (
	loopDriver = "../../examples/flexvolume/kennel~loop/loop"
	testDriver = "../volume/flex/testdata/flexdriver"
)

// TestVolumeEmptyDirAndHostPath: what a pod writes at its mount paths is
// in its emptyDir (under the agent's volume dir, gone with the pod) and
// in its hostPath (made for DirectoryOrCreate, kept); a missing hostPath
// of type Directory keeps the pod from starting, with an event naming
// the volume and the path.
func TestVolumeEmptyDirAndHostPath(t *testing.T) {
	requireRoot(t)
	e := startVolumeEnv(t, nil)
	mnt, host := t.TempDir(), filepath.Join(t.TempDir(), "made", "here")
	p := e.create(volumePod("writer", mnt, fmt.Sprintf("echo scratch > %s/scratch/f && echo host > %s/host/f && exec sleep 3600", mnt, mnt),
		v1.Volume{Name: "scratch", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}},
		v1.Volume{Name: "host", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: host, Type: hostPathType(v1.HostPathDirectoryOrCreate)}}}))
	e.waitPod("writer", 60*time.Second, "Running", running)
	uid := string(p.UID)
	scratch := e.agent.volumeDir(uid, "scratch")
	waitFile(t, filepath.Join(scratch, "f"), "scratch\n")
	waitFile(t, filepath.Join(host, "f"), "host\n")

	e.deletePod("writer", 1)
	if _, err := os.Stat(filepath.Dir(scratch)); !os.IsNotExist(err) {
		t.Fatalf("the pod's volume dir outlives the pod: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(host, "f")); err != nil || string(b) != "host\n" {
		t.Fatalf("the hostPath file went with the pod: %q %v", b, err)
	}

	// A hostPath of type Directory that does not exist: the pod waits,
	// told which volume and which path.
	missing := filepath.Join(t.TempDir(), "no-such-dir")
	e.create(volumePod("nohost", mnt, "exec sleep 3600",
		v1.Volume{Name: "conf", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: missing, Type: hostPathType(v1.HostPathDirectory)}}}))
	e.waitVolumeEvent("nohost", `volume "conf"`, missing)
	p = e.waitPod("nohost", 30*time.Second, "waiting with the reason", func(p *v1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Waiting != nil &&
			strings.Contains(p.Status.ContainerStatuses[0].State.Waiting.Message, missing)
	})
	if cs := p.Status.ContainerStatuses[0]; cs.ContainerID != "" || cs.State.Running != nil || !pending(p) {
		t.Fatalf("a pod whose hostPath is missing started: phase %s %+v", p.Status.Phase, cs)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatalf("hostPath type Directory must not be created: %v", err)
	}
}

// TestVolumeLocalClaimQoS: the limits of a pod's local volumes are in its
// cgroup for the volumes' disk; two limited volumes on one disk add up.
func TestVolumeLocalClaimQoS(t *testing.T) {
	requireRoot(t)
	e := startVolumeEnv(t, nil)
	dirs := map[string]string{"single": t.TempDir(), "fast": t.TempDir(), "slow": t.TempDir()}
	dev := diskOf(t, dirs["single"])
	limits := map[string]string{v1.AnnotationQoSWriteIOPS: "300", v1.AnnotationQoSReadBandwidth: "20Mi"}
	e.localClaim("single", dirs["single"], limits)
	e.localClaim("fast", dirs["fast"], limits)
	e.localClaim("slow", dirs["slow"], map[string]string{v1.AnnotationQoSWriteIOPS: "200"})
	mnt := t.TempDir()
	one := e.create(volumePod("one", mnt, "echo one > "+mnt+"/data/f && exec sleep 3600", claimVolume("data", "single")))
	two := e.create(volumePod("two", mnt, "echo two > "+mnt+"/fast/f && exec sleep 3600",
		claimVolume("fast", "fast"), claimVolume("slow", "slow")))
	e.waitPod("one", 60*time.Second, "Running", running)
	e.waitPod("two", 60*time.Second, "Running", running)
	waitFile(t, filepath.Join(dirs["single"], "f"), "one\n")
	waitFile(t, filepath.Join(dirs["fast"], "f"), "two\n")

	waitIOLimit(t, string(one.UID), cgroups.IOLimit{Device: dev, WriteIOPS: 300, ReadBPS: 20 << 20})
	waitIOLimit(t, string(two.UID), cgroups.IOLimit{Device: dev, WriteIOPS: 500, ReadBPS: 20 << 20})
}

// TestVolumeClaimNotBoundWaits: a pod waits for its claim to be bound,
// saying so, and starts once it is.
func TestVolumeClaimNotBoundWaits(t *testing.T) {
	requireRoot(t)
	e := startVolumeEnv(t, nil)
	c := e.newClaim("later")
	mnt := t.TempDir()
	e.create(volumePod("patient", mnt, "echo hi > "+mnt+"/data/f && exec sleep 3600", claimVolume("data", "later")))
	e.waitVolumeEvent("patient", `persistentvolumeclaim "later" is not bound yet`)
	if p := e.get("patient"); !pending(p) || running(p) {
		t.Fatalf("started before its claim was bound: %+v", p.Status)
	}
	dir := t.TempDir()
	e.bindClaim(c, dir, nil)
	e.waitPod("patient", 30*time.Second, "Running once the claim is bound", running)
	waitFile(t, filepath.Join(dir, "f"), "hi\n")
}

// TestVolumeFlexLoopConvergesAfterAgentCrash: an inline FlexVolume of the
// example loop driver. An agent that crashed between attach and mount
// (and one that crashed after) converges on one mount and one loop
// device; deleting the pod leaves neither.
func TestVolumeFlexLoopConvergesAfterAgentCrash(t *testing.T) {
	requireRoot(t)
	e, uid, img, podDir, globalDir := startFlexLoopPod(t, "flex", "kept")

	// A restart adopts the mounts as they are.
	rec := filepath.Join(e.dataDir, "volumes", uid, recordFile)
	st0, _ := os.Stat(rec)
	e.agent.Close()
	e.startAgent()
	e.waitVolumeUser("flex/"+uid+"-data", uid, st0)
	checkOneLoopMount(t, img, podDir, globalDir)

	// A crash after attach, before mountdevice and mount: the loop device
	// is attached, nothing mounted. The next agent reuses the device.
	st0, _ = os.Stat(rec)
	e.agent.Close()
	for _, dir := range []string{podDir, globalDir} {
		if err := mount.Unmount(dir); err != nil {
			t.Fatal(err)
		}
	}
	e.startAgent()
	testcluster.Eventually(t, 30*time.Second, "the volume mounted again", func() bool { return len(mountsAt(t, podDir)) > 0 })
	e.waitVolumeUser("flex/"+uid+"-data", uid, st0)
	checkOneLoopMount(t, img, podDir, globalDir)
	waitFile(t, filepath.Join(podDir, "f"), "kept\n")

	e.deletePod("flex", 1)
	if mps, err := mount.MountsUnder(e.dataDir); err != nil || len(mps) > 0 {
		t.Fatalf("mounts left under the agent's data dir: %q %v", mps, err)
	}
	if loops := loopsUnder(t, img); len(loops) > 0 {
		t.Fatalf("the image is still on loop devices %q", loops)
	}
}

// pending reports whether the pod has not started: phase Pending, or no
// status written yet (the event that says why can come first).
func pending(p *v1.Pod) bool { return p.Status.Phase == v1.PodPending || p.Status.Phase == "" }

// startFlexLoopPod starts an agent with the example loop driver and a
// running pod with an inline FlexVolume of it at /data, into which the
// pod has written word to f; it returns the pod's uid, the image, and
// the pod's and node-wide mount dirs.
func startFlexLoopPod(t *testing.T, name, word string) (e *env, uid, img, podDir, globalDir string) {
	t.Helper()
	plugins := t.TempDir()
	installDriver(t, loopDriver, plugins, "kennel/loop")
	e = startVolumeEnv(t, func(c *Config) { c.VolumePluginDir = plugins })
	// The image is under the data dir, where the env's cleanup looks.
	images := filepath.Join(e.dataDir, "images")
	t.Setenv("KENNEL_LOOP_DIR", images)
	img = filepath.Join(images, "img")
	mnt := t.TempDir()
	p := e.create(volumePod(name, mnt, "echo "+word+" > "+mnt+"/data/f && exec sleep 3600",
		v1.Volume{Name: "data", VolumeSource: v1.VolumeSource{FlexVolume: &v1.FlexVolumeSource{Driver: "kennel/loop",
			Options: map[string]string{"size": "32Mi", "file": img}}}}))
	e.waitPod(name, 60*time.Second, "Running", running)
	uid = string(p.UID)
	podDir = e.agent.volumeDir(uid, "data")
	globalDir = filepath.Join(e.dataDir, "plugins", "kennel~loop", "mounts", uid+"-data")
	waitFile(t, filepath.Join(podDir, "f"), word+"\n")
	checkOneLoopMount(t, img, podDir, globalDir)
	return e, uid, img, podDir, globalDir
}

// TestVolumeOrphanTmpfsRemovedOnRestart: a pod deleted while its agent
// was down leaves no tmpfs and no volume dir once the agent is back.
func TestVolumeOrphanTmpfsRemovedOnRestart(t *testing.T) {
	requireRoot(t)
	e := startVolumeEnv(t, nil)
	mnt := t.TempDir()
	p := e.create(volumePod("orphan", mnt, "echo x > "+mnt+"/mem/f && exec sleep 3600",
		v1.Volume{Name: "mem", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{Medium: v1.StorageMediumMemory}}}))
	e.waitPod("orphan", 60*time.Second, "Running", running)
	uid := string(p.UID)
	dir := e.agent.volumeDir(uid, "mem")
	waitFile(t, filepath.Join(dir, "f"), "x\n")
	if fs := mountsAt(t, dir); len(fs) != 1 || fs[0] != "tmpfs" {
		t.Fatalf("emptyDir Memory: mounts %q at %s, want one tmpfs", fs, dir)
	}

	e.agent.Close()
	zero := int64(0)
	if _, err := client.For[*v1.Pod](e.tc.Admin, "default").Delete(context.Background(), "orphan",
		client.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	e.startAgent()
	testcluster.Eventually(t, 30*time.Second, "the orphan's tmpfs and volume dir removed", func() bool {
		_, err := os.Stat(filepath.Dir(dir))
		return os.IsNotExist(err) && len(mountsAt(t, dir)) == 0
	})
	testcluster.Eventually(t, 30*time.Second, "the orphan's sandbox removed", func() bool {
		return !slices.ContainsFunc(e.agent.Runtime().Sandboxes(), func(sb runtime.SandboxConfig) bool { return sb.UID == uid })
	})
}

// TestVolumeFlexFailuresNameTheCulprit: a missing driver and a driver
// that fails its mount call each give the pod an event saying so, and a
// failed mount leaves nothing mounted.
func TestVolumeFlexFailuresNameTheCulprit(t *testing.T) {
	requireRoot(t)
	plugins := t.TempDir()
	drv := installDriver(t, testDriver, plugins, "kennel/test")
	// Mount a tmpfs where asked, then answer Failure to mount.
	if err := os.WriteFile(filepath.Join(filepath.Dir(drv), "modes"), []byte("realmount=true\nmode-mount=mountfailure\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := startVolumeEnv(t, func(c *Config) { c.VolumePluginDir = plugins })
	mnt := t.TempDir()
	flexVol := func(driver string) v1.Volume {
		return v1.Volume{Name: "data", VolumeSource: v1.VolumeSource{FlexVolume: &v1.FlexVolumeSource{Driver: driver}}}
	}
	e.create(volumePod("nodriver", mnt, "exec sleep 3600", flexVol("acme/missing")))
	failing := e.create(volumePod("failing", mnt, "exec sleep 3600", flexVol("kennel/test")))
	e.waitVolumeEvent("nodriver", `driver "acme/missing" not found`, filepath.Join(plugins, "acme~missing", "missing"))
	e.waitVolumeEvent("failing", "kennel/test", "mount half done on purpose")
	for _, name := range []string{"nodriver", "failing"} {
		if p := e.get(name); !pending(p) || running(p) {
			t.Fatalf("%s started without its volume: %+v", name, p.Status)
		}
	}

	// Stopped, the agent is not half-way through a retry: what is
	// mounted now is what a failed set-up left.
	e.agent.Close()
	for _, dir := range []string{filepath.Dir(e.agent.volumeDir(string(failing.UID), "data")), filepath.Join(e.dataDir, "plugins")} {
		if mps, err := mount.MountsUnder(dir); err != nil || len(mps) > 0 {
			t.Fatalf("a failed mount left %q under %s (%v)", mps, dir, err)
		}
	}
	if _, err := os.Stat(e.agent.volumeDir(string(failing.UID), "data")); !os.IsNotExist(err) {
		t.Fatalf("a failed mount left its directory: %v", err)
	}
	calls, err := os.ReadFile(filepath.Join(filepath.Dir(drv), "calls.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, call := range []string{"attach", "mountdevice", "mount", "unmount", "unmountdevice", "detach"} {
		if !strings.Contains(string(calls), "\n"+call+"\t") {
			t.Fatalf("driver calls lack %s:\n%s", call, calls)
		}
	}
}

// startVolumeEnv is startEnv, plus a last resort for a failed test:
// once the agent is closed, every mount under its data dir goes and
// every loop device of an image there is detached, so that the temp dir
// can be removed.
func startVolumeEnv(t *testing.T, tune func(*Config)) *env {
	t.Helper()
	e := startEnv(t, tune)
	t.Cleanup(func() {
		e.agent.Close()
		mps, err := mount.MountsUnder(e.dataDir)
		for _, mp := range mps {
			err = errors.Join(err, mount.Unmount(mp))
		}
		for _, dev := range loopsUnder(t, e.dataDir) {
			if out, lerr := exec.Command("losetup", "-d", dev).CombinedOutput(); lerr != nil {
				err = errors.Join(err, fmt.Errorf("losetup -d %s: %w: %s", dev, lerr, out))
			}
		}
		if err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return e
}

// volumePod is a pod on node-1 running script with sh, with vols mounted
// at mnt/<name>. It stops within a second.
func volumePod(name, mnt, script string, vols ...v1.Volume) *v1.Pod {
	p := workloadPod(name)
	p.Spec.Containers[0] = shContainer("main", script)
	p.Spec.Volumes = vols
	for _, v := range vols {
		p.Spec.Containers[0].VolumeMounts = append(p.Spec.Containers[0].VolumeMounts,
			v1.VolumeMount{Name: v.Name, MountPath: filepath.Join(mnt, v.Name)})
	}
	grace := int64(1)
	p.Spec.TerminationGracePeriodSeconds = &grace
	return p
}

func hostPathType(t v1.HostPathType) *v1.HostPathType { return &t }

func claimVolume(name, claim string) v1.Volume {
	return v1.Volume{Name: name, VolumeSource: v1.VolumeSource{
		PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}
}

// deletePod deletes a pod with grace and waits until its object is gone,
// which the agent allows only once the pod's processes and volumes are.
func (e *env) deletePod(name string, grace int64) {
	e.t.Helper()
	pods := client.For[*v1.Pod](e.tc.Admin, "default")
	if _, err := pods.Delete(context.Background(), name, client.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
		e.t.Fatal(err)
	}
	testcluster.Eventually(e.t, 30*time.Second, "pod "+name+" gone", func() bool {
		_, err := pods.Get(context.Background(), name)
		return v1.IsNotFound(err)
	})
}

// waitVolumeEvent waits for a Warning event about the pod whose message
// holds every one of want.
func (e *env) waitVolumeEvent(pod string, want ...string) {
	e.t.Helper()
	testcluster.Eventually(e.t, 30*time.Second, fmt.Sprintf("a Warning event on pod %s saying %q", pod, want), func() bool {
		evs, err := client.For[*v1.Event](e.tc.Admin, "default").List(context.Background(), client.ListOptions{})
		if err != nil {
			return false
		}
		return slices.ContainsFunc(evs.Items, func(ev *v1.Event) bool {
			return ev.InvolvedObject.Name == pod && ev.Type == v1.EventTypeWarning &&
				!slices.ContainsFunc(want, func(w string) bool { return !strings.Contains(ev.Message, w) })
		})
	})
}

// waitVolumeUser waits until the current agent's worker for the pod has
// set the volume up again: it rewrites the pod's volume record (its
// intent) when it starts the set-up and holds the volume's lock until the
// set-up ends.
func (e *env) waitVolumeUser(key, uid string, st0 os.FileInfo) {
	e.t.Helper()
	a := e.agent
	rec := filepath.Join(a.cfg.DataDir, "volumes", uid, recordFile)
	testcluster.Eventually(e.t, 30*time.Second, "the agent set up "+key, func() bool {
		st, err := os.Stat(rec)
		return err == nil && (st0 == nil || !os.SameFile(st, st0))
	})
	a.vols.lock(key).Unlock()
	if !a.vols.used(key) {
		e.t.Fatalf("the agent does not count pod %s as a user of %s", uid, key)
	}
}

// newClaim creates an unbound claim of 1Gi.
func (e *env) newClaim(name string) *v1.PersistentVolumeClaim {
	e.t.Helper()
	c, err := client.For[*v1.PersistentVolumeClaim](e.tc.Admin, "default").Create(context.Background(), &v1.PersistentVolumeClaim{
		ObjectMeta: v1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: v1.PersistentVolumeClaimSpec{AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			Resources: v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")}}}})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// bindClaim binds c to a new local volume at path on node-1, with
// annotations, as the volume binding controller would.
func (e *env) bindClaim(c *v1.PersistentVolumeClaim, path string, annotations map[string]string) {
	e.t.Helper()
	ctx := context.Background()
	pvs := client.For[*v1.PersistentVolume](e.tc.Admin, "")
	pv, err := pvs.Create(ctx, &v1.PersistentVolume{ObjectMeta: v1.ObjectMeta{Name: "pv-" + c.Name, Annotations: annotations},
		Spec: v1.PersistentVolumeSpec{Capacity: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")},
			PersistentVolumeSource: v1.PersistentVolumeSource{Local: &v1.LocalVolumeSource{Path: path}},
			AccessModes:            c.Spec.AccessModes,
			ClaimRef: &v1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: c.Namespace,
				Name: c.Name, UID: string(c.UID)},
			PersistentVolumeReclaimPolicy: v1.PersistentVolumeReclaimRetain,
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
				MatchExpressions: []v1.NodeSelectorRequirement{{Key: v1.LabelHostname, Operator: v1.NodeSelectorOpIn, Values: []string{"node-1"}}}}}}}}})
	if err != nil {
		e.t.Fatal(err)
	}
	pv.Status.Phase = v1.VolumeBound
	if _, err := pvs.UpdateStatus(ctx, pv); err != nil {
		e.t.Fatal(err)
	}
	claims := client.For[*v1.PersistentVolumeClaim](e.tc.Admin, c.Namespace)
	c.Spec.VolumeName = pv.Name
	if c, err = claims.Update(ctx, c); err != nil {
		e.t.Fatal(err)
	}
	c.Status = v1.PersistentVolumeClaimStatus{Phase: v1.ClaimBound, AccessModes: pv.Spec.AccessModes, Capacity: pv.Spec.Capacity}
	if _, err := claims.UpdateStatus(ctx, c); err != nil {
		e.t.Fatal(err)
	}
}

// localClaim is a claim bound to a local volume at path.
func (e *env) localClaim(name, path string, annotations map[string]string) {
	e.t.Helper()
	e.bindClaim(e.newClaim(name), path, annotations)
}

// diskOf is the disk ("major:minor") holding path, which the I/O limits
// of a volume there name.
func diskOf(t *testing.T, path string) string {
	t.Helper()
	dev, ok, err := mount.BlockDevice(path)
	switch {
	case err != nil:
		t.Fatal(err)
	case !ok && os.Getenv("CI") == "true":
		t.Fatalf("%s is on no block device: CI must have its temp dir on a disk", path)
	case !ok:
		t.Skipf("%s is on no block device (tmpfs?): the QoS test needs TMPDIR on a disk", path)
	}
	return dev
}

// waitIOLimit waits until the pod's cgroup limits I/O on want.Device to
// exactly want's rates.
func waitIOLimit(t *testing.T, uid string, want cgroups.IOLimit) {
	t.Helper()
	var got cgroups.IOLimit
	testcluster.Eventually(t, 10*time.Second, fmt.Sprintf("the pod's cgroup limits %+v", want), func() bool {
		got = cgroupIOLimit(t, uid, want.Device)
		return got == want
	})
	t.Logf("pod %s: %+v", uid, got)
}

// cgroupIOLimit reads the limits on dev back from the files the kernel
// enforces: cgroup v1 blkio.throttle.*_device, v2 io.max. The group is
// found through the cgroups package, as the runtime makes it.
func cgroupIOLimit(t *testing.T, uid, dev string) cgroups.IOLimit {
	t.Helper()
	mode := cgroups.Detect("/sys/fs/cgroup")
	m, err := cgroups.NewManager("/sys/fs/cgroup", mode, "kennel/node-1")
	if err != nil {
		t.Fatal(err)
	}
	g, err := m.Open(uid)
	if err != nil {
		t.Fatal(err)
	}
	fieldsOf := func(path string) []string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) > 1 && f[0] == dev {
				return f[1:]
			}
		}
		return nil
	}
	out := cgroups.IOLimit{Device: dev}
	rates := []*uint64{&out.ReadIOPS, &out.WriteIOPS, &out.ReadBPS, &out.WriteBPS}
	if mode == cgroups.ModeV2 { // "8:0 riops=max wiops=300 rbps=… wbps=max"
		for _, f := range fieldsOf(filepath.Join(g.Dir(), "io.max")) {
			k, v, _ := strings.Cut(f, "=")
			if i := slices.Index([]string{"riops", "wiops", "rbps", "wbps"}, k); i >= 0 {
				*rates[i], _ = strconv.ParseUint(v, 10, 64) // "max" is 0
			}
		}
		return out
	}
	dir := filepath.Join("/sys/fs/cgroup/blkio/kennel/node-1", g.Name())
	for i, f := range []string{"read_iops", "write_iops", "read_bps", "write_bps"} {
		if v := fieldsOf(filepath.Join(dir, "blkio.throttle."+f+"_device")); len(v) == 1 {
			*rates[i], _ = strconv.ParseUint(v[0], 10, 64)
		}
	}
	return out
}

func waitFile(t *testing.T, path, want string) {
	t.Helper()
	testcluster.Eventually(t, 10*time.Second, path+" holds "+want, func() bool {
		b, err := os.ReadFile(path)
		return err == nil && string(b) == want
	})
}

// mountsAt lists the filesystem types of the mounts at dir, one per
// mount.
func mountsAt(t *testing.T, dir string) []string {
	t.Helper()
	all, err := mount.List()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range all {
		if m.MountPoint == dir {
			out = append(out, m.FSType)
		}
	}
	return out
}

// loopsUnder lists the loop devices whose backing file is at or under
// path.
func loopsUnder(t *testing.T, path string) []string {
	t.Helper()
	files, err := filepath.Glob("/sys/block/loop*/loop/backing_file")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f) // fails if detached since the glob
		file := strings.TrimSuffix(strings.TrimSpace(string(b)), " (deleted)")
		if err == nil && (file == path || strings.HasPrefix(file, path+"/")) {
			out = append(out, "/dev/"+filepath.Base(filepath.Dir(filepath.Dir(f))))
		}
	}
	return out
}

// checkOneLoopMount: the image is on one loop device, mounted once at
// the global dir and bound once at the pod's volume dir.
func checkOneLoopMount(t *testing.T, image, podDir, globalDir string) {
	t.Helper()
	if loops := loopsUnder(t, image); len(loops) != 1 {
		t.Fatalf("image %s on loop devices %q, want exactly one", image, loops)
	}
	for _, dir := range []string{globalDir, podDir} {
		if fs := mountsAt(t, dir); len(fs) != 1 || fs[0] != "ext4" {
			t.Fatalf("mounts at %s: %q, want exactly one ext4", dir, fs)
		}
	}
}

// installDriver copies a FlexVolume driver executable into a plugin dir
// as <dir>/<vendor>~<driver>/<driver> and returns its path.
func installDriver(t *testing.T, from, dir, name string) string {
	t.Helper()
	vendor, drv, _ := strings.Cut(name, "/")
	to := filepath.Join(dir, vendor+"~"+drv, drv)
	b, err := os.ReadFile(from)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(to), 0o755)
	}
	if err == nil {
		err = os.WriteFile(to, b, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	return to
}

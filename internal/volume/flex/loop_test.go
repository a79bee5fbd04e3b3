package flex

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// These tests run the example driver, examples/flexvolume/kennel~loop/loop,
// as root against real loop devices.

const loopExample = "../../../examples/flexvolume/kennel~loop/loop"

// loopEnv is a plugin dir with the loop driver, its image dir, and the
// paths a volume of it uses.
type loopEnv struct {
	tmp   string
	p     *Plugins
	image string // the default image of volume pv-loop
}

func newLoopEnv(t *testing.T) *loopEnv {
	t.Helper()
	needRoot(t)
	tmp := mountDir(t)
	e := &loopEnv{tmp: tmp, image: filepath.Join(tmp, "images", "pv-loop.img")}
	t.Setenv("KENNEL_LOOP_DIR", filepath.Join(tmp, "images"))
	t.Cleanup(func() { detachLoops(t, e.image) })
	copyExecutable(t, loopExample, filepath.Join(tmp, "plugins", "kennel~loop", "loop"))
	e.p = NewPlugins(Config{Dir: filepath.Join(tmp, "plugins"), Timeout: time.Minute})
	return e
}

func (e *loopEnv) request(podUID, fsType string) SetUpRequest {
	return SetUpRequest{
		Volume: Volume{Driver: "kennel/loop", FSType: fsType, Name: "pv-loop", Options: map[string]string{"size": "32Mi"}},
		Pod:    PodInfo{Name: "web-0", Namespace: "shop", UID: podUID},
		Node:   "node-1", PodDir: filepath.Join(e.tmp, "pods", podUID, "volumes", "data"),
		GlobalDir: filepath.Join(e.tmp, "plugins-data", "kennel~loop", "mounts", "pv-loop"),
	}
}

// checkOneLoopMount: the image is on exactly one loop device, mounted
// once at the global dir and bound once at each pod dir.
func (e *loopEnv) checkOneLoopMount(t *testing.T, reqs ...SetUpRequest) {
	t.Helper()
	loops := loopsOf(t, e.image)
	if len(loops) != 1 {
		t.Fatalf("image on loop devices %q, want exactly one", loops)
	}
	for _, dir := range []string{reqs[0].GlobalDir, reqs[0].PodDir} {
		if n, src := mountsAt(t, dir); n != 1 || src != loops[0] {
			t.Fatalf("%s: %d mounts of %q, want one of %s", dir, n, src, loops[0])
		}
	}
	for _, r := range reqs[1:] {
		if n, src := mountsAt(t, r.PodDir); n != 1 || src != loops[0] {
			t.Fatalf("%s: %d mounts of %q, want one of %s", r.PodDir, n, src, loops[0])
		}
	}
}

func (e *loopEnv) checkNothingLeft(t *testing.T) {
	t.Helper()
	noMountsUnder(t, e.tmp)
	if loops := loopsOf(t, e.image); len(loops) > 0 {
		t.Fatalf("image still on loop devices %q", loops)
	}
}

// TestLoopDriver: a file written through the pod dir lands on the loop
// filesystem, survives TearDown, and is read back by the next pod.
func TestLoopDriver(t *testing.T) {
	e := newLoopEnv(t)
	ctx := testContext(t)
	first := e.request("uid-1", "ext4")
	if err := e.p.SetUp(ctx, first); err != nil {
		t.Fatal(err)
	}
	e.checkOneLoopMount(t, first)
	writeFile(t, filepath.Join(first.PodDir, "hello"), "kept on the loop device")
	if err := e.p.TearDown(ctx, tearDownOf(first, true)); err != nil {
		t.Fatal(err)
	}
	e.checkNothingLeft(t)
	if exists(t, first.PodDir) || exists(t, first.GlobalDir) {
		t.Fatal("TearDown left its directories")
	}

	second := e.request("uid-2", "ext4")
	if err := e.p.SetUp(ctx, second); err != nil {
		t.Fatal(err)
	}
	e.checkOneLoopMount(t, second)
	if got := readFile(t, filepath.Join(second.PodDir, "hello")); got != "kept on the loop device" {
		t.Fatalf("next pod read %q", got)
	}
	if err := e.p.TearDown(ctx, tearDownOf(second, true)); err != nil {
		t.Fatal(err)
	}
	if err := e.p.TearDown(ctx, tearDownOf(second, true)); err != nil {
		t.Fatalf("repeated TearDown: %v", err)
	}
	e.checkNothingLeft(t)
}

// TestLoopSetUpTwice: repeated SetUps and a second pod on the same node
// share one loop device and one device mount, with one bind per pod.
func TestLoopSetUpTwice(t *testing.T) {
	e := newLoopEnv(t)
	ctx := testContext(t)
	a, b := e.request("uid-a", ""), e.request("uid-b", "")
	for _, r := range []SetUpRequest{a, a, b, b} {
		if err := e.p.SetUp(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	e.checkOneLoopMount(t, a, b)
	if err := e.p.TearDown(ctx, tearDownOf(a, false)); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(b.PodDir, "still"), "mounted")
	if err := e.p.TearDown(ctx, tearDownOf(b, true)); err != nil {
		t.Fatal(err)
	}
	e.checkNothingLeft(t)
}

// TestLoopCrashConverges: an agent that crashed after attach, or after
// mountdevice, converges on the next SetUp to one loop device and one
// mount of each kind.
func TestLoopCrashConverges(t *testing.T) {
	for _, crashedAfter := range []string{"attach", "mountdevice"} {
		t.Run(crashedAfter, func(t *testing.T) {
			e := newLoopEnv(t)
			ctx := testContext(t)
			req := e.request("uid-1", "ext4")
			d, err := e.p.Driver(ctx, "kennel/loop")
			if err != nil {
				t.Fatal(err)
			}
			opts := Options(req.Volume, nil, nil)
			dev, err := d.Attach(ctx, opts, req.Node)
			if err != nil {
				t.Fatal(err)
			}
			if crashedAfter == "mountdevice" {
				if err := d.MountDevice(ctx, req.GlobalDir, dev, opts); err != nil {
					t.Fatal(err)
				}
			}
			// The restarted agent has a new Plugins.
			p := NewPlugins(Config{Dir: filepath.Join(e.tmp, "plugins"), Timeout: time.Minute})
			if err := p.SetUp(ctx, req); err != nil {
				t.Fatal(err)
			}
			e.checkOneLoopMount(t, req)
			if err := p.TearDown(ctx, tearDownOf(req, true)); err != nil {
				t.Fatal(err)
			}
			e.checkNothingLeft(t)
		})
	}
}

// TestLoopFailedMountLeavesNothing: mountdevice fails (no such
// filesystem): the error carries the driver's message, and the loop
// device, the mounts and the directories are all gone.
func TestLoopFailedMountLeavesNothing(t *testing.T) {
	e := newLoopEnv(t)
	req := e.request("uid-1", "bogusfs")
	err := e.p.SetUp(testContext(t), req)
	want := `flex: driver "kennel/loop" mountdevice: mkfs.bogusfs not found: cannot make a bogusfs filesystem on /dev/loop`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got %v, want %q...", err, want)
	}
	e.checkNothingLeft(t)
	if exists(t, req.PodDir) || exists(t, req.GlobalDir) {
		t.Fatal("failed SetUp left its directories")
	}
	if !exists(t, e.image) {
		t.Fatal("the image should stay: attach made it, and only detach ran")
	}
}

package flex

import (
	"errors"
	"github.com/kennel-dev/kennel/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kennel-dev/kennel/internal/volume/mount"
	"golang.org/x/sys/unix"
)

// needRoot skips a test that mounts, unless it runs in CI, where the
// mount tests must run (as root).
func needRoot(t *testing.T) {
	t.Helper()
	testenv.RequireRoot(t, "mounts tmpfs, binds and loop devices")
}

// mountDir is a temp dir whose mounts are all unmounted when the test
// ends, even when it fails, before the dir is removed.
func mountDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Cleanup(func() {
		mps, err := mount.MountsUnder(dir)
		if err != nil {
			t.Error(err)
		}
		for _, mp := range mps {
			if err := mount.Unmount(mp); err != nil {
				t.Error(err)
			}
		}
	})
	return dir
}

// mountsAt counts the mounts whose mount point is path.
func mountsAt(t *testing.T, path string) (n int, source string) {
	t.Helper()
	all, err := mount.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range all {
		if in.MountPoint == path {
			n++
			source = in.Source
		}
	}
	return n, source
}

func noMountsUnder(t *testing.T, dir string) {
	t.Helper()
	mps, err := mount.MountsUnder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(mps) > 0 {
		t.Fatalf("mounts left behind: %q", mps)
	}
}

func rootRequest(tmp, podUID string, opts map[string]string) SetUpRequest {
	return SetUpRequest{
		Volume: Volume{Driver: testDriverName, Name: "pv-1", Options: opts},
		Node:   "node-1", PodDir: filepath.Join(tmp, "pods", podUID, "data"),
		GlobalDir: filepath.Join(tmp, "plugins", "kennel~test", "mounts", "pv-1"),
	}
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestNotSupportedRememberedAcrossSetUps: attach and mount answered
// "Not supported" once are not called by the next SetUp; the agent binds
// the driver's device mount into the pod instead.
func TestNotSupportedRememberedAcrossSetUps(t *testing.T) {
	needRoot(t)
	t.Parallel()
	td := installTestDriver(t, "realmount=true", "mode-attach=notsupported", "mode-mount=notsupported")
	tmp := mountDir(t)
	p := td.plugins(20 * time.Second)
	ctx := testContext(t)

	first := rootRequest(tmp, "uid-1", nil)
	if err := p.SetUp(ctx, first); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, td.callNames(t), []string{"init", "getvolumename", "isattached", "attach", "mountdevice", "mount"})
	writeFile(t, filepath.Join(first.PodDir, "hello"), "through the bind")
	if got := readFile(t, filepath.Join(first.GlobalDir, "hello")); got != "through the bind" {
		t.Fatalf("global dir has %q", got)
	}
	if err := p.TearDown(ctx, tearDownOf(first, true)); err != nil {
		t.Fatal(err)
	}
	noMountsUnder(t, tmp)

	td.resetLog(t)
	second := rootRequest(tmp, "uid-2", nil)
	if err := p.SetUp(ctx, second); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, td.callNames(t), []string{"getvolumename", "isattached", "mountdevice"})
	if n, _ := mountsAt(t, second.PodDir); n != 1 {
		t.Fatalf("%d mounts at the pod dir, want 1", n)
	}
	if err := p.TearDown(ctx, tearDownOf(second, true)); err != nil {
		t.Fatal(err)
	}
	noMountsUnder(t, tmp)
}

// TestHalfMountedFailureLeavesNothing: a driver that mounts and then
// fails, and then does not even unmount, leaves no mount and no dir.
func TestHalfMountedFailureLeavesNothing(t *testing.T) {
	needRoot(t)
	t.Parallel()
	for name, modes := range map[string][]string{
		"driver unmounts":       nil,
		"driver cannot unmount": {"mode-unmount=failure", "mode-unmountdevice=failure"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			td := installTestDriver(t, append(modes, "realmount=true", "mode-mount=mountfailure")...)
			tmp := mountDir(t)
			req := rootRequest(tmp, "uid-1", nil)
			err := td.plugins(20*time.Second).SetUp(testContext(t), req)
			if err == nil || !strings.HasPrefix(err.Error(), `flex: driver "kennel/test" mount: mount half done on purpose`) {
				t.Fatalf("got %v, want the driver's mount failure", err)
			}
			noMountsUnder(t, tmp)
			if exists(t, req.PodDir) || exists(t, req.GlobalDir) {
				t.Fatal("failed SetUp left its directories")
			}
			wantCalls(t, td.callNames(t), []string{"init", "getvolumename", "isattached", "attach", "waitforattach",
				"mountdevice", "mount", "unmount", "unmountdevice", "detach"})
		})
	}
}

// TestAgentMountsDevice: a driver that attaches a device but mounts
// nothing has the agent mount the device (fsType ext4 by default) and
// bind it into the pod, read-only when asked.
func TestAgentMountsDevice(t *testing.T) {
	needRoot(t)
	tmp := mountDir(t)
	dev := makeLoopDevice(t, filepath.Join(tmp, "disk.img"))
	td := installTestDriver(t, "device="+dev, "mode-mountdevice=notsupported", "mode-mount=notsupported",
		"mode-unmountdevice=notsupported", "mode-unmount=notsupported")
	p := td.plugins(20 * time.Second)
	ctx := testContext(t)

	req := rootRequest(tmp, "uid-1", nil)
	if err := p.SetUp(ctx, req); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{req.GlobalDir, req.PodDir} {
		if n, src := mountsAt(t, dir); n != 1 || src != dev {
			t.Fatalf("%s: %d mounts of %q, want one of %s", dir, n, src, dev)
		}
	}
	writeFile(t, filepath.Join(req.PodDir, "hello"), "on the device")
	if err := p.TearDown(ctx, tearDownOf(req, true)); err != nil {
		t.Fatal(err)
	}
	noMountsUnder(t, tmp)

	req.Volume.ReadOnly = true
	if err := p.SetUp(ctx, req); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(req.PodDir, "hello")); got != "on the device" {
		t.Fatalf("read back %q", got)
	}
	err := os.WriteFile(filepath.Join(req.PodDir, "other"), nil, 0o644)
	if !errors.Is(err, unix.EROFS) {
		t.Fatalf("writing to a read-only volume: got %v, want EROFS", err)
	}
	if err := p.TearDown(ctx, tearDownOf(req, true)); err != nil {
		t.Fatal(err)
	}
	noMountsUnder(t, tmp)
}

// makeLoopDevice attaches a new 32 MiB ext4 image at file to a loop
// device, detached when the test ends.
func makeLoopDevice(t *testing.T, file string) string {
	t.Helper()
	run(t, "truncate", "-s", "32M", file)
	run(t, "mkfs.ext4", "-q", file)
	dev := strings.TrimSpace(run(t, "losetup", "-f", "--show", file))
	t.Cleanup(func() { detachLoops(t, file) })
	return dev
}

// loopsOf lists the loop devices attached to file.
func loopsOf(t *testing.T, file string) []string {
	t.Helper()
	if !exists(t, file) {
		return nil
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(run(t, "losetup", "-j", file)), "\n") {
		if dev, _, ok := strings.Cut(line, ":"); ok {
			out = append(out, dev)
		}
	}
	return out
}

func detachLoops(t *testing.T, file string) {
	t.Helper()
	for _, dev := range loopsOf(t, file) {
		run(t, "losetup", "-d", dev)
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v: %s", name, args, err, out)
	}
	return string(out)
}

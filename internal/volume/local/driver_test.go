package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/kennel-dev/kennel/internal/testenv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kennel-dev/kennel/internal/volume/mount"
)

// needRoot skips a test that mounts or attaches loop devices when not
// root; in CI, which runs as root, it fails instead.
func needRoot(t *testing.T) {
	t.Helper()
	testenv.RequireRoot(t, "loop devices and mounts")
}

// needFS needs mkfs for fsType (mkfsPath also looks in /sbin).
func needFS(t *testing.T, fsType string) {
	t.Helper()
	if _, ok := mkfsPath(fsType); !ok {
		testenv.RequireTool(t, "mkfs."+fsType, "e2fsprogs")
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// entries lists what is in dir, by name.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	return out
}

// mountCount counts the mount table entries at path.
func mountCount(t *testing.T, path string) int {
	t.Helper()
	all, err := mount.List()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, in := range all {
		if in.MountPoint == path {
			n++
		}
	}
	return n
}

func assertNoLoops(t *testing.T, image string) {
	t.Helper()
	loops, err := loopsOf(image)
	if err != nil {
		t.Fatal(err)
	}
	if len(loops) > 0 {
		t.Errorf("loop devices %v still attached to %s", loops, image)
	}
}

func TestProvisionDir(t *testing.T) {
	ctx := testCtx(t)
	pool := t.TempDir()
	path, err := Provision(ctx, pool, "pvc-1", 1<<20, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(pool, VolumesDir, "pvc-1"); path != want {
		t.Fatalf("path = %s, want %s", path, want)
	}
	st, err := os.Stat(path)
	if err != nil || !st.IsDir() || st.Mode().Perm() != 0o777 {
		t.Fatalf("volume %s: %v, %v; want a directory of mode 0777", path, st.Mode(), err)
	}
	if err := os.WriteFile(filepath.Join(path, "data"), []byte("kept"), 0o600); err != nil {
		t.Fatal(err)
	}
	again, err := Provision(ctx, pool, "pvc-1", 1<<20, "")
	if err != nil || again != path {
		t.Fatalf("second Provision = %s, %v; want %s", again, err, path)
	}
	if b, err := os.ReadFile(filepath.Join(path, "data")); err != nil || string(b) != "kept" {
		t.Fatalf("data after a second Provision = %q, %v", b, err)
	}
	if _, err := Provision(ctx, pool, "pvc-1", 1<<20, "ext4"); err == nil && os.Geteuid() == 0 {
		t.Error("Provision of an image over a directory volume succeeded")
	}
	for range 2 {
		if err := Delete(ctx, path); err != nil {
			t.Fatal(err)
		}
	}
	if got := entries(t, filepath.Join(pool, VolumesDir)); len(got) != 0 {
		t.Errorf("pool holds %v after Delete", got)
	}
}

func TestProvisionRejects(t *testing.T) {
	ctx := testCtx(t)
	pool := t.TempDir()
	for _, tt := range []struct {
		name, pool, volume, fsType, want string
	}{
		{"unsupported fsType", pool, "pvc-1", "btrfs",
			fmt.Sprintf(`local: fsType "btrfs" is not supported (supported here: %s)`, strings.Join(SupportedFSTypes(), ", "))},
		{"name with a slash", pool, "a/b", "", `local: volume name "a/b": must be a file name that does not start with a dot`},
		{"name with a dot", pool, ".tmp-x", "", `local: volume name ".tmp-x": must be a file name that does not start with a dot`},
		{"relative pool", "pool", "pvc-1", "", `local: pool "pool": must be an absolute path`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Provision(ctx, tt.pool, tt.volume, 1<<20, tt.fsType)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v, want %s", err, tt.want)
			}
		})
	}
	if got := entries(t, filepath.Join(pool, VolumesDir)); len(got) != 0 {
		t.Errorf("pool holds %v after rejected provisions", got)
	}
}

func TestDeleteRefusesNonVolumes(t *testing.T) {
	dir := t.TempDir()
	err := Delete(testCtx(t), dir)
	if err == nil || !strings.Contains(err.Error(), "not a volume") {
		t.Fatalf("Delete(%s) = %v, want a refusal", dir, err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("Delete removed %s: %v", dir, err)
	}
}

// TestDeleteDirUnmounts checks that deleting a directory volume removes
// the bind mounts made of it and does not reach through a mount inside it
// into another directory.
func TestDeleteDirUnmounts(t *testing.T) {
	needRoot(t)
	ctx := testCtx(t)
	pool, outside, bound := t.TempDir(), t.TempDir(), t.TempDir()
	path, err := Provision(ctx, pool, "pvc-1", 1<<20, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "precious"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	inner := filepath.Join(path, "inner")
	if err := os.Mkdir(inner, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := mount.Bind(outside, inner, false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mount.Unmount(inner) })
	if err := mount.Bind(path, bound, false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mount.Unmount(bound) })
	if err := Delete(ctx, path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(outside, "precious")); err != nil {
		t.Errorf("Delete reached through a mount in the volume: %v", err)
	}
	if ok, err := mount.IsMountPoint(bound); err != nil || ok {
		t.Errorf("bind mount of the volume at %s still there after Delete (%v)", bound, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("volume still there: %v", err)
	}
}

func TestImageVolume(t *testing.T) {
	needRoot(t)
	needFS(t, "ext4")
	ctx := testCtx(t)
	pool, target := t.TempDir(), filepath.Join(t.TempDir(), "mnt")
	const size = 8 << 20
	image, err := Provision(ctx, pool, "pvc-1", size, "ext4")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Delete(context.Background(), image) })
	if want := filepath.Join(pool, VolumesDir, "pvc-1.img"); image != want {
		t.Fatalf("path = %s, want %s", image, want)
	}
	var st unix.Stat_t
	if err := unix.Stat(image, &st); err != nil {
		t.Fatal(err)
	}
	if st.Size != size || st.Blocks*512 >= size {
		t.Errorf("image is %d bytes with %d allocated; want a sparse %d-byte file", st.Size, st.Blocks*512, size)
	}
	if got := entries(t, filepath.Join(pool, VolumesDir)); len(got) != 1 {
		t.Errorf("pool holds %v, want only the image", got)
	}
	assertNoLoops(t, image)
	if again, err := Provision(ctx, pool, "pvc-1", size, "ext4"); err != nil || again != image {
		t.Errorf("second Provision = %s, %v; want %s", again, err, image)
	}
	if _, err := Provision(ctx, pool, "pvc-1", 2*size, "ext4"); err == nil {
		t.Error("Provision with another size succeeded")
	}

	t.Run("mount enforces the size", func(t *testing.T) { testImageSize(t, image, target, size) })
	t.Run("data survives a remount", func(t *testing.T) { testImageRemount(t, image, target) })
	t.Run("one mount and one loop", func(t *testing.T) { testImageOnce(t, image, target) })
	t.Run("delete while mounted", func(t *testing.T) { testImageDelete(t, image, target) })
}

func testImageSize(t *testing.T, image, target string, size int64) {
	ctx := testCtx(t)
	dev, err := MountImage(ctx, image, "ext4", target, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(dev, fmt.Sprintf("%d:", loopMajor)) {
		t.Errorf("device = %s, want a loop device", dev)
	}
	if got, _, err := mount.BlockDevice(target); err != nil || got != dev {
		t.Errorf("block device under %s = %s, %v; want %s", target, got, err, dev)
	}
	if st, err := os.Stat(target); err != nil || st.Mode().Perm() != 0o777 {
		t.Errorf("volume root: %v, %v; want mode 0777", st.Mode(), err)
	}
	if err := os.WriteFile(filepath.Join(target, "data"), []byte("survives"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = writeZeros(filepath.Join(target, "big"), size)
	if !errors.Is(err, unix.ENOSPC) {
		t.Errorf("writing %d bytes to a %d-byte volume: %v, want ENOSPC", size, size, err)
	}
	if err := os.Remove(filepath.Join(target, "big")); err != nil {
		t.Fatal(err)
	}
	if err := UnmountImage(ctx, image, target); err != nil {
		t.Fatal(err)
	}
	assertNoLoops(t, image)
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("mount point still there after UnmountImage: %v", err)
	}
	if err := UnmountImage(ctx, image, target); err != nil {
		t.Errorf("second UnmountImage: %v", err)
	}
}

// writeZeros writes n zero bytes to a new file, synced, so that a full
// filesystem says so.
func writeZeros(path string, n int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for n > 0 {
		k, err := f.Write(buf[:min(int64(len(buf)), n)])
		if err != nil {
			return err
		}
		n -= int64(k)
	}
	return f.Sync()
}

func testImageRemount(t *testing.T, image, target string) {
	ctx := testCtx(t)
	if _, err := MountImage(ctx, image, "ext4", target, true); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(target, "data"))
	if err != nil || !bytes.Equal(b, []byte("survives")) {
		t.Errorf("data after a remount = %q, %v", b, err)
	}
	if err := os.WriteFile(filepath.Join(target, "ro"), nil, 0o644); !errors.Is(err, unix.EROFS) {
		t.Errorf("write to a read-only mount: %v, want EROFS", err)
	}
	if err := UnmountImage(ctx, image, target); err != nil {
		t.Fatal(err)
	}
	assertNoLoops(t, image)
}

func testImageOnce(t *testing.T, image, target string) {
	ctx := testCtx(t)
	other := filepath.Join(t.TempDir(), "other")
	dev, err := MountImage(ctx, image, "ext4", target, false)
	if err != nil {
		t.Fatal(err)
	}
	again, err := MountImage(ctx, image, "ext4", target, false)
	if err != nil || again != dev {
		t.Fatalf("second MountImage = %s, %v; want %s", again, err, dev)
	}
	if n := mountCount(t, target); n != 1 {
		t.Errorf("%d mounts at %s, want 1", n, target)
	}
	// A second mount point shares the loop device.
	if second, err := MountImage(ctx, image, "ext4", other, false); err != nil || second != dev {
		t.Errorf("MountImage at a second target = %s, %v; want %s", second, err, dev)
	}
	if loops, _ := loopsOf(image); len(loops) != 1 {
		t.Errorf("loop devices of the image = %v, want one", loops)
	}
	// Unmounting one keeps the loop for the other.
	if err := UnmountImage(ctx, image, other); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(target, "data")); err != nil || string(b) != "survives" {
		t.Errorf("data through the remaining mount = %q, %v", b, err)
	}
	if err := UnmountImage(ctx, image, target); err != nil {
		t.Fatal(err)
	}
	assertNoLoops(t, image)
}

func testImageDelete(t *testing.T, image, target string) {
	ctx := testCtx(t)
	if _, err := MountImage(ctx, image, "ext4", target, false); err != nil {
		t.Fatal(err)
	}
	if err := Delete(ctx, image); err != nil {
		t.Fatal(err)
	}
	if ok, err := mount.IsMountPoint(target); err != nil || ok {
		t.Errorf("%s still mounted after Delete (%v)", target, err)
	}
	if _, err := os.Stat(image); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("image still there after Delete: %v", err)
	}
	assertNoLoops(t, image)
	if err := Delete(ctx, image); err != nil {
		t.Errorf("second Delete: %v", err)
	}
}

func TestMountImageFailureLeavesNothing(t *testing.T) {
	needRoot(t)
	needFS(t, "ext4")
	ctx := testCtx(t)
	image, err := Provision(ctx, t.TempDir(), "pvc-1", 4<<20, "ext4")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Delete(context.Background(), image) })
	target := filepath.Join(t.TempDir(), "mnt")
	if _, err := MountImage(ctx, image, "vfat", target, false); err == nil {
		t.Fatal("mounting an ext4 image as vfat succeeded")
	}
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("mount point left after a failed mount: %v", err)
	}
	assertNoLoops(t, image)

	// A mount point of something else is not taken for the image.
	busy := t.TempDir()
	if err := mount.Bind(t.TempDir(), busy, false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mount.Unmount(busy) })
	if _, err := MountImage(ctx, image, "ext4", busy, false); err == nil || !strings.Contains(err.Error(), "already a mount point") {
		t.Errorf("MountImage on another mount = %v, want an error", err)
	}
	if n := mountCount(t, busy); n != 1 {
		t.Errorf("%d mounts at %s, want 1", n, busy)
	}
	assertNoLoops(t, image)
}

func TestProvisionImageFailureLeavesNothing(t *testing.T) {
	needRoot(t)
	needFS(t, "ext4")
	pool := t.TempDir()
	// Too small for any ext4 filesystem: mkfs fails.
	_, err := Provision(testCtx(t), pool, "pvc-1", 4096, "ext4")
	if err == nil || !strings.Contains(err.Error(), "mkfs.ext4") {
		t.Fatalf("err = %v, want mkfs.ext4's failure", err)
	}
	if got := entries(t, filepath.Join(pool, VolumesDir)); len(got) != 0 {
		t.Errorf("pool holds %v after a failed provision", got)
	}
}

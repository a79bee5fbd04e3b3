package mount

import (
	"errors"
	"github.com/kennel-dev/kennel/internal/testenv"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestParseLine(t *testing.T) {
	for _, tt := range []struct {
		name, line string
		want       Info
		ok         bool
	}{
		{"with an optional field", "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue",
			Info{Major: 98, Minor: 0, Root: "/mnt1", MountPoint: "/mnt2", FSType: "ext3", Source: "/dev/root", Options: "rw,noatime"}, true},
		{"without optional fields", "22 27 0:21 / /proc rw,relatime - proc proc rw",
			Info{Major: 0, Minor: 21, Root: "/", MountPoint: "/proc", FSType: "proc", Source: "proc", Options: "rw,relatime"}, true},
		{"several optional fields", "40 27 7:3 / /data rw shared:1 master:2 propagate_from:3 - ext4 /dev/loop3 rw",
			Info{Major: 7, Minor: 3, Root: "/", MountPoint: "/data", FSType: "ext4", Source: "/dev/loop3", Options: "rw"}, true},
		{"escaped spaces", `41 27 0:40 /a\040b /mnt/my\040dir rw - tmpfs tmp\040fs rw`,
			Info{Major: 0, Minor: 40, Root: "/a b", MountPoint: "/mnt/my dir", FSType: "tmpfs", Source: "tmp fs", Options: "rw"}, true},
		{"empty source", "42 27 0:41 / /scratch rw - tmpfs  rw,size=1024k",
			Info{Major: 0, Minor: 41, Root: "/", MountPoint: "/scratch", FSType: "tmpfs", Source: "", Options: "rw"}, true},
		{"a mount point named like the separator", `43 27 0:42 / /a\040-\040b rw - tmpfs x rw`,
			Info{Major: 0, Minor: 42, Root: "/", MountPoint: "/a - b", FSType: "tmpfs", Source: "x", Options: "rw"}, true},
		{"no separator", "36 35 98:0 /mnt1 /mnt2 rw,noatime ext3 /dev/root rw", Info{}, false},
		{"too few fields", "36 35 98:0 /mnt1 - ext3 /dev/root rw", Info{}, false},
		{"empty", "", Info{}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseLine(tt.line)
			if ok != tt.ok || got != tt.want {
				t.Errorf("parseLine(%q) = %+v, %v; want %+v, %v", tt.line, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		"/plain":        "/plain",
		`/a\040b`:       "/a b",
		`\040`:          " ",
		`/tab\011x`:     "/tab\tx",
		`/nl\012x`:      "/nl\nx",
		`/back\134x`:    `/back\x`,
		`/end\`:         `/end\`,
		`/short\04`:     `/short\04`,
		`/notoctal\9ab`: `/notoctal\9ab`,
		`/toobig\777`:   `/toobig\777`,
		`\040\040`:      "  ",
	} {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

// needRoot skips a test that mounts when not root; in CI, which runs as
// root, it fails instead.
func needRoot(t *testing.T) {
	t.Helper()
	testenv.RequireRoot(t, "mounts")
}

func isMountPoint(t *testing.T, path string) bool {
	t.Helper()
	ok, err := IsMountPoint(path)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestBindAndUnmount(t *testing.T) {
	needRoot(t)
	src, dst := t.TempDir(), t.TempDir()
	t.Cleanup(func() { _ = Unmount(dst) })
	if err := os.WriteFile(filepath.Join(src, "file"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if isMountPoint(t, dst) {
		t.Fatalf("%s is a mount point before any mount", dst)
	}
	if err := Bind(src, dst, false); err != nil {
		t.Fatal(err)
	}
	if !isMountPoint(t, dst) {
		t.Fatalf("%s is no mount point after Bind", dst)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "file")); err != nil || string(b) != "hello" {
		t.Fatalf("file through the bind = %q, %v", b, err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dst, link); err != nil {
		t.Fatal(err)
	}
	if !isMountPoint(t, link) {
		t.Error("a symlink to a mount point is not seen as one")
	}
	sub := filepath.Join(dst, "sub")
	if err := Mount("tmpfs", sub, "tmpfs", false, "size=1m"); err != nil {
		t.Fatal(err)
	}
	got, err := MountsUnder(dst)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{sub, dst}; !reflect.DeepEqual(got, want) {
		t.Errorf("MountsUnder(%s) = %v, want %v (deepest first)", dst, got, want)
	}
	if all, err := MountsUnder("/"); err != nil || len(all) < 3 {
		t.Errorf("MountsUnder(/) = %v, %v; want every mount", all, err)
	}
	// The tmpfs under it makes the bind busy: it is detached lazily.
	for range 2 {
		if err := Unmount(dst); err != nil {
			t.Fatal(err)
		}
	}
	if isMountPoint(t, dst) || isMountPoint(t, sub) {
		t.Error("mounts left after Unmount")
	}
	if got, err := MountsUnder(dst); err != nil || len(got) != 0 {
		t.Errorf("MountsUnder after Unmount = %v, %v", got, err)
	}
	if err := Unmount(filepath.Join(dst, "missing")); err != nil {
		t.Errorf("Unmount of a missing path: %v", err)
	}
}

func TestUnmountStacked(t *testing.T) {
	needRoot(t)
	a, b, dst := t.TempDir(), t.TempDir(), t.TempDir()
	t.Cleanup(func() { _ = Unmount(dst) })
	for _, src := range []string{a, b} {
		if err := Bind(src, dst, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := Unmount(dst); err != nil {
		t.Fatal(err)
	}
	if isMountPoint(t, dst) {
		t.Error("a mount stacked on the target is left")
	}
}

func TestBindReadOnly(t *testing.T) {
	needRoot(t)
	src, dst := t.TempDir(), t.TempDir()
	t.Cleanup(func() { _ = Unmount(dst) })
	if err := Bind(src, dst, true); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "x"), nil, 0o644); !errors.Is(err, unix.EROFS) {
		t.Errorf("write through a read-only bind: %v, want EROFS", err)
	}
	if err := os.WriteFile(filepath.Join(src, "x"), nil, 0o644); err != nil {
		t.Errorf("the source became read-only: %v", err)
	}
}

func TestMountErrors(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	err := Mount("none", dir, "nosuchfs", false, "")
	if err == nil || !strings.Contains(err.Error(), "nosuchfs") || !strings.Contains(err.Error(), dir) {
		t.Errorf("Mount of an unknown filesystem = %v, want an error naming it and the target", err)
	}
	if isMountPoint(t, dir) {
		t.Error("a failed mount left a mount point")
	}
	if err := Bind(filepath.Join(dir, "missing"), dir, false); err == nil {
		t.Error("Bind of a missing source succeeded")
	}
}

// TestUnmountCovered: a mount that a later mount on its parent hides is
// still listed, but its path no longer reaches it; Unmount says so
// instead of trying forever.
func TestUnmountCovered(t *testing.T) {
	needRoot(t)
	parent, x, y := t.TempDir(), t.TempDir(), t.TempDir()
	child := filepath.Join(parent, "child")
	for _, d := range []string{child, filepath.Join(y, "child")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := Bind(x, child, false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(child, unix.MNT_DETACH) })
	if err := Bind(y, parent, false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(parent, unix.MNT_DETACH) })
	done := make(chan error, 1)
	go func() { done <- Unmount(child) }()
	select {
	case err := <-done:
		if err == nil || !errors.Is(err, unix.EINVAL) {
			t.Errorf("Unmount of a covered mount = %v, want EINVAL", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Unmount of a covered mount does not return")
	}
	// Once the cover goes, the mount is reachable and goes too.
	if err := Unmount(parent); err != nil {
		t.Fatal(err)
	}
	if err := Unmount(child); err != nil || isMountPoint(t, child) {
		t.Errorf("Unmount of the uncovered mount: %v", err)
	}
}

func TestBlockDevice(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	if err := Mount("tmpfs", dir, "tmpfs", false, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Unmount(dir) })
	if dev, ok, err := BlockDevice(dir); err != nil || ok {
		t.Errorf("BlockDevice(tmpfs) = %q, %v, %v; want no block device", dev, ok, err)
	}
	if _, _, err := BlockDevice(filepath.Join(dir, "missing")); err == nil {
		t.Error("BlockDevice of a missing path succeeded")
	}
}

// TestWholeDisk maps every block device of this machine: a partition to
// its disk, a disk to itself.
func TestWholeDisk(t *testing.T) {
	if dev, ok, err := WholeDisk("4095:1048575"); err != nil || ok {
		t.Errorf("WholeDisk of no device = %q, %v, %v", dev, ok, err)
	}
	devs, _ := filepath.Glob("/sys/class/block/*/dev")
	if len(devs) == 0 {
		t.Fatal("no block devices in /sys/class/block: the machine must have a disk")
	}
	for _, f := range devs {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dev := strings.TrimSpace(string(b))
		want := dev
		if _, err := os.Stat(filepath.Join(filepath.Dir(f), "partition")); err == nil {
			// Not filepath.Join, which would drop the ".." before the
			// kernel follows the symlink.
			p, err := os.ReadFile(filepath.Dir(f) + "/../dev")
			if err != nil {
				t.Fatal(err)
			}
			want = strings.TrimSpace(string(p))
		}
		if got, ok, err := WholeDisk(dev); err != nil || !ok || got != want {
			t.Errorf("WholeDisk(%s) (%s) = %q, %v, %v; want %s", dev, filepath.Base(filepath.Dir(f)), got, ok, err, want)
		}
	}
}

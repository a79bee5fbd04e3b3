package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kennel-dev/kennel/internal/volume/mount"
)

// VolumesDir is the directory of a storage pool that volumes are carved
// in.
const VolumesDir = "kennel-volumes"

// ImageSuffix ends the file name of a loop-image volume.
const ImageSuffix = ".img"

// tmpPrefix starts the names of volumes being built; a volume appears
// under its own name only when it is complete.
const tmpPrefix = ".tmp-"

// SupportedFSTypes lists the fsTypes this node can provision: those of
// ext4, ext3, ext2 and xfs whose mkfs.<fsType> is installed.
func SupportedFSTypes() []string {
	var out []string
	for _, t := range []string{"ext4", "ext3", "ext2", "xfs"} {
		if _, ok := mkfsPath(t); ok {
			out = append(out, t)
		}
	}
	return out
}

// mkfsPath finds mkfs.<fsType> on PATH, or in the sbin directories that a
// non-login PATH often lacks.
func mkfsPath(fsType string) (string, bool) {
	name := "mkfs." + fsType
	if p, err := exec.LookPath(name); err == nil {
		return p, true
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return filepath.Join(dir, name), true
		}
	}
	return "", false
}

// Provision carves the volume name from the storage pool directory pool
// and returns its path: a directory <pool>/kennel-volumes/<name> when
// fsType is empty, else a sparse file <pool>/kennel-volumes/<name>.img of
// size bytes (rounded up to 4 KiB) holding an fsType filesystem, which
// needs root. The volume is built under a temporary name and renamed, so
// it is either complete or absent, and a failure removes what was made.
// A volume already provisioned with the same shape is returned as it is.
func Provision(ctx context.Context, pool, name string, size int64, fsType string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	if !filepath.IsAbs(pool) {
		return "", fmt.Errorf("local: pool %q: must be an absolute path", pool)
	}
	dir := filepath.Join(pool, VolumesDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("local: pool %s: %w", pool, err)
	}
	if fsType == "" {
		return provisionDir(dir, name)
	}
	if err := checkFSType(fsType); err != nil {
		return "", err
	}
	if size <= 0 {
		return "", fmt.Errorf("local: volume %q: size must be positive, got %d", name, size)
	}
	return provisionImage(ctx, dir, name, (size+4095)&^4095, fsType)
}

func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') || strings.HasPrefix(name, ".") {
		return fmt.Errorf("local: volume name %q: must be a file name that does not start with a dot", name)
	}
	return nil
}

// checkFSType says why this node cannot make an fsType loop volume.
func checkFSType(fsType string) error {
	supported := SupportedFSTypes()
	if !slices.Contains(supported, fsType) {
		list := strings.Join(supported, ", ")
		if list == "" {
			list = "none"
		}
		return fmt.Errorf("local: fsType %q is not supported (supported here: %s)", fsType, list)
	}
	if uid := os.Geteuid(); uid != 0 {
		return fmt.Errorf("local: fsType %q: loop-device volumes need root, and Kennel runs as uid %d "+
			"(a class without fsType gives a plain directory)", fsType, uid)
	}
	return nil
}

func provisionDir(dir, name string) (string, error) {
	final := filepath.Join(dir, name)
	if st, err := os.Lstat(final); err == nil {
		if !st.IsDir() {
			return "", fmt.Errorf("local: volume %s exists and is not a directory", final)
		}
		return final, nil
	}
	if _, err := os.Lstat(final + ImageSuffix); err == nil {
		return "", fmt.Errorf("local: volume %q exists as a loop image, not a directory", name)
	}
	tmp := filepath.Join(dir, tmpPrefix+name)
	if err := os.RemoveAll(tmp); err != nil {
		return "", fmt.Errorf("local: clear leftover %s: %w", tmp, err)
	}
	err := os.Mkdir(tmp, 0o777)
	if err == nil {
		err = os.Chmod(tmp, 0o777) // past the umask
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		_ = os.RemoveAll(tmp)
		return "", fmt.Errorf("local: volume %q: %w", name, err)
	}
	return final, nil
}

func provisionImage(ctx context.Context, dir, name string, size int64, fsType string) (path string, err error) {
	final := filepath.Join(dir, name+ImageSuffix)
	if st, err := os.Lstat(final); err == nil {
		if !st.Mode().IsRegular() || st.Size() != size {
			return "", fmt.Errorf("local: volume %s exists with another shape (%s, %d bytes; want a %d-byte image)",
				final, st.Mode().Type(), st.Size(), size)
		}
		return final, nil
	}
	if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
		return "", fmt.Errorf("local: volume %q exists as a directory, not a loop image", name)
	}
	tmp := filepath.Join(dir, tmpPrefix+name+ImageSuffix)
	mnt := filepath.Join(dir, tmpPrefix+name+".mnt")
	clear := func(ctx context.Context) error {
		if err := UnmountImage(ctx, tmp, mnt); err != nil {
			return err
		}
		return removeImage(tmp)
	}
	if err := clear(ctx); err != nil {
		return "", fmt.Errorf("local: clear leftover %s: %w", tmp, err)
	}
	defer func() {
		if err != nil {
			// Also when ctx ended: that is often why it failed.
			_ = clear(context.WithoutCancel(ctx))
		}
	}()
	if err := makeImage(ctx, tmp, size, fsType); err != nil {
		return "", err
	}
	// mkfs makes the root directory 0755 and root's; open it to every
	// user, as directory volumes are.
	if _, err := MountImage(ctx, tmp, fsType, mnt, false); err != nil {
		return "", err
	}
	if err := os.Chmod(mnt, 0o777); err != nil {
		_ = UnmountImage(ctx, tmp, mnt)
		return "", fmt.Errorf("local: volume %q: %w", name, err)
	}
	if err := UnmountImage(ctx, tmp, mnt); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("local: volume %q: %w", name, err)
	}
	if err := syncDir(dir); err != nil {
		return "", fmt.Errorf("local: volume %q: %w", name, err)
	}
	return final, nil
}

// makeImage creates a sparse file of size bytes at path and makes an
// fsType filesystem in it.
func makeImage(ctx context.Context, path string, size int64, fsType string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("local: image: %w", err)
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("local: image %s: %w", path, err)
	}
	mkfs, _ := mkfsPath(fsType)
	args := []string{"-q", "-F", "-m", "0", path} // no blocks reserved for root: the claim gets them all
	if fsType == "xfs" {
		args = []string{"-q", "-f", path}
	}
	cmd := exec.CommandContext(ctx, mkfs, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("local: %s %s: %w: %s", filepath.Base(mkfs), path, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// Delete removes the volume at path (a directory or loop image that
// Provision made): it unmounts what is mounted from it, detaches its loop
// devices and removes it. A volume already gone is not an error. path
// must lie in a kennel-volumes directory, so that a wrong path cannot
// remove anything else.
func Delete(ctx context.Context, path string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local: delete %s: %w", path, err)
	}
	if filepath.Base(filepath.Dir(path)) != VolumesDir || checkName(strings.TrimPrefix(filepath.Base(path), tmpPrefix)) != nil {
		return fmt.Errorf("local: delete %s: not a volume (it must be in a %s directory)", path, VolumesDir)
	}
	st, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("local: delete: %w", err)
	}
	if st.Mode().IsRegular() {
		return removeImage(path)
	}
	if err := unmountFrom(path); err != nil {
		return err
	}
	if err := os.RemoveAll(path); err != nil {
		return fmt.Errorf("local: delete: %w", err)
	}
	return nil
}

// removeImage unmounts every mount of the loop devices of image,
// detaches them and removes the file.
func removeImage(image string) error {
	loops, err := loopsOf(image)
	if err != nil {
		return err
	}
	for _, n := range loops {
		dev, err := loopDev(n)
		if err != nil {
			continue // detached meanwhile
		}
		mps, err := mountsOfDevice(dev)
		if err != nil {
			return err
		}
		for _, mp := range mps {
			if err := mount.Unmount(mp); err != nil {
				return fmt.Errorf("local: %w", err)
			}
		}
	}
	if err := detachLoops(image); err != nil {
		return err
	}
	if err := os.Remove(image); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("local: delete: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

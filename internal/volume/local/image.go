package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/kennel-dev/kennel/internal/volume/mount"
)

// MountImage mounts the filesystem (of type fsType) in the loop image
// file image at target, creating target, and returns the loop device as
// "major:minor" (the key of cgroup I/O limits). A loop device already
// attached to image is reused, so one image is never attached twice; a
// new one is attached with LO_FLAGS_AUTOCLEAR and so detaches itself
// when its last mount goes. When target is already a mount point of the
// image, it returns that mount's device without mounting again. On
// failure it leaves no mount and no loop device of its own.
//
// Calls for one image are serialized by a lock on the image file, also
// across processes.
func MountImage(ctx context.Context, image, fsType, target string, readOnly bool) (device string, err error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("local: mount %s: %w", image, err)
	}
	img, err := lockImage(image)
	if err != nil {
		return "", err
	}
	defer img.Close()
	if dev, ok, err := mountedImage(image, target); err != nil || ok {
		return dev, err
	}
	created, err := mkdirTarget(target)
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil && created {
			_ = os.Remove(target)
		}
	}()
	loop, n, ok := openLoopOf(image)
	if !ok {
		if loop, n, err = attachLoop(image); err != nil {
			return "", err
		}
	}
	// Closing the device after the mount hands the loop to the mount;
	// closing it after a failed mount detaches a loop attached here.
	defer loop.Close()
	if device, err = loopDev(n); err != nil {
		return "", err
	}
	if err := mount.Mount(loopPath(n), target, fsType, readOnly, ""); err != nil {
		return "", fmt.Errorf("local: %w", err)
	}
	return device, nil
}

// UnmountImage unmounts target, detaches the loop devices of image that
// are no longer mounted anywhere, and removes target. It is idempotent:
// what is already gone is not an error.
func UnmountImage(ctx context.Context, image, target string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local: unmount %s: %w", target, err)
	}
	img, err := lockImage(image)
	switch {
	case errors.Is(err, os.ErrNotExist):
		img = nil // nothing to lock; its loops may still be cleared
	case err != nil:
		return err
	}
	if img != nil {
		defer img.Close()
	}
	if err := mount.Unmount(target); err != nil {
		return fmt.Errorf("local: %w", err)
	}
	if err := detachLoops(image); err != nil {
		return err
	}
	if err := os.Remove(target); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("local: remove mount point: %w", err)
	}
	return nil
}

// lockImage opens image and takes an exclusive lock on it, released when
// the file is closed.
func lockImage(image string) (*os.File, error) {
	f, err := os.OpenFile(image, os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("local: image: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("local: lock %s: %w", image, err)
	}
	return f, nil
}

// mountedImage reports the device of target when it is already a mount
// point of image; a mount point of anything else is an error.
func mountedImage(image, target string) (string, bool, error) {
	p, err := filepath.EvalSymlinks(target)
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("local: %w", err)
	}
	all, err := mount.List()
	if err != nil {
		return "", false, fmt.Errorf("local: %w", err)
	}
	var top *mount.Info
	for i := range all {
		if all[i].MountPoint == p {
			top = &all[i] // the last one listed is the one on top
		}
	}
	if top == nil {
		return "", false, nil
	}
	dev := fmt.Sprintf("%d:%d", top.Major, top.Minor)
	want, err := resolve(image)
	if err != nil {
		return "", false, err
	}
	if file, ok := backingFile(dev); !ok || file != want {
		return "", false, fmt.Errorf("local: %s is already a mount point of %s (%s), not of image %s", target, top.Source, dev, image)
	}
	return dev, true, nil
}

// mkdirTarget makes the mount point, reporting whether it made it.
func mkdirTarget(target string) (bool, error) {
	if _, err := os.Stat(target); err == nil {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
		return false, fmt.Errorf("local: mount point: %w", err)
	}
	if err := os.Mkdir(target, 0o750); err != nil {
		if errors.Is(err, os.ErrExist) {
			return false, nil
		}
		return false, fmt.Errorf("local: mount point: %w", err)
	}
	return true, nil
}

// mountsOfDevice lists the mount points of the block device
// "major:minor", last mounted first.
func mountsOfDevice(dev string) ([]string, error) {
	all, err := mount.List()
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	var out []string
	for i := len(all) - 1; i >= 0; i-- {
		if fmt.Sprintf("%d:%d", all[i].Major, all[i].Minor) == dev {
			out = append(out, all[i].MountPoint)
		}
	}
	return out, nil
}

// unmountFrom unmounts what is mounted at or under dir, and the bind
// mounts made elsewhere of dir or of anything in it, so that removing dir
// removes only its own files.
func unmountFrom(dir string) error {
	p, err := resolve(dir)
	if err != nil {
		return err
	}
	all, err := mount.List()
	if err != nil {
		return fmt.Errorf("local: %w", err)
	}
	var host *mount.Info // the mount of the filesystem dir is in
	for i := range all {
		if mp := all[i].MountPoint; mp != p && within(p, mp) {
			host = &all[i]
		}
	}
	var targets []string
	for i := len(all) - 1; i >= 0; i-- {
		in := all[i]
		switch {
		case within(in.MountPoint, p):
			targets = append(targets, in.MountPoint)
		case host != nil && in.Major == host.Major && in.Minor == host.Minor &&
			within(in.Root, filepath.Join(host.Root, strings.TrimPrefix(p, host.MountPoint))):
			targets = append(targets, in.MountPoint)
		}
	}
	for _, t := range targets {
		if err := mount.Unmount(t); err != nil {
			return fmt.Errorf("local: %w", err)
		}
	}
	return nil
}

// within reports whether path is dir or lies under it.
func within(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, strings.TrimSuffix(dir, "/")+"/")
}

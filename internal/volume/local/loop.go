package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// loopMajor is the block major number of loop devices.
const loopMajor = 7

// loopAttachTries bounds the retries when another process takes the
// free loop device between LOOP_CTL_GET_FREE and its configuration.
const loopAttachTries = 16

// loopGoneWait bounds how long a detach waits for the kernel to let go of
// a loop device.
const loopGoneWait = 5 * time.Second

func loopPath(n int) string { return "/dev/loop" + strconv.Itoa(n) }

// loopDev is a loop device's "major:minor".
func loopDev(n int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/sys/block/loop%d/dev", n))
	if err != nil {
		return "", fmt.Errorf("local: loop%d: %w", n, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// resolve is the absolute path of path with symlinks followed: the form
// the kernel reports a loop device's backing file in.
func resolve(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("local: %w", err)
	}
	p, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("local: %w", err)
	}
	return p, nil
}

// loopsOf lists the loop devices whose backing file is image.
func loopsOf(image string) ([]int, error) {
	p, err := resolve(image)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	files, err := filepath.Glob("/sys/block/loop*/loop/backing_file")
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	var out []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil || strings.TrimSuffix(string(b), "\n") != p {
			continue // detached meanwhile, or another file
		}
		name := filepath.Base(filepath.Dir(filepath.Dir(f)))
		if n, err := strconv.Atoi(strings.TrimPrefix(name, "loop")); err == nil {
			out = append(out, n)
		}
	}
	return out, nil
}

// backingFile is the file behind the block device "major:minor", if it
// is a loop device.
func backingFile(dev string) (string, bool) {
	b, err := os.ReadFile("/sys/dev/block/" + dev + "/loop/backing_file")
	if err != nil {
		return "", false
	}
	return strings.TrimSuffix(string(b), "\n"), true
}

// openLoop opens /dev/loopN, making the node if this /dev lacks it (a
// static /dev in a container does not follow the devices the kernel
// adds).
func openLoop(n int) (*os.File, error) {
	f, err := os.OpenFile(loopPath(n), os.O_RDWR|unix.O_CLOEXEC, 0)
	if errors.Is(err, os.ErrNotExist) {
		if err := unix.Mknod(loopPath(n), unix.S_IFBLK|0o600, int(unix.Mkdev(loopMajor, uint32(n)))); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("local: make %s: %w", loopPath(n), err)
		}
		f, err = os.OpenFile(loopPath(n), os.O_RDWR|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	return f, nil
}

// attachLoop attaches a free loop device to image with
// LO_FLAGS_AUTOCLEAR and returns it open: the device stays attached while
// it is open or mounted, and detaches itself when the last of those goes.
// The caller closes it once the device is mounted, or to give it up.
//
// The loop device gets a file of its own: it holds it as long as it is
// attached, and a lock taken on a file it shared would be held as long.
func attachLoop(image string) (*os.File, int, error) {
	img, err := os.OpenFile(image, os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("local: image: %w", err)
	}
	defer img.Close()
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("local: loop devices: %w", err)
	}
	defer ctl.Close()
	for range loopAttachTries {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return nil, 0, fmt.Errorf("local: find a free loop device: %w", err)
		}
		dev, err := openLoop(n)
		if err != nil {
			return nil, 0, err
		}
		err = configureLoop(dev, img, image)
		if err == nil {
			return dev, n, nil
		}
		dev.Close()
		if !errors.Is(err, unix.EBUSY) {
			return nil, 0, fmt.Errorf("local: attach %s to %s: %w", image, loopPath(n), err)
		}
		// Another process took loopN first; ask for the next free one.
	}
	return nil, 0, fmt.Errorf("local: attach %s: no loop device stayed free in %d tries", image, loopAttachTries)
}

// configureLoop binds dev to img with LOOP_CONFIGURE, or on kernels older
// than 5.8 with LOOP_SET_FD and LOOP_SET_STATUS64.
func configureLoop(dev, img *os.File, name string) error {
	info := unix.LoopInfo64{Flags: unix.LO_FLAGS_AUTOCLEAR}
	copy(info.File_name[:len(info.File_name)-1], name)
	err := unix.IoctlLoopConfigure(int(dev.Fd()), &unix.LoopConfig{Fd: uint32(img.Fd()), Info: info})
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOTTY) {
		return err
	}
	if err := unix.IoctlSetInt(int(dev.Fd()), unix.LOOP_SET_FD, int(img.Fd())); err != nil {
		return err
	}
	if err := unix.IoctlLoopSetStatus64(int(dev.Fd()), &info); err != nil {
		_ = unix.IoctlSetInt(int(dev.Fd()), unix.LOOP_CLR_FD, 0)
		return err
	}
	return nil
}

// openLoopOf opens a loop device already attached to image, if there is
// one, so that it stays attached while the caller mounts it.
func openLoopOf(image string) (*os.File, int, bool) {
	loops, err := loopsOf(image)
	if err != nil {
		return nil, 0, false
	}
	for _, n := range loops {
		f, err := os.OpenFile(loopPath(n), os.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		// It may have been detached between the listing and the open.
		if still, _ := loopsOf(image); slices.Contains(still, n) {
			return f, n, true
		}
		f.Close()
	}
	return nil, 0, false
}

// detachLoops detaches every loop device of image that nothing has
// mounted; a mounted one is only marked to detach itself when its last
// mount goes (the kernel's lazy detach). It waits for the unmounted ones
// to be gone.
func detachLoops(image string) error {
	loops, err := loopsOf(image)
	if err != nil {
		return err
	}
	var idle []int
	for _, n := range loops {
		if err := detachLoop(n); err != nil {
			return err
		}
		dev, err := loopDev(n)
		if err != nil {
			continue // gone already
		}
		if mounted, err := mountsOfDevice(dev); err == nil && len(mounted) == 0 {
			idle = append(idle, n)
		}
	}
	deadline := time.Now().Add(loopGoneWait)
	for {
		left, err := loopsOf(image)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(left, func(n int) bool { return slices.Contains(idle, n) }) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("local: loop devices %v of %s are still attached after %v", left, image, loopGoneWait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// detachLoop clears loopN; one that is no longer attached is fine.
func detachLoop(n int) error {
	f, err := os.OpenFile(loopPath(n), os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENXIO) {
			return nil
		}
		return fmt.Errorf("local: %w", err)
	}
	defer f.Close()
	err = unix.IoctlSetInt(int(f.Fd()), unix.LOOP_CLR_FD, 0)
	if err != nil && !errors.Is(err, unix.ENXIO) {
		return fmt.Errorf("local: detach %s: %w", loopPath(n), err)
	}
	return nil
}

// Package mount is the agent's view of the host mount table and the few
// mount operations volumes need: bind mounts, filesystem mounts, unmounts
// that are safe to repeat, and finding the block device behind a path
// (the key of cgroup I/O limits). Everything here acts in the calling
// process's mount namespace, which for the agent is the host's.
package mount

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Info is one line of /proc/self/mountinfo.
type Info struct {
	Major, Minor uint32
	Root         string // the mounted subtree of the source filesystem
	MountPoint   string
	FSType       string
	Source       string
	Options      string
}

// List reads the mount table of this process's mount namespace.
func List() ([]Info, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("mount: %w", err)
	}
	defer f.Close()
	var out []Info
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if in, ok := parseLine(sc.Text()); ok {
			out = append(out, in)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("mount: reading mountinfo: %w", err)
	}
	return out, nil
}

// parseLine parses "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3
// /dev/root rw,errors=continue".
func parseLine(line string) (Info, bool) {
	pre, post, ok := strings.Cut(line, " - ")
	if !ok {
		return Info{}, false
	}
	// The source may be empty ("- tmpfs  rw"), so the fields after the
	// separator are split on single spaces.
	f, g := strings.Fields(pre), strings.Split(post, " ")
	if len(f) < 6 || len(g) < 2 {
		return Info{}, false
	}
	maj, min, _ := strings.Cut(f[2], ":")
	ma, _ := strconv.ParseUint(maj, 10, 32)
	mi, _ := strconv.ParseUint(min, 10, 32)
	in := Info{Major: uint32(ma), Minor: uint32(mi), Root: unescape(f[3]), MountPoint: unescape(f[4]),
		Options: f[5], FSType: g[0], Source: unescape(g[1])}
	return in, true
}

// unescape undoes mountinfo's octal escapes of space, tab, newline and
// backslash.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// IsMountPoint reports whether path is a mount point (of anything,
// including a bind mount of a directory onto itself).
func IsMountPoint(path string) (bool, error) {
	p, err := filepath.EvalSymlinks(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("mount: %w", err)
	}
	all, err := List()
	if err != nil {
		return false, err
	}
	for _, in := range all {
		if in.MountPoint == p {
			return true, nil
		}
	}
	return false, nil
}

// MountsUnder lists the mount points at or below dir, deepest first (the
// order to unmount them in).
func MountsUnder(dir string) ([]string, error) {
	d, err := filepath.EvalSymlinks(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("mount: %w", err)
	}
	all, err := List()
	if err != nil {
		return nil, err
	}
	var out []string
	prefix := strings.TrimSuffix(d, "/") + "/" // "/" has every mount under it
	for i := len(all) - 1; i >= 0; i-- {
		mp := all[i].MountPoint
		if mp == d || strings.HasPrefix(mp, prefix) {
			out = append(out, mp)
		}
	}
	return out, nil
}

// Mount mounts a filesystem: source (a device) of fstype at target, which
// must exist.
func Mount(source, target, fstype string, readOnly bool, options string) error {
	var flags uintptr
	if readOnly {
		flags |= unix.MS_RDONLY
	}
	if err := unix.Mount(source, target, fstype, flags, options); err != nil {
		return fmt.Errorf("mount: %s (%s) on %s: %w", source, fstype, target, err)
	}
	return nil
}

// Bind bind-mounts source on target (both must exist), read-only when
// asked: a read-only bind takes a second, remounting call.
func Bind(source, target string, readOnly bool) error {
	if err := unix.Mount(source, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("mount: bind %s on %s: %w", source, target, err)
	}
	if readOnly {
		if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			_ = unix.Unmount(target, unix.MNT_DETACH)
			return fmt.Errorf("mount: remount %s read-only: %w", target, err)
		}
	}
	return nil
}

// Unmount unmounts target, every mount stacked on it included; a target
// that is not mounted, or does not exist, is not an error. A busy mount
// is detached lazily so the call converges. A mount that is listed at
// target but that the path no longer reaches (a later mount on a parent
// covers it) is an error, not a loop.
func Unmount(target string) error {
	for {
		mounted, err := IsMountPoint(target)
		if err != nil || !mounted {
			return err
		}
		err = unix.Unmount(target, 0)
		if errors.Is(err, unix.EBUSY) {
			err = unix.Unmount(target, unix.MNT_DETACH)
		}
		switch {
		case errors.Is(err, unix.ENOENT):
			return nil // the path went away meanwhile
		case errors.Is(err, unix.EINVAL):
			if still, _ := IsMountPoint(target); !still {
				return nil // unmounted by someone else meanwhile
			}
			return fmt.Errorf("mount: unmount %s: a mount is listed there but the path does not reach it "+
				"(is a parent mounted over?): %w", target, err)
		case err != nil:
			return fmt.Errorf("mount: unmount %s: %w", target, err)
		}
	}
}

// BlockDevice is the whole disk ("major:minor") holding path's filesystem,
// the key of cgroup I/O limits, which apply to disks and not partitions.
// It reports false for a filesystem with no block device (tmpfs, overlay).
func BlockDevice(path string) (string, bool, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return "", false, fmt.Errorf("mount: %w", err)
	}
	dev := fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev))
	return WholeDisk(dev)
}

// WholeDisk maps a block device "major:minor" to its disk (itself unless
// it is a partition); false if it is no block device.
func WholeDisk(dev string) (string, bool, error) {
	if _, err := os.Stat("/sys/dev/block/" + dev); err != nil {
		return "", false, nil
	}
	if _, err := os.Stat("/sys/dev/block/" + dev + "/partition"); err != nil {
		return dev, true, nil
	}
	b, err := os.ReadFile("/sys/dev/block/" + dev + "/../dev")
	if err != nil {
		return "", false, fmt.Errorf("mount: disk of partition %s: %w", dev, err)
	}
	return strings.TrimSpace(string(b)), true, nil
}

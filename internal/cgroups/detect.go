package cgroups

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Mode is the cgroup version a Manager drives.
type Mode int

// The modes.
const (
	// ModeNone means no usable cgroups: none mounted, or not writable by
	// this process (not root). Containers then run without limits.
	ModeNone Mode = iota
	// ModeV1 is the legacy hierarchy, one mount per controller.
	ModeV1
	// ModeV2 is the unified hierarchy.
	ModeV2
)

// String returns "none", "v1" or "v2", the spelling of
// NodeSystemInfo.CgroupVersion.
func (m Mode) String() string {
	switch m {
	case ModeV1:
		return "v1"
	case ModeV2:
		return "v2"
	default:
		return "none"
	}
}

// v1Controllers are the v1 hierarchies a group lives in.
func v1Controllers() []string { return []string{"cpu", "cpuacct", "memory", "pids", "blkio"} }

// v2Controllers are the v2 controllers a group needs enabled.
func v2Controllers() []string { return []string{"cpu", "memory", "pids", "io"} }

// Detect reports which cgroup version is usable under root (normally
// "/sys/fs/cgroup"). A pure v2 mount has root/cgroup.controllers; v1 needs at
// least the cpu and memory hierarchies. Either must be writable by this
// process, or Detect returns ModeNone.
func Detect(root string) Mode {
	if isFile(filepath.Join(root, "cgroup.controllers")) {
		if writable(root) {
			return ModeV2
		}
		return ModeNone
	}
	mounts := v1Mounts(root)
	for _, c := range []string{"cpu", "memory"} {
		if mounts[c] == "" || !writable(mounts[c]) {
			return ModeNone
		}
	}
	return ModeV1
}

// v1Mounts maps each v1 controller this package uses to the directory of
// its hierarchy: root/<controller> when it exists (a single mount, or the
// symlink beside a joint one), else a joint mount directory whose
// comma-separated name lists the controller ("cpu,cpuacct"). Controllers
// that are not mounted are absent.
func v1Mounts(root string) map[string]string {
	entries, _ := os.ReadDir(root)
	mounts := make(map[string]string)
	for _, c := range v1Controllers() {
		if isDir(filepath.Join(root, c)) {
			mounts[c] = filepath.Join(root, c)
			continue
		}
		for _, e := range entries {
			if slices.Contains(strings.Split(e.Name(), ","), c) && isDir(filepath.Join(root, e.Name())) {
				mounts[c] = filepath.Join(root, e.Name())
				break
			}
		}
	}
	return mounts
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// writable asks the kernel, so a read-only mount or a missing privilege
// both count as not writable.
func writable(dir string) bool {
	return unix.Access(dir, unix.W_OK) == nil
}

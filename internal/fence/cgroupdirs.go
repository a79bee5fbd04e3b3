package fence

import (
	"os"
	"path/filepath"
	"slices"
)

// CgroupDirs lists the directories of the cgroup rel (a path such as
// kennel/<node>/<pod uid>) under the cgroup root (normally
// /sys/fs/cgroup): on cgroup v2 root/rel, on v1 root/<hierarchy>/rel for
// every mounted hierarchy that has it, each hierarchy once though a joint
// mount has several names (cpu, cpu,cpuacct). Directories that do not
// exist are left out.
func CgroupDirs(root, rel string) []string {
	if isFile(filepath.Join(root, "cgroup.controllers")) {
		if d := filepath.Join(root, rel); isDir(d) {
			return []string{d}
		}
		return nil
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	var dirs []string
	var seen []os.FileInfo
	for _, e := range entries {
		d := filepath.Join(root, e.Name(), rel)
		fi, err := os.Stat(d)
		if err != nil || !fi.IsDir() || slices.ContainsFunc(seen, func(s os.FileInfo) bool { return os.SameFile(s, fi) }) {
			continue
		}
		seen = append(seen, fi)
		dirs = append(dirs, d)
	}
	return dirs
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

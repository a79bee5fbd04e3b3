package fence

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// killer kills the processes of one fenced pod.
type killer struct {
	file     File
	self     int // this process: never killed
	selfPgrp int // this process's group: never killed
	procRoot string
	killed   map[int]bool // pids sent SIGKILL
	errs     []error      // kills refused other than for a gone process
}

func newKiller(f File) *killer {
	return &killer{file: f, self: os.Getpid(), selfPgrp: unix.Getpgrp(), procRoot: "/proc", killed: map[int]bool{}}
}

// round sends SIGKILL to every process of the pod found now.
func (k *killer) round() {
	for _, dir := range k.file.Cgroups {
		members := k.cgroupMembers(dir)
		if path := filepath.Join(dir, "cgroup.kill"); isFile(path) {
			// cgroup v2: the kernel kills the whole group at once, forks
			// racing with it included.
			for _, pid := range members {
				k.killed[pid] = true
			}
			if err := os.WriteFile(path, []byte("1"), 0); err != nil && !errors.Is(err, os.ErrNotExist) {
				k.fail(fmt.Errorf("fence: %w", err))
			}
			continue
		}
		for _, pid := range members {
			k.signal(pid, pid)
		}
	}
	if len(k.file.PGIDs) == 0 {
		return
	}
	groups := k.groups()
	for _, pid := range k.groupMembers(groups) {
		k.killed[pid] = true
	}
	for _, pgid := range groups {
		k.signal(-pgid, pgid)
	}
}

// groups are the pod's process groups that are still its own (see
// File.PGIDStarts), never this process's.
func (k *killer) groups() []int {
	var out []int
	for i, pgid := range k.file.PGIDs {
		if pgid <= 1 || pgid == k.selfPgrp {
			continue
		}
		if len(k.file.PGIDStarts) == len(k.file.PGIDs) {
			if st, ok := k.stat(pgid); ok && st.start != k.file.PGIDStarts[i] {
				continue // the id names another process now
			}
		}
		out = append(out, pgid)
	}
	return out
}

// signal sends SIGKILL to pid (a process group when negative).
func (k *killer) signal(pid, id int) {
	err := unix.Kill(pid, unix.SIGKILL)
	if pid > 0 && err == nil {
		k.killed[pid] = true
	}
	if err != nil && !errors.Is(err, unix.ESRCH) {
		what := "pid"
		if pid < 0 {
			what = "process group"
		}
		k.fail(fmt.Errorf("fence: kill %s %d: %w", what, id, err))
	}
}

// fail keeps an error once.
func (k *killer) fail(err error) {
	if !slices.ContainsFunc(k.errs, func(e error) bool { return e.Error() == err.Error() }) {
		k.errs = append(k.errs, err)
	}
}

// alive counts the pod's processes that have not exited.
func (k *killer) alive() int {
	pids := map[int]bool{}
	for _, dir := range k.file.Cgroups {
		for _, pid := range k.cgroupMembers(dir) {
			pids[pid] = true
		}
	}
	if len(k.file.PGIDs) > 0 {
		for _, pid := range k.groupMembers(k.groups()) {
			pids[pid] = true
		}
	}
	return len(pids)
}

// cgroupMembers lists the live processes of the cgroup dir. On cgroup v1
// cgroup.procs lists a process when any one of its threads is in the
// group, and a node agent moves one thread of its own into a pod's group
// for an instant to fork a container there; so a process counts only when
// its main thread is in the group (dir's last element, the pod's UID, is
// in the path /proc/<pid>/cgroup gives).
func (k *killer) cgroupMembers(dir string) []int {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil // gone with its processes, or never made
	}
	name := filepath.Base(dir)
	var out []int
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil || pid == k.self {
			continue
		}
		if st, ok := k.stat(pid); ok && st.live() && k.inGroup(pid, name) {
			out = append(out, pid)
		}
	}
	return out
}

// inGroup reports whether pid's main thread is in a cgroup named name, in
// any hierarchy.
func (k *killer) inGroup(pid int, name string) bool {
	b, err := os.ReadFile(filepath.Join(k.procRoot, strconv.Itoa(pid), "cgroup"))
	if err != nil {
		return false
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 && slices.Contains(strings.Split(parts[2], "/"), name) {
			return true
		}
	}
	return false
}

// groupMembers lists the live processes in groups (the pod's, from
// groups()).
func (k *killer) groupMembers(groups []int) []int {
	entries, err := os.ReadDir(k.procRoot)
	if err != nil {
		k.fail(fmt.Errorf("fence: %w", err))
		return nil
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == k.self {
			continue
		}
		if st, ok := k.stat(pid); ok && st.live() && slices.Contains(groups, st.pgrp) {
			out = append(out, pid)
		}
	}
	return out
}

// procStat is what the watchdog reads of a process in /proc/<pid>/stat.
type procStat struct {
	state byte // 'Z' zombie, 'X' dead
	pgrp  int
	start uint64 // clock ticks after boot
}

func (s procStat) live() bool { return s.state != 'Z' && s.state != 'X' }

// stat reads /proc/<pid>/stat.
func (k *killer) stat(pid int) (procStat, bool) { return readStat(k.procRoot, pid) }

// readStat reads procRoot/<pid>/stat. The command name (field 2) is in
// parentheses and may hold spaces and parentheses, so fields are counted
// from the last ')'.
func readStat(procRoot string, pid int) (procStat, bool) {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return procStat{}, false
	}
	fields := bytes.Fields(b[i+2:]) // state (field 3), ppid, pgrp, … starttime (22)
	if len(fields) < 20 || len(fields[0]) != 1 {
		return procStat{}, false
	}
	pgrp, err1 := strconv.Atoi(string(fields[2]))
	start, err2 := strconv.ParseUint(string(fields[19]), 10, 64)
	if err1 != nil || err2 != nil {
		return procStat{}, false
	}
	return procStat{state: fields[0][0], pgrp: pgrp, start: start}, true
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

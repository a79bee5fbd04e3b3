package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Group is one container's cgroup: one directory on v2, one per hierarchy
// on v1. Its methods are safe for concurrent use; they keep no state
// besides paths.
type Group struct {
	name string
	mode Mode
	// v2dir is the group's directory on v2.
	v2dir string
	// v1dirs maps each mounted v1 controller to the group's directory in
	// its hierarchy; v1all lists those directories once each (a joint
	// mount serves several controllers).
	v1dirs map[string]string
	v1all  []string
	// v1mounts maps each v1 controller to its hierarchy's mount.
	v1mounts map[string]string
}

// Stats is a group's resource usage.
type Stats struct {
	// CPUUsage is the CPU time consumed by the group's processes.
	CPUUsage time.Duration
	// MemoryUsage is the memory charged to the group, page cache included.
	MemoryUsage uint64
	// OOMKills counts processes the kernel killed because the group hit
	// its memory limit.
	OOMKills uint64
	// Pids is the number of processes and threads in the group.
	Pids uint64
	// CPUPeriods counts the enforcement periods that have elapsed while
	// the group had a CPU limit and runnable processes; CPUThrottledPeriods
	// those in which it used its whole quota and was held back (cpu.stat
	// nr_periods and nr_throttled, in both versions; 0 where absent).
	CPUPeriods, CPUThrottledPeriods uint64
}

// Name is the group's name under its Manager's parent.
func (g *Group) Name() string { return g.name }

// Dir is the group's v2 directory, to pass as SysProcAttr.UseCgroupFD so a
// child starts inside the group; on v1 it is the group's directory in the
// cpu hierarchy.
func (g *Group) Dir() string {
	if g.mode == ModeV2 {
		return g.v2dir
	}
	return g.v1dirs["cpu"]
}

// dirs lists every directory of the group.
func (g *Group) dirs() []string {
	if g.mode == ModeV2 {
		return []string{g.v2dir}
	}
	return g.v1all
}

// Update applies r, which replaces the group's previous resources whole.
func (g *Group) Update(r Resources) error {
	if err := r.validate(); err != nil {
		return err
	}
	settings := v1Settings(r)
	if g.mode == ModeV2 {
		settings = v2Settings(r)
	}
	for _, s := range settings {
		if err := g.apply(s); err != nil {
			return err
		}
	}
	if g.mode == ModeV2 {
		return applyIOV2(g.v2dir, r.IO)
	}
	return applyIOV1(g.v1dirs["blkio"], r.IO)
}

func (g *Group) apply(s setting) error {
	dir := g.v2dir
	if g.mode == ModeV1 {
		dir = g.v1dirs[s.ctrl]
	}
	if dir == "" {
		if s.optional {
			return nil
		}
		return fmt.Errorf("cgroups: %s needs the v1 %s controller, which is not mounted", s.file, s.ctrl)
	}
	path := filepath.Join(dir, s.file)
	if s.optional && !isFile(path) {
		return nil
	}
	return writeFile(path, s.value)
}

// Join moves the process pid, with all its threads, into the group (every
// hierarchy on v1). Children it forks afterwards start in the group.
func (g *Group) Join(pid int) error {
	for _, dir := range g.dirs() {
		if err := writeFile(filepath.Join(dir, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

// JoinThread moves one thread (by its tid) of this process into the
// group, on cgroup v1, where membership is per thread: a process forked
// from that thread is born in the group. It returns a function that moves
// the thread back where it was. cgroup v2 groups hold whole processes;
// there a child is cloned straight into the group (Dir with
// SysProcAttr.UseCgroupFD).
func (g *Group) JoinThread(tid int) (restore func() error, err error) {
	if g.mode == ModeV2 {
		return nil, fmt.Errorf("cgroups: group %s: threads join v2 groups only at clone time", g.name)
	}
	back, err := g.threadPlaces(tid)
	if err != nil {
		return nil, err
	}
	restore = func() error {
		for _, tasks := range back {
			if err := writeFile(tasks, strconv.Itoa(tid)); err != nil {
				return err
			}
		}
		return nil
	}
	for _, dir := range g.dirs() {
		if err := writeFile(filepath.Join(dir, "tasks"), strconv.Itoa(tid)); err != nil {
			_ = restore()
			return nil, err
		}
	}
	return restore, nil
}

// threadPlaces lists the tasks files of the groups the thread is in now,
// in the hierarchies this group spans.
func (g *Group) threadPlaces(tid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/cgroup", tid))
	if err != nil {
		return nil, fmt.Errorf("cgroups: read the cgroups of thread %d: %w", tid, err)
	}
	var out []string
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if mount, ok := g.v1mounts[c]; ok && !seen[mount] {
				seen[mount] = true
				out = append(out, filepath.Join(mount, parts[2], "tasks"))
			}
		}
	}
	return out, nil
}

// Mode is the cgroup mode of the group.
func (g *Group) Mode() Mode { return g.mode }

// Procs lists the processes in the group (read from the memory hierarchy
// on v1, which every v1 group has).
func (g *Group) Procs() ([]int, error) {
	if g.mode == ModeV2 {
		return readPids(filepath.Join(g.v2dir, "cgroup.procs"))
	}
	return readPids(filepath.Join(g.v1dirs["memory"], "cgroup.procs"))
}

// Stats reads the group's usage counters.
func (g *Group) Stats() (Stats, error) {
	if g.mode == ModeV2 {
		return g.statsV2()
	}
	return g.statsV1()
}

func (g *Group) statsV1() (Stats, error) {
	var st Stats
	acct := g.v1dirs["cpuacct"]
	if acct == "" {
		return st, errors.New("cgroups: cpu usage needs the v1 cpuacct controller, which is not mounted")
	}
	ns, err := readUint(filepath.Join(acct, "cpuacct.usage"))
	if err != nil {
		return st, err
	}
	st.CPUUsage = time.Duration(ns)
	if stat := filepath.Join(g.v1dirs["cpu"], "cpu.stat"); g.v1dirs["cpu"] != "" && isFile(stat) {
		err := readKeys(stat, map[string]*uint64{"nr_periods": &st.CPUPeriods, "nr_throttled": &st.CPUThrottledPeriods})
		if err != nil {
			return st, err
		}
	}
	mem := g.v1dirs["memory"]
	if st.MemoryUsage, err = readUint(filepath.Join(mem, "memory.usage_in_bytes")); err != nil {
		return st, err
	}
	if st.OOMKills, err = readKey(filepath.Join(mem, "memory.oom_control"), "oom_kill"); err != nil {
		return st, err
	}
	st.Pids, err = g.pidCount(g.v1dirs["pids"])
	return st, err
}

func (g *Group) statsV2() (Stats, error) {
	var st Stats
	var us uint64
	err := readKeys(filepath.Join(g.v2dir, "cpu.stat"),
		map[string]*uint64{"usage_usec": &us, "nr_periods": &st.CPUPeriods, "nr_throttled": &st.CPUThrottledPeriods})
	if err != nil {
		return st, err
	}
	st.CPUUsage = time.Duration(us) * time.Microsecond
	if st.MemoryUsage, err = readUint(filepath.Join(g.v2dir, "memory.current")); err != nil {
		return st, err
	}
	if st.OOMKills, err = readKey(filepath.Join(g.v2dir, "memory.events"), "oom_kill"); err != nil {
		return st, err
	}
	st.Pids, err = g.pidCount(g.v2dir)
	return st, err
}

// pidCount reads pids.current in dir, or counts the group's processes where
// the pids controller is absent.
func (g *Group) pidCount(dir string) (uint64, error) {
	if dir != "" && isFile(filepath.Join(dir, "pids.current")) {
		return readUint(filepath.Join(dir, "pids.current"))
	}
	procs, err := g.Procs()
	return uint64(len(procs)), err
}

// Kill sends SIGKILL to every process in the group and returns without
// waiting for them to exit. On v2 kernels with cgroup.kill the kernel does
// it atomically; elsewhere the processes are killed in a few passes, so a
// process forked while a pass runs is caught by the next one.
func (g *Group) Kill() error {
	if g.mode == ModeV2 {
		if path := filepath.Join(g.v2dir, "cgroup.kill"); isFile(path) {
			return writeFile(path, "1")
		}
	}
	const passes = 3
	for range passes {
		procs, err := g.Procs()
		if err != nil {
			return err
		}
		if len(procs) == 0 {
			return nil
		}
		for _, pid := range procs {
			if pid == os.Getpid() {
				// A thread of ours visits a group to fork a child into it;
				// it leaves at once, and we are not the group's to kill.
				continue
			}
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				return fmt.Errorf("cgroups: kill pid %d of group %s: %w", pid, g.name, err)
			}
		}
	}
	return nil
}

// Delete removes the group from every hierarchy. A group whose processes
// are still exiting cannot be removed (EBUSY), so Delete retries for up to
// deleteTimeout; a group that does not exist is not an error.
func (g *Group) Delete() error {
	for _, dir := range g.dirs() {
		if err := removeDir(dir); err != nil {
			return fmt.Errorf("cgroups: delete group %s: %w", g.name, err)
		}
	}
	return nil
}

// deleteTimeout bounds how long Delete waits for exiting processes.
const deleteTimeout = 2 * time.Second

func removeDir(dir string) error {
	deadline := time.Now().Add(deleteTimeout)
	wait := time.Millisecond
	for {
		err := unix.Rmdir(dir)
		switch {
		case err == nil, errors.Is(err, fs.ErrNotExist):
			return nil
		case !errors.Is(err, unix.EBUSY) || time.Now().After(deadline):
			return fmt.Errorf("rmdir %s: %w", dir, err)
		}
		// Processes that were killed leave the group only once reaped.
		time.Sleep(wait)
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// Package cgroups confines a container's processes with Linux control
// groups: CPU quota and weight, a memory limit, a process-count limit and
// per-device I/O throttling. It speaks both cgroup versions by writing the
// cgroupfs files directly, so it needs no library and no daemon.
//
// # cgroup v1 and v2
//
// On cgroup v1 every controller is a separate hierarchy, mounted at
// <root>/<controller> (cpu and cpuacct are often one joint mount,
// "cpu,cpuacct", with symlinks under the single names). A group therefore
// exists once per controller — <root>/cpu/<parent>/<name>,
// <root>/memory/<parent>/<name>, … — and a process joins it by being written
// into cgroup.procs of each. Limits are spelled per controller:
// cpu.cfs_quota_us and cpu.shares, memory.limit_in_bytes,
// pids.max, blkio.throttle.*_device.
//
// On cgroup v2 there is one hierarchy, detected by the presence of
// <root>/cgroup.controllers. A group is one directory <root>/<parent>/<name>;
// a controller is usable in it only when every ancestor lists it in
// cgroup.subtree_control, which Manager.Create arranges. Limits are cpu.max,
// cpu.weight, memory.max (with memory.swap.max set to 0), pids.max and
// io.max. Group.Dir is the directory to hand to
// syscall.SysProcAttr.UseCgroupFD so a child starts inside its group.
//
// Hybrid machines mount v1 controllers at <root>/<controller> and a v2
// hierarchy without controllers at <root>/unified; Detect reports them as
// v1, which is what they are for every controller this package uses.
//
// # I/O throttling caveat
//
// v1 blkio throttling sees only I/O the cgroup issues directly to the
// device: reads and O_DIRECT writes. Buffered writes are flushed later by
// kernel writeback threads that belong to no container, so v1 does not
// throttle them. cgroup v2 attributes writeback to the cgroup that dirtied
// the pages, so io.max throttles buffered writes too. Volume QoS that must
// bound buffered writes therefore needs cgroup v2.
//
// # Defaults
//
// Resources is the complete desired state of a group: a zero field writes
// the kernel's "no limit" or default value, so Group.Update can lift a limit
// as well as set one. CPU quotas use a 100 ms period and are at least 1 ms,
// the kernel's minimum.
package cgroups

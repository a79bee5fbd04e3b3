package process

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/kennel-dev/kennel/internal/cgroups"
	"golang.org/x/sys/unix"
)

// birthplace is where a child process must be born: in new namespaces
// (a hostname and bind mounts) or in those of a running process, and in a
// pod's cgroup.
type birthplace struct {
	// newNS gives the child new UTS and mount namespaces with hostname
	// set and binds mounted.
	newNS    bool
	hostname string
	binds    []bind
	// enterPid makes the child join that process's UTS and mount
	// namespaces instead (exec).
	enterPid int
	group    *cgroups.Group
}

// start starts cmd where b says, with no window in which the child runs
// anywhere else. Namespaces and (on cgroup v1) cgroup membership belong to
// threads, and a child inherits them from the thread that forks it; so a
// locked OS thread of our own, never the main thread, is moved first —
// new namespaces unshared and set up, or a process's entered; the thread
// moved into the pod's cgroup — and forks the child; the thread then ends
// (cgroups.OnSpareThread). On cgroup v2 the child is cloned straight into
// the group (CLONE_INTO_CGROUP).
func start(cmd *exec.Cmd, b birthplace) error {
	if !b.newNS && b.enterPid == 0 && b.group == nil {
		return cmd.Start()
	}
	var err error
	cgroups.OnSpareThread(func() { err = startOnThisThread(cmd, b) })
	return err
}

func startOnThisThread(cmd *exec.Cmd, b birthplace) error {
	switch {
	case b.newNS:
		if err := unix.Unshare(unix.CLONE_FS | unix.CLONE_NEWNS | unix.CLONE_NEWUTS); err != nil {
			return fmt.Errorf("new namespaces: %w", err)
		}
		if err := unix.Sethostname([]byte(b.hostname)); err != nil {
			return fmt.Errorf("set hostname: %w", err)
		}
		// Mounts made here must not propagate back to the host.
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			return fmt.Errorf("make mounts private: %w", err)
		}
		for _, m := range b.binds {
			if err := mountBind(m); err != nil {
				return err
			}
		}
	case b.enterPid > 0:
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			return fmt.Errorf("unshare fs: %w", err)
		}
		for _, ns := range []struct {
			name string
			flag int
		}{{"uts", unix.CLONE_NEWUTS}, {"mnt", unix.CLONE_NEWNS}} {
			if err := setns(b.enterPid, ns.name, ns.flag); err != nil {
				return err
			}
		}
	}
	if b.group != nil {
		if b.group.Mode() == cgroups.ModeV2 {
			dir, err := os.Open(b.group.Dir())
			if err != nil {
				return fmt.Errorf("pod cgroup: %w", err)
			}
			defer dir.Close()
			if cmd.SysProcAttr == nil {
				cmd.SysProcAttr = &syscall.SysProcAttr{}
			}
			cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, int(dir.Fd())
		} else {
			if _, err := b.group.JoinThread(unix.Gettid()); err != nil {
				return fmt.Errorf("join the pod cgroup: %w", err)
			}
		}
	}
	return cmd.Start()
}

func setns(pid int, name string, flag int) error {
	f, err := os.Open(fmt.Sprintf("/proc/%d/ns/%s", pid, name))
	if err != nil {
		return fmt.Errorf("enter %s namespace: %w", name, err)
	}
	defer f.Close()
	if err := unix.Setns(int(f.Fd()), flag); err != nil {
		return fmt.Errorf("enter %s namespace of pid %d: %w", name, pid, err)
	}
	return nil
}

// bind is a file or directory mounted over another in a pod's mount
// namespace.
type bind struct {
	Source   string
	Target   string
	ReadOnly bool
	// Dir: the target is a directory, made (with its parents) when
	// missing. The mount namespace shares the node's filesystems, so a
	// made directory stays on the node, empty.
	Dir bool
}

func mountBind(m bind) error {
	if m.Dir {
		if err := os.MkdirAll(m.Target, 0o755); err != nil {
			return fmt.Errorf("mount point %s: %w", m.Target, err)
		}
	}
	if err := unix.Mount(m.Source, m.Target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s over %s: %w", m.Source, m.Target, err)
	}
	if m.ReadOnly {
		if err := unix.Mount("", m.Target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("make %s read-only: %w", m.Target, err)
		}
	}
	return nil
}

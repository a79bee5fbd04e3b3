package cgroups

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tests in this file run against the machine's real cgroups, once per
// version; the version the machine lacks is skipped.

func forEachMode(t *testing.T, test func(t *testing.T, m *Manager)) {
	for _, mode := range []Mode{ModeV1, ModeV2} {
		t.Run(mode.String(), func(t *testing.T) { test(t, realManager(t, sysRoot, mode)) })
	}
}

// TestRealCPULimit measures a group limited to half a CPU while it tries to
// use two, over a 2 s window, and judges the limit with CheckCPULimit (a
// loaded machine, as CI's with test packages side by side, may give the
// group less than its limit; that is not the limit's doing).
func TestRealCPULimit(t *testing.T) {
	forEachMode(t, func(t *testing.T, m *Manager) {
		g, err := m.Create("burn", Resources{CPULimitMillis: 500})
		if err != nil {
			t.Fatal(err)
		}
		h := startHelper(t, "burn")
		if err := g.Join(h.cmd.Process.Pid); err != nil {
			t.Fatal(err)
		}
		stats := func() Stats {
			st, err := g.Stats()
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		waitFor(t, 10*time.Second, "the group to use CPU", func() bool { return stats().CPUUsage > 100*time.Millisecond })

		const window = 2 * time.Second
		first, t0 := stats(), time.Now()
		waitFor(t, 2*window, "the measurement window", func() bool { return time.Since(t0) >= window })
		last, elapsed := stats(), time.Since(t0)
		cpus, err := CheckCPULimit(first, last, elapsed, 500)
		t.Logf("used %.3f CPU in %v; throttled in %d of %d periods", cpus, elapsed,
			last.CPUThrottledPeriods-first.CPUThrottledPeriods, last.CPUPeriods-first.CPUPeriods)
		if err != nil {
			t.Error(err)
		}
	})
}

// TestRealMemoryLimit runs a process that touches 100 MiB in a group limited
// to 32 MiB: the kernel must kill it and count the kill.
func TestRealMemoryLimit(t *testing.T) {
	forEachMode(t, func(t *testing.T, m *Manager) {
		const limit = 32 << 20
		g, err := m.Create("alloc", Resources{MemoryLimitBytes: limit})
		if err != nil {
			t.Fatal(err)
		}
		h := startHelper(t, "alloc")
		if err := g.Join(h.cmd.Process.Pid); err != nil {
			t.Fatal(err)
		}
		if _, err := h.stdin.Write([]byte("go\n")); err != nil {
			t.Fatal(err)
		}
		if err := h.waitExit(t, 30*time.Second); !killedBy(err, syscall.SIGKILL) {
			t.Fatalf("process allocating 100 MiB under a 32 MiB limit: wait = %v, want killed by SIGKILL", err)
		}
		st, err := g.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if st.OOMKills < 1 {
			t.Errorf("Stats().OOMKills = %d, want >= 1", st.OOMKills)
		}
	})
}

// TestRealLifecycle creates a group, checks the kernel took its limits,
// puts a process in it, adopts it through a second Manager, kills it and
// deletes the group.
func TestRealLifecycle(t *testing.T) {
	forEachMode(t, func(t *testing.T, m *Manager) {
		r := Resources{CPURequestMillis: 250, PidsLimit: 64}
		dev := blockDevice()
		if dev != "" {
			r.IO = []IOLimit{{Device: dev, ReadIOPS: 1000, WriteBPS: 10 << 20}}
		}
		g, err := m.Create("life", r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Create("life", r); err != nil {
			t.Fatalf("second Create: %v", err)
		}
		checkKernelValues(t, g, dev)

		h := startHelper(t, "idle")
		pid := h.cmd.Process.Pid
		if err := g.Join(pid); err != nil {
			t.Fatal(err)
		}
		// A restarted agent finds the group with a fresh Manager.
		m2, err := NewManager(sysRoot, m.Mode(), m.parent)
		if err != nil {
			t.Fatal(err)
		}
		if names, err := m2.List(); err != nil || !slices.Equal(names, []string{"life"}) {
			t.Fatalf("List() = %v, %v; want [life]", names, err)
		}
		adopted, err := m2.Open("life")
		if err != nil {
			t.Fatal(err)
		}
		if procs, err := adopted.Procs(); err != nil || !slices.Contains(procs, pid) {
			t.Fatalf("Procs() = %v, %v; want it to hold %d", procs, err, pid)
		}
		if st, err := adopted.Stats(); err != nil || st.Pids < 1 {
			t.Fatalf("Stats() = %+v, %v; want Pids >= 1", st, err)
		}

		if err := adopted.Kill(); err != nil {
			t.Fatal(err)
		}
		if err := h.waitExit(t, 10*time.Second); !killedBy(err, syscall.SIGKILL) {
			t.Fatalf("after Kill: wait = %v, want killed by SIGKILL", err)
		}
		if err := adopted.Delete(); err != nil {
			t.Fatal(err)
		}
		for _, dir := range g.dirs() {
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("after Delete, %s: %v; want it gone", dir, err)
			}
		}
		if _, err := m.Open("life"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open after Delete = %v, want fs.ErrNotExist", err)
		}
	})
}

// checkKernelValues reads back what the kernel holds for the lifecycle
// test's resources.
func checkKernelValues(t *testing.T, g *Group, dev string) {
	t.Helper()
	want := map[string]string{"pids.max": "64", "cpu.weight": "10"}
	if g.mode == ModeV1 {
		want = map[string]string{"pids.max": "64", "cpu.shares": "256"}
		if dev != "" {
			want["blkio.throttle.read_iops_device"] = dev + " 1000"
			want["blkio.throttle.write_bps_device"] = dev + " 10485760"
		}
	}
	for file, w := range want {
		dir := g.v2dir
		if g.mode == ModeV1 {
			dir = g.v1dirs[strings.Split(file, ".")[0]]
		}
		if got, err := readFile(filepath.Join(dir, file)); err != nil || got != w {
			t.Errorf("%s = %q, %v; want %q", file, got, err, w)
		}
	}
	if g.mode == ModeV2 && dev != "" {
		got, err := readFile(filepath.Join(g.v2dir, "io.max"))
		if w := dev + " rbps=max wbps=10485760 riops=1000 wiops=max"; err != nil || got != w {
			t.Errorf("io.max = %q, %v; want %q", got, err, w)
		}
	}
}

// blockDevice is the major:minor of the machine's first disk (not a loop,
// zram or ram device), or "" when it has none.
func blockDevice() string {
	entries, _ := os.ReadDir("/sys/block")
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "loop") || strings.HasPrefix(name, "zram") || strings.HasPrefix(name, "ram") {
			continue
		}
		if dev, err := readFile(filepath.Join("/sys/block", name, "dev")); err == nil {
			return dev
		}
	}
	return ""
}

// TestRealV2WithoutControllers drives a real cgroup2 hierarchy that
// delegates no controller this package limits with — the "unified" mount of
// a hybrid v1 machine — to check what needs no controller: creating the
// group, joining, cgroup.kill, deleting; and that a limit whose controller
// is missing is an error naming its file.
func TestRealV2WithoutControllers(t *testing.T) {
	const root = sysRoot + "/unified"
	m := realManager(t, root, ModeV2)
	g, err := m.Create("bare", Resources{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create("bare", Resources{PidsLimit: 5}); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "pids.max") {
		t.Errorf("pids limit without the pids controller: err = %v, want fs.ErrNotExist naming pids.max", err)
	}
	h := startHelper(t, "idle")
	if err := g.Join(h.cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if procs, err := g.Procs(); err != nil || !slices.Equal(procs, []int{h.cmd.Process.Pid}) {
		t.Fatalf("Procs() = %v, %v; want [%d]", procs, err, h.cmd.Process.Pid)
	}
	if err := g.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := h.waitExit(t, 10*time.Second); !killedBy(err, syscall.SIGKILL) {
		t.Fatalf("after Kill: wait = %v, want killed by SIGKILL", err)
	}
	if err := g.Delete(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(g.Dir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after Delete, %s: %v; want it gone", g.Dir(), err)
	}
}

// TestRealRemoveParent: a node's parent group goes once it holds no
// groups, and stays while one is left.
func TestRealRemoveParent(t *testing.T) {
	forEachMode(t, func(t *testing.T, m *Manager) {
		g, err := m.Create("pod-a", Resources{})
		if err != nil {
			t.Fatal(err)
		}
		if removed, err := m.RemoveParent(); err != nil || removed {
			t.Fatalf("with a group left: removed %v, %v", removed, err)
		}
		if err := g.Delete(); err != nil {
			t.Fatal(err)
		}
		if removed, err := m.RemoveParent(); err != nil || !removed {
			t.Fatalf("empty: removed %v, %v", removed, err)
		}
		for _, d := range m.v1MountDirs() {
			if _, err := os.Stat(filepath.Join(d, m.parent)); !os.IsNotExist(err) {
				t.Fatalf("%s still there: %v", filepath.Join(d, m.parent), err)
			}
		}
	})
}

package cgroups

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeTree builds a fake cgroupfs under a temporary root: each key of files
// is a directory relative to the root, created with the listed files
// holding the given contents. Like cgroupfs, the package writes only to
// files that already exist.
func fakeTree(t *testing.T, files map[string]map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for dir, contents := range files {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		for name, content := range contents {
			if err := os.WriteFile(filepath.Join(root, dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

// v1Files are the files of a v1 group, per controller.
func v1Files() map[string]map[string]string {
	return map[string]map[string]string{
		"cpu":     {"cgroup.procs": "", "cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "-1", "cpu.shares": "1024"},
		"cpuacct": {"cgroup.procs": "", "cpuacct.usage": "0"},
		"memory": {"cgroup.procs": "", "memory.limit_in_bytes": "9223372036854771712",
			"memory.memsw.limit_in_bytes": "9223372036854771712", "memory.usage_in_bytes": "0",
			"memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n"},
		"pids": {"cgroup.procs": "", "pids.max": "max", "pids.current": "0"},
		"blkio": {"cgroup.procs": "", "blkio.throttle.read_iops_device": "", "blkio.throttle.write_iops_device": "",
			"blkio.throttle.read_bps_device": "", "blkio.throttle.write_bps_device": ""},
	}
}

// fakeV1 is a v1 tree with group parent/name in every hierarchy; mount
// renames hierarchies (a joint "cpu,cpuacct" mount) and drops those mapped
// to "".
func fakeV1(t *testing.T, group string, mount map[string]string) string {
	t.Helper()
	tree := make(map[string]map[string]string)
	for ctrl, files := range v1Files() {
		dir, ok := mount[ctrl]
		if !ok {
			dir = ctrl
		}
		if dir == "" {
			continue
		}
		if tree[filepath.Join(dir, group)] == nil {
			tree[filepath.Join(dir, group)] = make(map[string]string)
		}
		for name, content := range files {
			tree[filepath.Join(dir, group)][name] = content
		}
	}
	return fakeTree(t, tree)
}

// fakeV2 is a v2 tree for group "kennel/node-1/<name>": the root offers all
// controllers and already enables cpu; kennel offers only memory and io.
func fakeV2(t *testing.T, name string) string {
	t.Helper()
	group := map[string]string{
		"cgroup.procs": "", "cgroup.controllers": "cpu io memory pids",
		"cpu.max": "max 100000", "cpu.weight": "100", "cpu.stat": "usage_usec 0\n",
		"memory.max": "max", "memory.swap.max": "max", "memory.current": "0",
		"pids.max": "max", "pids.current": "0", "io.max": "",
		"memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n",
	}
	return fakeTree(t, map[string]map[string]string{
		".":                     {"cgroup.controllers": "cpu io memory pids", "cgroup.subtree_control": "cpu"},
		"kennel":                {"cgroup.controllers": "memory io", "cgroup.subtree_control": ""},
		"kennel/node-1":         {"cgroup.controllers": "cpu io memory pids", "cgroup.subtree_control": "cpu io memory pids"},
		"kennel/node-1/" + name: group,
	})
}

// assertFiles checks the content of files relative to dir.
func assertFiles(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	for name, w := range want {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := string(b); got != w {
			t.Errorf("%s = %q, want %q", name, got, w)
		}
	}
}

func newManager(t *testing.T, root string, mode Mode) *Manager {
	t.Helper()
	if got := Detect(root); got != mode {
		t.Fatalf("Detect(fake tree) = %v, want %v", got, mode)
	}
	m, err := NewManager(root, mode, "kennel/node-1")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func fullResources() Resources {
	return Resources{
		CPULimitMillis: 500, CPURequestMillis: 250, MemoryLimitBytes: 64 << 20, PidsLimit: 100,
		IO: []IOLimit{{Device: "254:0", ReadIOPS: 100, WriteIOPS: 200, ReadBPS: 1 << 20}},
	}
}

func TestV1Writes(t *testing.T) {
	root := fakeV1(t, "kennel/node-1/web", nil)
	g, err := newManager(t, root, ModeV1).Create("web", fullResources())
	if err != nil {
		t.Fatal(err)
	}
	group := func(ctrl string) string { return filepath.Join(root, ctrl, "kennel/node-1/web") }
	assertFiles(t, group("cpu"), map[string]string{"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "50000", "cpu.shares": "256"})
	assertFiles(t, group("memory"), map[string]string{"memory.limit_in_bytes": "67108864", "memory.memsw.limit_in_bytes": "67108864"})
	assertFiles(t, group("pids"), map[string]string{"pids.max": "100"})
	assertFiles(t, group("blkio"), map[string]string{
		"blkio.throttle.read_iops_device": "254:0 100", "blkio.throttle.write_iops_device": "254:0 200",
		"blkio.throttle.read_bps_device": "254:0 1048576", "blkio.throttle.write_bps_device": "",
	})
	if g.Dir() != group("cpu") {
		t.Errorf("Dir() = %s, want the cpu hierarchy's %s", g.Dir(), group("cpu"))
	}

	// Zero resources lift every limit; a throttled device gets rate 0.
	if err := g.Update(Resources{}); err != nil {
		t.Fatal(err)
	}
	assertFiles(t, group("cpu"), map[string]string{"cpu.cfs_quota_us": "-1", "cpu.shares": "1024"})
	assertFiles(t, group("memory"), map[string]string{"memory.limit_in_bytes": "-1", "memory.memsw.limit_in_bytes": "-1"})
	assertFiles(t, group("pids"), map[string]string{"pids.max": "max"})
	assertFiles(t, group("blkio"), map[string]string{"blkio.throttle.read_iops_device": "254:0 0"})
}

func TestV1JointMount(t *testing.T) {
	root := fakeV1(t, "kennel/node-1/db", map[string]string{"cpu": "cpu,cpuacct", "cpuacct": "cpu,cpuacct", "blkio": ""})
	m := newManager(t, root, ModeV1)
	g, err := m.Create("db", Resources{CPULimitMillis: 2000})
	if err != nil {
		t.Fatal(err)
	}
	joint := filepath.Join(root, "cpu,cpuacct", "kennel/node-1/db")
	assertFiles(t, joint, map[string]string{"cpu.cfs_quota_us": "200000"})
	if g.Dir() != joint {
		t.Errorf("Dir() = %s, want %s", g.Dir(), joint)
	}
	if err := g.Join(4242); err != nil {
		t.Fatal(err)
	}
	for _, ctrl := range []string{"cpu,cpuacct", "memory", "pids"} {
		assertFiles(t, filepath.Join(root, ctrl, "kennel/node-1/db"), map[string]string{"cgroup.procs": "4242"})
	}
	if got := len(g.dirs()); got != 3 {
		t.Errorf("group has %d directories, want 3 (one per mounted hierarchy): %v", got, g.dirs())
	}
	// blkio is not mounted: lifting I/O limits is a no-op, setting them fails.
	err = g.Update(Resources{IO: []IOLimit{{Device: "8:0", ReadIOPS: 1}}})
	if err == nil || !strings.Contains(err.Error(), "blkio") {
		t.Errorf("io limit without blkio: err = %v, want one naming blkio", err)
	}
}

func TestV2Writes(t *testing.T) {
	root := fakeV2(t, "web")
	g, err := newManager(t, root, ModeV2).Create("web", fullResources())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "kennel/node-1/web")
	assertFiles(t, dir, map[string]string{
		"cpu.max": "50000 100000", "cpu.weight": "10", "memory.max": "67108864", "memory.swap.max": "0",
		"pids.max": "100", "io.max": "254:0 riops=100 wiops=200 rbps=1048576 wbps=max",
	})
	// Only controllers an ancestor has and does not yet delegate are
	// enabled, one write each.
	assertFiles(t, root, map[string]string{"cgroup.subtree_control": "+io"})
	assertFiles(t, filepath.Join(root, "kennel"), map[string]string{"cgroup.subtree_control": "+io"})
	assertFiles(t, filepath.Join(root, "kennel/node-1"), map[string]string{"cgroup.subtree_control": "cpu io memory pids"})
	if g.Dir() != dir {
		t.Errorf("Dir() = %s, want %s", g.Dir(), dir)
	}

	if err := g.Update(Resources{}); err != nil {
		t.Fatal(err)
	}
	assertFiles(t, dir, map[string]string{
		"cpu.max": "max 100000", "cpu.weight": "100", "memory.max": "max", "memory.swap.max": "max",
		"pids.max": "max", "io.max": "254:0 rbps=max wbps=max riops=max wiops=max",
	})
}

func TestV2WithoutSwapAccounting(t *testing.T) {
	root := fakeV2(t, "web")
	if err := os.Remove(filepath.Join(root, "kennel/node-1/web/memory.swap.max")); err != nil {
		t.Fatal(err)
	}
	if _, err := newManager(t, root, ModeV2).Create("web", Resources{MemoryLimitBytes: 1 << 30}); err != nil {
		t.Fatalf("memory.swap.max is optional: %v", err)
	}
	assertFiles(t, filepath.Join(root, "kennel/node-1/web"), map[string]string{"memory.max": "1073741824"})
}

func TestMissingFileIsNamed(t *testing.T) {
	root := fakeV2(t, "web")
	if err := os.Remove(filepath.Join(root, "kennel/node-1/web/pids.max")); err != nil {
		t.Fatal(err)
	}
	m := newManager(t, root, ModeV2)
	if _, err := m.Create("web", Resources{}); err != nil {
		t.Fatalf("lifting an absent limit must not fail: %v", err)
	}
	_, err := m.Create("web", Resources{PidsLimit: 10})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "pids.max") || !strings.HasPrefix(err.Error(), "cgroups: ") {
		t.Errorf("err = %v, want a cgroups: error naming pids.max that wraps fs.ErrNotExist", err)
	}
}

func TestStats(t *testing.T) {
	t.Run("v1", func(t *testing.T) {
		root := fakeV1(t, "kennel/node-1/web", nil)
		g, err := newManager(t, root, ModeV1).Create("web", Resources{})
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(root, "cpuacct/kennel/node-1/web/cpuacct.usage"), "1500000000\n")
		write(t, filepath.Join(root, "memory/kennel/node-1/web/memory.usage_in_bytes"), "4096\n")
		write(t, filepath.Join(root, "memory/kennel/node-1/web/memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")
		write(t, filepath.Join(root, "pids/kennel/node-1/web/pids.current"), "7\n")
		// No cpu.stat (a fake cpu hierarchy without it): no throttling counts.
		assertStats(t, g, Stats{CPUUsage: 1500 * time.Millisecond, MemoryUsage: 4096, OOMKills: 3, Pids: 7})
		write(t, filepath.Join(root, "cpu/kennel/node-1/web/cpu.stat"), "nr_periods 40\nnr_throttled 12\nthrottled_time 9000000\n")
		assertStats(t, g, Stats{CPUUsage: 1500 * time.Millisecond, MemoryUsage: 4096, OOMKills: 3, Pids: 7, CPUPeriods: 40, CPUThrottledPeriods: 12})
	})
	t.Run("v2", func(t *testing.T) {
		root := fakeV2(t, "web")
		g, err := newManager(t, root, ModeV2).Create("web", Resources{})
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(root, "kennel/node-1/web")
		write(t, filepath.Join(dir, "cpu.stat"), "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 30\nnr_throttled 5\nthrottled_usec 100\n")
		write(t, filepath.Join(dir, "memory.current"), "8192\n")
		write(t, filepath.Join(dir, "memory.events"), "low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\n")
		write(t, filepath.Join(dir, "cgroup.procs"), "10\n11\n")
		if err := os.Remove(filepath.Join(dir, "pids.current")); err != nil {
			t.Fatal(err)
		}
		// Without the pids controller the processes are counted.
		assertStats(t, g, Stats{CPUUsage: 2500 * time.Millisecond, MemoryUsage: 8192, OOMKills: 2, Pids: 2, CPUPeriods: 30, CPUThrottledPeriods: 5})
	})
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func assertStats(t *testing.T, g *Group, want Stats) {
	t.Helper()
	got, err := g.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
}

func TestOpenAndList(t *testing.T) {
	root := fakeV1(t, "kennel/node-1/a", nil)
	m := newManager(t, root, ModeV1)
	if _, err := m.Open("a"); err != nil {
		t.Errorf("Open(existing) = %v", err)
	}
	if _, err := m.Open("missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want fs.ErrNotExist", err)
	}
	// A group left in only one hierarchy is listed, so it can be cleaned up.
	if err := os.MkdirAll(filepath.Join(root, "pids/kennel/node-1/b"), 0o755); err != nil {
		t.Fatal(err)
	}
	names, err := m.List()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"a", "b"}) {
		t.Errorf("List() = %v, want [a b]", names)
	}
	g, err := m.Open("b")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open(b), absent from memory: err = %v", err)
	}
	if g, err = m.group("never-created"); err != nil {
		t.Fatal(err)
	}
	if err := g.Delete(); err != nil {
		t.Errorf("Delete of a missing group = %v, want nil", err)
	}
}

func TestDetect(t *testing.T) {
	cases := []struct {
		name string
		tree map[string]map[string]string
		want Mode
	}{
		{"empty", nil, ModeNone},
		{"v2", map[string]map[string]string{".": {"cgroup.controllers": "cpu memory"}}, ModeV2},
		{"v1", map[string]map[string]string{"cpu": {}, "memory": {}}, ModeV1},
		{"v1 joint", map[string]map[string]string{"cpu,cpuacct": {}, "memory": {}}, ModeV1},
		{"v1 without memory", map[string]map[string]string{"cpu": {}, "unified": {"cgroup.controllers": ""}}, ModeNone},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Detect(fakeTree(t, c.tree)); got != c.want {
				t.Errorf("Detect = %v, want %v", got, c.want)
			}
		})
	}
}

func TestInvalidInput(t *testing.T) {
	root := fakeV2(t, "web")
	m := newManager(t, root, ModeV2)
	for _, name := range []string{"", ".", "..", "a/b"} {
		if _, err := m.Create(name, Resources{}); err == nil {
			t.Errorf("Create(%q) succeeded, want an error", name)
		}
	}
	for _, parent := range []string{"", "/abs", "..", "../x", "."} {
		if _, err := NewManager(root, ModeV2, parent); err == nil {
			t.Errorf("NewManager(parent %q) succeeded, want an error", parent)
		}
	}
	if _, err := NewManager(root, ModeNone, "kennel"); err == nil {
		t.Error("NewManager(ModeNone) succeeded, want an error")
	}
	bad := []struct {
		r    Resources
		want string
	}{
		{Resources{CPULimitMillis: -1}, "resources.cpuLimitMillis"},
		{Resources{MemoryLimitBytes: -5}, "resources.memoryLimitBytes"},
		{Resources{IO: []IOLimit{{Device: "sda"}}}, "resources.io[0].device"},
		{Resources{IO: []IOLimit{{Device: "8:0"}, {Device: "8:0"}}}, "resources.io[1].device"},
	}
	for _, b := range bad {
		if _, err := m.Create("web", b.r); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("Create(%+v) = %v, want an error naming %s", b.r, err, b.want)
		}
	}
}

func TestCPUConversions(t *testing.T) {
	cases := []struct {
		millis, shares, weight, quota int64
	}{
		{0, 1024, 100, 0},
		{1, 2, 1, 1000}, // quota clamped to the kernel's 1 ms minimum
		{250, 256, 10, 25000},
		{1000, 1024, 39, 100000},
		{4000, 4096, 157, 400000},
		{1_000_000, 262144, 10000, 100_000_000},
	}
	for _, c := range cases {
		if got := CPUShares(c.millis); got != c.shares {
			t.Errorf("CPUShares(%d) = %d, want %d", c.millis, got, c.shares)
		}
		if got := CPUWeight(c.millis); got != c.weight {
			t.Errorf("CPUWeight(%d) = %d, want %d", c.millis, got, c.weight)
		}
		if c.millis > 0 {
			if got := cpuQuotaUs(c.millis); got != c.quota {
				t.Errorf("cpuQuotaUs(%d) = %d, want %d", c.millis, got, c.quota)
			}
		}
	}
}

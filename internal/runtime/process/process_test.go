package process

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kennel-dev/kennel/internal/cgroups"
	"github.com/kennel-dev/kennel/internal/runtime"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// exits collects OnExit calls.
type exits struct {
	mu sync.Mutex
	n  map[string]int
}

func (e *exits) on(uid, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n == nil {
		e.n = map[string]int{}
	}
	e.n[uid+"/"+name]++
}

func newRuntime(t *testing.T, root string, tune func(*Config)) *Runtime {
	t.Helper()
	cfg := Config{Root: root}
	if tune != nil {
		tune(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func sandbox(t *testing.T, r *Runtime, uid string) {
	t.Helper()
	err := r.CreateSandbox(context.Background(), runtime.SandboxConfig{UID: uid, Namespace: "default", Name: "p-" + uid,
		Hostname: "pet-" + uid, IP: "127.0.0.1", Hosts: []byte("127.0.0.1 localhost\n127.0.0.1 pet-" + uid + "\n")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.RemoveSandbox(context.Background(), uid) })
}

func startC(t *testing.T, r *Runtime, uid, name string, attempt int, script string) runtime.ContainerStatus {
	t.Helper()
	st, err := r.StartContainer(context.Background(), uid, runtime.ContainerConfig{Name: name, Attempt: attempt,
		Argv: []string{"sh", "-c", script}, Env: []string{"PATH=/usr/bin:/bin", "GREETING=hello"}})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func waitExit(t *testing.T, r *Runtime, uid, name string) runtime.ContainerStatus {
	t.Helper()
	var st runtime.ContainerStatus
	testcluster.Eventually(t, 10*time.Second, "container "+name+" exits", func() bool {
		st, _, _ = r.ContainerStatus(uid, name)
		return st.State == runtime.StateExited
	})
	return st
}

func readLog(t *testing.T, r *Runtime, uid, name string, previous bool) string {
	t.Helper()
	p, err := r.LogPath(uid, name, previous)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	return string(b)
}

func TestRunToCompletionAndFailure(t *testing.T) {
	var ex exits
	r := newRuntime(t, t.TempDir(), func(c *Config) { c.OnExit = ex.on })
	sandbox(t, r, "u1")
	st := startC(t, r, "u1", "ok", 0, `echo "$GREETING world"; echo oops >&2`)
	if st.State != runtime.StateRunning || st.Pid == 0 {
		t.Fatalf("start: %+v", st)
	}
	st = waitExit(t, r, "u1", "ok")
	if st.ExitCode != 0 || st.Reason != runtime.ReasonCompleted {
		t.Fatalf("exit: %+v", st)
	}
	if got := readLog(t, r, "u1", "ok", false); got != "hello world\noops\n" {
		t.Fatalf("log = %q", got)
	}
	startC(t, r, "u1", "ok", 1, "exit 3")
	st = waitExit(t, r, "u1", "ok")
	if st.ExitCode != 3 || st.Reason != runtime.ReasonError || st.Attempt != 1 {
		t.Fatalf("exit: %+v", st)
	}
	_, prev, _ := r.ContainerStatus("u1", "ok")
	if prev == nil || prev.Attempt != 0 || prev.ExitCode != 0 {
		t.Fatalf("previous: %+v", prev)
	}
	if got := readLog(t, r, "u1", "ok", true); !strings.Contains(got, "hello world") {
		t.Fatalf("previous log = %q", got)
	}
	// OnExit follows the recorded exit.
	testcluster.Eventually(t, 5*time.Second, "two OnExit calls", func() bool {
		ex.mu.Lock()
		defer ex.mu.Unlock()
		return ex.n["u1/ok"] == 2
	})
}

func TestMissingCommandIsAStartError(t *testing.T) {
	r := newRuntime(t, t.TempDir(), nil)
	sandbox(t, r, "u1")
	st, err := r.StartContainer(context.Background(), "u1", runtime.ContainerConfig{Name: "c", Argv: []string{"no-such-command-here"}, Env: []string{"PATH=/bin"}})
	if err != nil {
		t.Fatal(err)
	}
	if st.State != runtime.StateExited || st.Reason != runtime.ReasonStartError || !strings.Contains(st.Message, "no-such-command-here") {
		t.Fatalf("status: %+v", st)
	}
}

func TestStopIsGracefulThenForced(t *testing.T) {
	r := newRuntime(t, t.TempDir(), nil)
	sandbox(t, r, "u1")
	// Traps SIGTERM and exits cleanly.
	startC(t, r, "u1", "polite", 0, `trap 'echo term; exit 0' TERM; echo up; while :; do sleep 0.05; done`)
	// Ignores SIGTERM: only SIGKILL ends it.
	startC(t, r, "u1", "stubborn", 0, `trap '' TERM; echo up; while :; do sleep 0.05; done`)
	for _, n := range []string{"polite", "stubborn"} {
		testcluster.Eventually(t, 5*time.Second, n+" is up", func() bool { return strings.Contains(readLog(t, r, "u1", n, false), "up") })
	}
	ctx := context.Background()
	if err := r.StopContainer(ctx, "u1", "polite", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	st, _, _ := r.ContainerStatus("u1", "polite")
	if st.State != runtime.StateExited || st.ExitCode != 0 || !strings.Contains(readLog(t, r, "u1", "polite", false), "term") {
		t.Fatalf("polite: %+v", st)
	}
	began := time.Now()
	if err := r.StopContainer(ctx, "u1", "stubborn", 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	st, _, _ = r.ContainerStatus("u1", "stubborn")
	if st.ExitCode != 137 || st.Signal != 9 || time.Since(began) < 300*time.Millisecond {
		t.Fatalf("stubborn: %+v after %v", st, time.Since(began))
	}
}

func TestRestartAdoptsRunningProcesses(t *testing.T) {
	root := t.TempDir()
	r1, err := New(Config{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	sandbox(t, r1, "u1")
	st := startC(t, r1, "u1", "long", 0, `echo up; while :; do sleep 0.05; done`)
	startC(t, r1, "u1", "short", 0, `exit 0`)
	waitExit(t, r1, "u1", "short")
	r1.Close()

	r2 := newRuntime(t, root, nil)
	got, _, err := r2.ContainerStatus("u1", "long")
	if err != nil || got.State != runtime.StateRunning || got.Pid != st.Pid {
		t.Fatalf("adopted: %+v %v, want running pid %d", got, err, st.Pid)
	}
	if sb := r2.Sandboxes(); len(sb) != 1 || sb[0].Hostname != "pet-u1" {
		t.Fatalf("sandboxes: %+v", sb)
	}
	if s, _, _ := r2.ContainerStatus("u1", "short"); s.Reason != runtime.ReasonCompleted {
		t.Fatalf("short: %+v", s)
	}
	var out bytes.Buffer
	if code, err := r2.Exec(context.Background(), "u1", "long", []string{"sh", "-c", "echo $GREETING from exec; exit 4"}, &out, &out); err != nil || code != 4 {
		t.Fatalf("exec: %d %v", code, err)
	}
	if out.String() != "hello from exec\n" {
		t.Fatalf("exec output %q", out.String())
	}
	// The adopted process is not r2's child: its end is seen from /proc
	// and its exit code is unknown.
	if err := r2.StopContainer(context.Background(), "u1", "long", time.Second); err != nil {
		t.Fatal(err)
	}
	got, _, _ = r2.ContainerStatus("u1", "long")
	if got.State != runtime.StateExited || got.Reason != runtime.ReasonUnknown {
		t.Fatalf("adopted exit: %+v", got)
	}
	// A third runtime reads what the second recorded.
	r2.Close()
	r3 := newRuntime(t, root, nil)
	if got, _, _ := r3.ContainerStatus("u1", "long"); got.Reason != runtime.ReasonUnknown {
		t.Fatalf("after restart: %+v", got)
	}
}

func TestLogRotation(t *testing.T) {
	r := newRuntime(t, t.TempDir(), func(c *Config) { c.LogMaxBytes = 1000; c.LogMaxFiles = 2 })
	sandbox(t, r, "u1")
	startC(t, r, "u1", "chatty", 0, `i=0; while [ $i -lt 200 ]; do echo line $i; i=$((i+1)); done; echo done; while :; do sleep 0.05; done`)
	testcluster.Eventually(t, 5*time.Second, "output written", func() bool { return strings.Contains(readLog(t, r, "u1", "chatty", false), "done") })
	r.RotateLogs()
	p, _ := r.LogPath("u1", "chatty", false)
	if st, err := os.Stat(p); err != nil || st.Size() != 0 {
		t.Fatalf("current log after rotation: %v %v", st, err)
	}
	b, err := os.ReadFile(p + ".1")
	if err != nil || !strings.Contains(string(b), "line 199") {
		t.Fatalf("rotated log: %v", err)
	}
}

func TestRemoveSandboxKillsEverything(t *testing.T) {
	r := newRuntime(t, t.TempDir(), nil)
	sandbox(t, r, "u1")
	st := startC(t, r, "u1", "c", 0, `while :; do sleep 0.05; done`)
	if err := r.RemoveSandbox(context.Background(), "u1"); err != nil {
		t.Fatal(err)
	}
	if alive("/proc", st.Pid, 0) {
		t.Fatal("process survived its sandbox")
	}
	if _, err := os.Stat(filepath.Join(r.cfg.Root, "u1")); !os.IsNotExist(err) {
		t.Fatalf("sandbox dir: %v", err)
	}
}

// rootRuntime is a runtime with cgroups and namespaces, or skips where the
// machine cannot give them (not root).
func rootRuntime(t *testing.T) *Runtime {
	t.Helper()
	mode := cgroups.Detect("/sys/fs/cgroup")
	if os.Geteuid() != 0 || mode == cgroups.ModeNone {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI must run as root with a writable cgroup hierarchy: limits and namespaces are tested for real")
		}
		t.Skip("needs root and a writable cgroup hierarchy (CI and the project machines have both)")
	}
	m, err := cgroups.NewManager("/sys/fs/cgroup", mode, fmt.Sprintf("kennel-test/%d-%s", os.Getpid(), filepath.Base(t.TempDir())))
	if err != nil {
		t.Fatal(err)
	}
	// Registered first, so it runs after the runtime and its sandboxes
	// are gone.
	t.Cleanup(func() {
		if _, err := m.RemoveParent(); err != nil {
			t.Error(err)
		}
	})
	return newRuntime(t, t.TempDir(), func(c *Config) { c.Cgroups = m; c.Namespaces = true })
}

func TestNamespacesAndCgroupAsRoot(t *testing.T) {
	r := rootRuntime(t)
	if !r.Namespaces() {
		t.Fatal("namespaces should work as root here")
	}
	sandbox(t, r, "ns1")
	startC(t, r, "ns1", "c", 0, `hostname; cat /etc/hosts; cat /proc/self/cgroup; echo ready; while :; do sleep 0.05; done`)
	testcluster.Eventually(t, 5*time.Second, "container output", func() bool { return strings.Contains(readLog(t, r, "ns1", "c", false), "ready") })
	log := readLog(t, r, "ns1", "c", false)
	if !strings.HasPrefix(log, "pet-ns1\n") || !strings.Contains(log, "127.0.0.1 pet-ns1") || !strings.Contains(log, "/ns1") {
		t.Fatalf("container saw:\n%s", log)
	}
	host, _ := os.Hostname()
	if host == "pet-ns1" {
		t.Fatal("the host's name changed")
	}
	var out bytes.Buffer
	code, err := r.Exec(context.Background(), "ns1", "c", []string{"sh", "-c", "hostname; grep -c pet-ns1 /etc/hosts; cat /proc/self/cgroup"}, &out, &out)
	if err != nil || code != 0 {
		t.Fatalf("exec: %d %v: %s", code, err, out.String())
	}
	if !strings.HasPrefix(out.String(), "pet-ns1\n1\n") {
		t.Fatalf("exec did not enter the pod's namespaces:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "/ns1") {
		t.Fatalf("exec did not join the pod's cgroup:\n%s", out.String())
	}
	// No thread of ours stays in the pod's cgroup or its namespaces once
	// its child is born (even the main thread, which Go never ends).
	myUTS, _ := os.Readlink("/proc/self/ns/uts")
	tasks, _ := filepath.Glob("/proc/self/task/*")
	for _, task := range tasks {
		cg, _ := os.ReadFile(task + "/cgroup")
		uts, _ := os.Readlink(task + "/ns/uts")
		if strings.Contains(string(cg), "/ns1") || (uts != "" && uts != myUTS) {
			t.Fatalf("thread %s stayed in the pod's cgroup or namespace:\n%s%s", task, cg, uts)
		}
	}
}

// TestBornInV2Group starts a container in a cgroup v2 group, cloned
// straight into it (CLONE_INTO_CGROUP). The project machines mount a v2
// hierarchy without controllers at /sys/fs/cgroup/unified: enough for
// membership, not for limits (those are unit-tested in internal/cgroups).
func TestBornInV2Group(t *testing.T) {
	root := "/sys/fs/cgroup/unified"
	if cgroups.Detect("/sys/fs/cgroup") == cgroups.ModeV2 {
		root = "/sys/fs/cgroup"
	}
	if _, err := os.Stat(filepath.Join(root, "cgroup.procs")); err != nil || os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI must run as root where a cgroup v2 hierarchy is mounted (pure, or beside v1 at /sys/fs/cgroup/unified)")
		}
		t.Skip("needs root and a cgroup v2 hierarchy")
	}
	parent := "kennel-test-v2/" + filepath.Base(t.TempDir())
	m, err := cgroups.NewManager(root, cgroups.ModeV2, parent)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(filepath.Join(root, parent)); os.Remove(filepath.Join(root, "kennel-test-v2")) })
	r := newRuntime(t, t.TempDir(), func(c *Config) { c.Cgroups = m })
	sandbox(t, r, "v2pod")
	st := startC(t, r, "v2pod", "c", 0, `cat /proc/self/cgroup; echo ready; while :; do sleep 0.05; done`)
	testcluster.Eventually(t, 5*time.Second, "container output", func() bool { return strings.Contains(readLog(t, r, "v2pod", "c", false), "ready") })
	want := "0::/" + parent + "/v2pod\n"
	if log := readLog(t, r, "v2pod", "c", false); !strings.Contains(log, want) {
		t.Fatalf("the container's cgroups:\n%s\nwant the line %q", log, want)
	}
	b, _ := os.ReadFile(filepath.Join(root, parent, "v2pod", "cgroup.procs"))
	if !strings.Contains(string(b), strconv.Itoa(st.Pid)) {
		t.Fatalf("pid %d not in the group's cgroup.procs: %q", st.Pid, b)
	}
}

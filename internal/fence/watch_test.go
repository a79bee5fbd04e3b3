package fence

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kennel-dev/kennel/internal/cgroups"
	"github.com/kennel-dev/kennel/internal/testcluster"
	"github.com/kennel-dev/kennel/internal/testenv"
	"golang.org/x/sys/unix"
)

// helperEnv makes the test binary a watchdog on the directory it names
// (see TestLaunchStartsADetachedWatchdog).
const helperEnv = "KENNEL_FENCE_TEST_WATCHDOG"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		err := Watch(ctx, dir, slog.New(slog.NewTextHandler(os.Stderr, nil)))
		stop()
		if err != nil && !errors.Is(err, ErrAlreadyRunning) {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// maxLate is how long after its deadline a pod must be dead: the
// watchdog reads its directory every 100 ms, and the machine is shared.
const maxLate = 500 * time.Millisecond

func TestWatchKillsAPodAfterItsDeadline(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cgroup bool // the file names the pod's cgroup, else its process group
	}{{"cgroup", true}, {"process group", false}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			startWatch(t, dir)
			f := File{Pod: "default/pet-0", UID: "uid-1"}
			var join []string
			if tc.cgroup {
				join, _ = testCgroup(t)
				f.Cgroups = join
			}
			p := startPod(t, join)
			if !tc.cgroup {
				f.PGIDs = []int{p.pid}
			}
			f.Deadline = time.Now().Add(300 * time.Millisecond)
			if err := Write(dir, f); err != nil {
				t.Fatal(err)
			}
			p.waitKilled(t, f.Deadline)
			// The watchdog writes the record, then removes the fence file.
			testcluster.Eventually(t, 2*time.Second, "the record, and the fence file removed", func() bool {
				_, err := ReadRecord(dir, f.UID)
				_, gone := Read(dir, f.UID)
				return err == nil && errors.Is(gone, fs.ErrNotExist)
			})
			rec, _ := ReadRecord(dir, f.UID)
			if !rec.Deadline.Equal(f.Deadline) || rec.Killed != 2 || rec.Survivors != 0 || rec.KilledAt.Before(f.Deadline) || rec.Done.Before(rec.KilledAt) {
				t.Fatalf("record %+v, want deadline %v, 2 killed, none surviving", rec, f.Deadline)
			}
		})
	}
}

func TestWatchHonoursARenewedDeadline(t *testing.T) {
	dir := t.TempDir()
	startWatch(t, dir)
	p := startPod(t, nil)
	f := File{Pod: "default/pet-0", UID: "uid-2", PGIDs: []int{p.pid}}
	// Renew as an agent does: the deadline stays 300 ms ahead for 1.2 s,
	// four times the period.
	renewFor := time.Now().Add(1200 * time.Millisecond)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(renewFor) {
		f.Deadline = time.Now().Add(300 * time.Millisecond)
		if err := Write(dir, f); err != nil {
			t.Fatal(err)
		}
		select {
		case <-p.exited:
			t.Fatalf("killed while its deadline was renewed (last deadline %v)", f.Deadline)
		case <-tick.C:
		}
	}
	p.waitKilled(t, f.Deadline)
	testcluster.Eventually(t, 2*time.Second, "the record", func() bool {
		rec, err := ReadRecord(dir, f.UID)
		return err == nil && rec.Deadline.Equal(f.Deadline)
	})
}

func TestOneWatchdogPerDirectory(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := make(chan error, 1)
	go func() { first <- Watch(ctx, dir, nil) }()
	testcluster.Eventually(t, 5*time.Second, "the first watchdog holds the lock", func() bool { return Running(dir) })
	if err := Watch(context.Background(), dir, nil); !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("second watchdog: %v, want ErrAlreadyRunning", err)
	}
	cancel()
	if err := receive(t, first, 5*time.Second); err != nil {
		t.Fatalf("first watchdog: %v", err)
	}
	if Running(dir) {
		t.Fatal("the lock is still held after the watchdog stopped")
	}
	// A watchdog whose directory is removed stops by itself.
	done := make(chan error, 1)
	go func() { done <- Watch(context.Background(), dir, nil) }()
	testcluster.Eventually(t, 5*time.Second, "the watchdog holds the lock", func() bool { return Running(dir) })
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := receive(t, done, 5*time.Second); err != nil {
		t.Fatalf("watchdog of a removed directory: %v", err)
	}
}

func TestLaunchStartsADetachedWatchdog(t *testing.T) {
	dir := t.TempDir()
	pid := launchHelper(t, dir)
	if sid := statField(t, pid, 3); sid != pid {
		t.Fatalf("the watchdog's session is %d, want its own (%d)", sid, pid)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, 5*time.Second, "the watchdog stops on SIGTERM", func() bool { return !Running(dir) })
	testcluster.Eventually(t, 5*time.Second, "the watchdog says it stopped", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, LogName))
		return strings.Contains(string(b), "fence watchdog stopped")
	})
}

// A fence file outlives the pod's processes; PIDs wrap (pid_max is 32768
// on many machines), so a group id it names may name another process's
// group by the deadline. The watchdog kills a group only while its id
// names the leader that started when the file says — or no process (the
// leader is gone, and the kernel reuses no id of a living group).
func TestWatchSparesAReusedProcessGroupID(t *testing.T) {
	dir := t.TempDir()
	startWatch(t, dir)
	other := startPod(t, nil) // the process that got the id
	start, ok := StartTime(other.pid)
	if !ok {
		t.Fatal("no start time for a live process")
	}
	f := File{Pod: "default/pet-0", UID: "uid-4", PGIDs: []int{other.pid}, PGIDStarts: []uint64{start + 1},
		Deadline: time.Now().Add(200 * time.Millisecond)}
	if err := Write(dir, f); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, 5*time.Second, "the record", func() bool {
		_, err := ReadRecord(dir, f.UID)
		return err == nil
	})
	if rec, _ := ReadRecord(dir, f.UID); rec.Killed != 0 {
		t.Fatalf("record %+v: the watchdog killed a group whose id names another process now", rec)
	}
	select {
	case e := <-other.exited:
		t.Fatalf("the other process died: %v", e.state)
	default:
	}
	// The same id with the right start time is the pod's.
	f.UID, f.PGIDStarts, f.Deadline = "uid-5", []uint64{start}, time.Now().Add(200*time.Millisecond)
	if err := Write(dir, f); err != nil {
		t.Fatal(err)
	}
	other.waitKilled(t, f.Deadline)
}

// On cgroup v1 a node agent moves one thread of its own into a pod's
// cgroup for an instant to fork a container there, which lists the
// agent's pid in the group's cgroup.procs: a watchdog (a process of its
// own) must not kill the agent.
func TestWatchSparesAProcessWhoseThreadVisitsTheCgroup(t *testing.T) {
	dirs, g := testCgroup(t)
	if g.Mode() != cgroups.ModeV1 {
		t.Skip("only cgroup v1 lets a thread of another process into the group")
	}
	dir := t.TempDir()
	launchHelper(t, dir)
	visiting, leave := make(chan error, 1), make(chan struct{})
	// As the agent does, from a thread that is not the main one (a
	// visiting main thread is the whole process for /proc/<pid>/cgroup).
	go cgroups.OnSpareThread(func() {
		back, err := g.JoinThread(unix.Gettid())
		visiting <- err
		if err == nil {
			<-leave
			_ = back()
		}
	})
	if err := receive(t, visiting, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	defer close(leave)
	p := startPod(t, dirs)
	f := File{Pod: "default/pet-0", UID: "uid-3", Cgroups: dirs, Deadline: time.Now().Add(300 * time.Millisecond)}
	if err := Write(dir, f); err != nil {
		t.Fatal(err)
	}
	p.waitKilled(t, f.Deadline) // and this process is still alive
	testcluster.Eventually(t, 2*time.Second, "the record", func() bool {
		rec, err := ReadRecord(dir, f.UID)
		return err == nil && rec.Killed == 2
	})
}

// launchHelper launches this test binary as a detached watchdog on dir
// and returns its pid once it holds the lock; it is killed when the test
// ends.
func launchHelper(t *testing.T, dir string) int {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(helperEnv, dir) // inherited by the launched test binary
	if err := Launch(dir, exe); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, 10*time.Second, "the launched watchdog holds the lock", func() bool { return Running(dir) })
	var pid int
	testcluster.Eventually(t, 5*time.Second, "the watchdog logs its pid", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, LogName))
		_, after, ok := strings.Cut(string(b), "pid=")
		if ok {
			pid, _ = strconv.Atoi(strings.Fields(after)[0])
		}
		return pid > 0
	})
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	return pid
}

// startWatch runs a watchdog on dir for the test.
func startWatch(t *testing.T, dir string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Watch(ctx, dir, testcluster.FailureLog(t, 16<<10)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("watchdog: %v", err)
		}
	})
	testcluster.Eventually(t, 5*time.Second, "the watchdog holds the lock", func() bool { return Running(dir) })
}

// testCgroup makes a real cgroup for the test and returns its
// directories.
func testCgroup(t *testing.T) ([]string, *cgroups.Group) {
	t.Helper()
	testenv.RequireRoot(t, "the watchdog kills the processes of a real cgroup")
	mode := cgroups.Detect("/sys/fs/cgroup")
	if mode == cgroups.ModeNone {
		t.Skip("no writable cgroup hierarchy under /sys/fs/cgroup")
	}
	parent := fmt.Sprintf("kennel-fence-test-%d", os.Getpid())
	m, err := cgroups.NewManager("/sys/fs/cgroup", mode, parent)
	if err != nil {
		t.Fatal(err)
	}
	g, err := m.Create("pod-uid", cgroups.Resources{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = g.Kill()
		if err := g.Delete(); err != nil {
			t.Error(err)
		}
		if _, err := m.RemoveParent(); err != nil {
			t.Error(err)
		}
	})
	dirs := CgroupDirs("/sys/fs/cgroup", filepath.Join(parent, g.Name()))
	if len(dirs) == 0 {
		t.Fatal("CgroupDirs found none of the group's directories")
	}
	return dirs, g
}

// pod is a pod's processes: a shell in a process group of its own (and in
// the cgroup, when given) that forks a sleep into the background and
// becomes a sleep itself.
type pod struct {
	pid, child int
	exited     chan exit
}

type exit struct {
	at    time.Time
	state *os.ProcessState
}

func startPod(t *testing.T, cgroupDirs []string) *pod {
	t.Helper()
	pidFile := filepath.Join(t.TempDir(), "child")
	script := ""
	for _, d := range cgroupDirs {
		script += fmt.Sprintf("echo $$ > %s/cgroup.procs || exit 1; ", d)
	}
	script += "sleep 60 & echo $! > " + pidFile + "; exec sleep 60"
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &pod{pid: cmd.Process.Pid, exited: make(chan exit, 1)}
	go func() {
		_ = cmd.Wait()
		p.exited <- exit{at: time.Now(), state: cmd.ProcessState}
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
		if p.child > 0 {
			_ = syscall.Kill(p.child, syscall.SIGKILL)
		}
	})
	testcluster.Eventually(t, 5*time.Second, "the pod's background child", func() bool {
		b, err := os.ReadFile(pidFile)
		p.child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && p.child > 0
	})
	return p
}

// waitKilled waits for both processes to be killed, the main one by
// SIGKILL no sooner than deadline and no later than maxLate after it.
func (p *pod) waitKilled(t *testing.T, deadline time.Time) {
	t.Helper()
	e := receive(t, p.exited, time.Until(deadline)+5*time.Second)
	ws := e.state.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the pod's process ended with %v, want SIGKILL", e.state)
	}
	if e.at.Before(deadline) || e.at.After(deadline.Add(maxLate)) {
		t.Fatalf("killed at %v, %v after its deadline; want within %v after it", e.at, e.at.Sub(deadline), maxLate)
	}
	testcluster.Eventually(t, 2*time.Second, "the background child is dead", func() bool {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.child))
		if err != nil {
			return true
		}
		_, after, _ := strings.Cut(string(b), ") ")
		return strings.HasPrefix(after, "Z") || strings.HasPrefix(after, "X")
	})
}

// statField reads field i (counted from 0 after the command: 0 is the
// state, 3 the session) of /proc/<pid>/stat.
func statField(t *testing.T, pid, i int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	_, after, _ := strings.Cut(string(b), ") ")
	n, err := strconv.Atoi(strings.Fields(after)[i])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func receive[T any](t *testing.T, c <-chan T, timeout time.Duration) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(timeout):
		var zero T
		t.Fatalf("nothing after %v", timeout)
		return zero
	}
}

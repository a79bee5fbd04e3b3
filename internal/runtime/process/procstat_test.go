package process

import (
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	line := "1234 (a (weird) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615\n"
	st, err := parseProcStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if st.StartTicks != 987654 || st.State != 'S' {
		t.Fatalf("got %+v, want start 987654 state S", st)
	}
	if _, err := parseProcStat([]byte("1 (x) S 1 2")); err == nil {
		t.Fatal("short line: want an error")
	}
}

func TestAliveTellsReusedPidsApart(t *testing.T) {
	self, err := readProcStat("/proc", os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !alive("/proc", os.Getpid(), self.StartTicks) {
		t.Fatal("this process should be alive")
	}
	if alive("/proc", os.Getpid(), self.StartTicks+1) {
		t.Fatal("a different start time is a different process")
	}
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	st, err := readProcStat("/proc", cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	// Exited but not reaped: a zombie is not alive.
	testWaitZombie(t, cmd.Process.Pid)
	if alive("/proc", cmd.Process.Pid, st.StartTicks) {
		t.Fatal("a zombie is not alive")
	}
	_ = cmd.Wait()
	if alive("/proc", cmd.Process.Pid, st.StartTicks) {
		t.Fatal("a reaped process is not alive")
	}
}

// testWaitZombie waits until pid has exited but is not yet reaped.
func testWaitZombie(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if st, err := readProcStat("/proc", pid); err == nil && st.State == 'Z' {
			return
		}
		runtime.Gosched()
	}
	t.Fatalf("pid %d did not become a zombie", pid)
}

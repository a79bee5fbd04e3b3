package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// helperEnv makes the test binary, re-executed as a child, behave as a
// workload instead of running tests: "burn" spins two CPUs, "alloc" waits
// for a line on stdin then touches 100 MiB, "idle" blocks reading stdin.
const helperEnv = "KENNEL_CGROUPS_TEST_HELPER"

// sysRoot is where the real tests look for cgroups.
const sysRoot = "/sys/fs/cgroup"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	os.Exit(m.Run())
}

func runHelper(mode string) int {
	switch mode {
	case "burn":
		for range 2 {
			go func() {
				for {
				}
			}()
		}
		select {}
	case "alloc":
		if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
			return 2
		}
		var kept [][]byte
		for range 100 {
			b := make([]byte, 1<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			kept = append(kept, b)
		}
		fmt.Println("survived", len(kept))
		return 0
	case "idle":
		// Block until killed; select{} alone would be a detected deadlock.
		_, _ = io.Copy(io.Discard, os.Stdin)
		return 0
	}
	return 2
}

// helper is a running child workload.
type helper struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	exited chan struct{}
	err    error // of Wait, once exited is closed
}

// startHelper starts the test binary as a workload; it is killed when the
// test ends.
func startHelper(t *testing.T, mode string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{cmd: cmd, stdin: stdin, exited: make(chan struct{})}
	go func() {
		h.err = cmd.Wait()
		close(h.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-h.exited
	})
	return h
}

// waitExit waits for the helper to exit and returns Wait's error.
func (h *helper) waitExit(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-h.exited:
		return h.err
	case <-time.After(timeout):
		t.Fatalf("helper %d still running after %v", h.cmd.Process.Pid, timeout)
		return nil
	}
}

// killedBy reports whether a Wait error says the process died of sig.
func killedBy(err error, sig syscall.Signal) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

// realManager returns a Manager on this machine's cgroups at root under a
// parent unique to the test, removed when the test ends; it skips the test
// when the machine lacks a writable hierarchy of version mode there.
func realManager(t *testing.T, root string, mode Mode) *Manager {
	t.Helper()
	if got := Detect(root); got != mode {
		t.Skipf("needs writable cgroup %v at %s (root); this machine offers %v", mode, root, got)
	}
	parent := fmt.Sprintf("kennel-test-%d-%x", os.Getpid(), rand.Uint32())
	m, err := NewManager(root, mode, parent)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		names, err := m.List()
		if err != nil {
			t.Error(err)
		}
		for _, n := range names {
			g, _ := m.group(n)
			if err := g.Delete(); err != nil {
				t.Error(err)
			}
		}
		parents := []string{filepath.Join(root, parent)}
		if mode == ModeV1 {
			parents = parents[:0]
			for _, d := range m.v1MountDirs() {
				parents = append(parents, filepath.Join(d, parent))
			}
		}
		for _, p := range parents {
			if err := unix.Rmdir(p); err != nil && !errors.Is(err, unix.ENOENT) {
				t.Errorf("remove test parent %s: %v", p, err)
			}
		}
	})
	return m
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		<-tick.C
	}
}

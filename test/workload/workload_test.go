package main

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWorkload builds the workload once, the way users do, and runs each
// behaviour against the binary.
func TestWorkload(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "workload")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tests := []struct {
		name string
		test func(t *testing.T, bin string)
	}{
		{"ready-after", testReadyAfter},
		{"unhealthy-after", testUnhealthyAfter},
		{"sigterm trapped", testSigtermTrapped},
		{"sigterm default", testSigtermDefault},
		{"exits", testExits},
		{"print, log and alloc", testPrintLogAndAlloc},
		{"print comes first", testPrintComesFirst},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.test(t, bin)
		})
	}
}

// proc is a running workload with its stdout delivered line by line.
type proc struct {
	cmd    *exec.Cmd
	lines  chan string
	exited chan struct{}
	err    error // of Wait, once exited is closed
	addr   string
}

// start runs the workload with args and waits until it listens.
func start(t *testing.T, bin string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, lines: make(chan string, 100), exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		for range p.lines {
		}
		<-p.exited
	})
	line := p.expect(t, "listening on ")
	p.addr = strings.TrimPrefix(line, "listening on ")
	return p
}

// expect waits for a stdout line starting with prefix and returns it.
func (p *proc) expect(t *testing.T, prefix string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("workload exited before printing %q", prefix)
			}
			if strings.HasPrefix(line, prefix) {
				return line
			}
		case <-deadline:
			t.Fatalf("timed out waiting for the workload to print %q", prefix)
		}
	}
}

// wait waits for the workload to exit and returns Wait's error.
func (p *proc) wait(t *testing.T) error {
	t.Helper()
	for range p.lines {
	}
	select {
	case <-p.exited:
		return p.err
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for the workload to exit")
		return nil
	}
}

// get returns the status and body of a GET to path.
func (p *proc) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + p.addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

func testReadyAfter(t *testing.T, bin string) {
	readyFile := filepath.Join(t.TempDir(), "ready")
	p := start(t, bin, []string{"KENNEL_TEST_VAR=hello"}, "--ready-after", "1500ms", "--ready-file", readyFile)
	// The ready file appears exactly when /ready turns 200, so a 200 seen
	// before the file exists would be a bug, whatever the machine's speed.
	if code, _ := p.get(t, "/ready"); code != http.StatusServiceUnavailable {
		if _, err := os.Stat(readyFile); err != nil {
			t.Errorf("/ready = %d before the ready file exists, want 503", code)
		}
	}
	p.expect(t, "ready")
	if code, _ := p.get(t, "/ready"); code != http.StatusOK {
		t.Errorf("/ready after ready = %d, want 200", code)
	}
	if _, err := os.Stat(readyFile); err != nil {
		t.Errorf("ready file: %v", err)
	}
	if code, _ := p.get(t, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d, want 200", code)
	}
	if _, body := p.get(t, "/env"); !strings.Contains(body, "KENNEL_TEST_VAR=hello\n") {
		t.Errorf("/env does not list KENNEL_TEST_VAR=hello:\n%s", body)
	}
	host, _ := os.Hostname()
	if _, body := p.get(t, "/hostname"); body != host+"\n" {
		t.Errorf("/hostname = %q, want %q", body, host+"\n")
	}
}

func testUnhealthyAfter(t *testing.T, bin string) {
	p := start(t, bin, nil, "--unhealthy-after", "100ms")
	p.expect(t, "unhealthy")
	if code, _ := p.get(t, "/healthz"); code != http.StatusInternalServerError {
		t.Errorf("/healthz after --unhealthy-after = %d, want 500", code)
	}
}

func testSigtermTrapped(t *testing.T, bin string) {
	p := start(t, bin, nil, "--trap-sigterm", "--term-delay", "100ms")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.expect(t, "sigterm received")
	if err := p.wait(t); err != nil {
		t.Errorf("trapped SIGTERM: exit = %v, want 0", err)
	}
}

func testSigtermDefault(t *testing.T, bin string) {
	p := start(t, bin, nil)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var ee *exec.ExitError
	err := p.wait(t)
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
		t.Errorf("untrapped SIGTERM: exit = %v, want death by SIGTERM", err)
	}
}

func testExits(t *testing.T, bin string) {
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"crash-after with exit code", []string{"--crash-after", "100ms", "--exit-code", "7"}, 7},
		{"crash-after default code", []string{"--crash-after", "100ms"}, 1},
		{"exit-after", []string{"--exit-after", "100ms"}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := start(t, bin, nil, c.args...)
			err := p.wait(t)
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != c.code {
				t.Errorf("exit code = %d, want %d", code, c.code)
			}
		})
	}
}

func testPrintLogAndAlloc(t *testing.T, bin string) {
	p := start(t, bin, nil, "--print", "hello pets", "--log-every", "20ms", "--alloc-mb", "4", "--alloc-step-mb", "1")
	// --print comes before "listening on", which start consumed; check
	// the rest.
	p.expect(t, "allocated 4 MiB")
	p.expect(t, "log 1")
	p.expect(t, "log 2")
	p.expect(t, "allocated 5 MiB")
}

func testPrintComesFirst(t *testing.T, bin string) {
	out, err := exec.Command(bin, "--listen", "127.0.0.1:0", "--print", "hello pets", "--exit-after", "10ms").Output()
	if err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(string(out), "\n"); first != "hello pets" {
		t.Errorf("first line = %q, want %q; output:\n%s", first, "hello pets", out)
	}
}

func TestDefaultListen(t *testing.T) {
	t.Parallel()
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	if got := defaultListen(env(nil)); got != "127.0.0.1:8080" {
		t.Errorf("without POD_IP: %q, want 127.0.0.1:8080", got)
	}
	if got := defaultListen(env(map[string]string{"POD_IP": "127.1.0.5"})); got != "127.1.0.5:8080" {
		t.Errorf("with POD_IP: %q, want 127.1.0.5:8080", got)
	}
	if _, err := parseFlags([]string{"extra"}, env(nil), io.Discard); err == nil {
		t.Error("a positional argument was accepted")
	}
}

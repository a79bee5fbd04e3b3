package agent

import (
	"os"
	"strconv"
	"testing"
	"time"
)

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func readProcStat(proc string, pid int) (string, error) {
	b, err := os.ReadFile(proc + "/" + strconv.Itoa(pid) + "/stat")
	return string(b), err
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "1", "B": "two"}
	for in, want := range map[string]string{
		"$(A)-$(B)":   "1-two",
		"$(C)":        "$(C)",
		"$$(A)":       "$(A)",
		"cost $5":     "cost $5",
		"$(A":         "$(A",
		"x$(A)y$(B)z": "x1ytwoz",
	} {
		if got := expand(in, vars); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIPAM(t *testing.T) {
	m, err := newIPAM("127.5.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	m.reserve("127.5.0.1", "old")
	a, _ := m.allocate("p1")
	b, _ := m.allocate("p2")
	again, _ := m.allocate("p1")
	if a == "127.5.0.1" || a == b || again != a {
		t.Fatalf("allocations %s %s %s", a, b, again)
	}
	small, _ := newIPAM("127.6.0.0/24")
	seen := map[string]bool{}
	for i := range 254 {
		ip, err := small.allocate(strconv.Itoa(i))
		if err != nil || seen[ip] {
			t.Fatalf("allocation %d: %s %v", i, ip, err)
		}
		seen[ip] = true
	}
	if _, err := small.allocate("one-too-many"); err == nil {
		t.Fatal("a full range must say so")
	}
	small.release("7")
	if _, err := small.allocate("after-release"); err != nil {
		t.Fatal(err)
	}
	if _, err := newIPAM("10.0.0.0/30"); err == nil {
		t.Fatal("a /30 is too small")
	}
}

func TestParseBandwidthAndStorage(t *testing.T) {
	for in, want := range map[string]int64{"10Gbit": 10e9, "500Mbit": 500e6, "1e9": 1e9, "64kbit": 64e3} {
		q, err := ParseBandwidth(in)
		if err != nil || q.Value() != want {
			t.Errorf("ParseBandwidth(%q) = %v %v, want %d", in, q.String(), err, want)
		}
	}
	if _, err := ParseBandwidth("fast"); err == nil {
		t.Error("ParseBandwidth(fast): want an error")
	}
	dir := t.TempDir()
	d, err := ParseStorage(dir+":iops=1000,bandwidth=200Mi,capacity=10Gi", 2)
	if err != nil || d.Name != "data2" || d.IOPS.Value() != 1000 || d.Capacity.Value() != 10<<30 || d.Device == "" {
		t.Fatalf("ParseStorage: %+v %v", d, err)
	}
	for _, bad := range []string{"relative:iops=1", dir + ":iops=-1", dir + ":speed=9", dir + ":media=Tape", "/no/such/dir:iops=1"} {
		if _, err := ParseStorage(bad, 0); err == nil {
			t.Errorf("ParseStorage(%q): want an error", bad)
		}
	}
}

func TestBackoffSequence(t *testing.T) {
	const base, maxDelay = 10 * time.Second, 5 * time.Minute
	var delay time.Duration
	var waits []time.Duration
	for range 8 {
		var wait time.Duration
		wait, delay = backoff(delay, time.Second, base, maxDelay)
		waits = append(waits, wait)
	}
	want := []time.Duration{0, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 5 * time.Minute, 5 * time.Minute}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits = %v, want %v", waits, want)
		}
	}
	// A long healthy run starts over: the next restart is immediate.
	if wait, next := backoff(delay, 11*time.Minute, base, maxDelay); wait != 0 || next != base {
		t.Fatalf("after a long run: wait %v next %v, want 0 and %v", wait, next, base)
	}
}

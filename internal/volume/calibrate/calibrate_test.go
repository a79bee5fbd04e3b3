package calibrate

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestRunMeasuresTheDisk runs a short calibration on the test's temp dir
// (a disk-backed filesystem on the machines we test on) and checks the
// figures are plausible: positive, and direct-I/O sized rather than page
// cache sized.
func TestRunMeasuresTheDisk(t *testing.T) {
	dir := t.TempDir()
	var tests []string
	r, err := Run(context.Background(), Config{Dir: dir, FileSize: 16 << 20, Duration: 200 * time.Millisecond, Depth: 2,
		Progress: func(s string) { tests = append(tests, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if r.ReadIOPS <= 0 || r.WriteIOPS <= 0 || r.ReadBPS <= 0 || r.WriteBPS <= 0 {
		t.Fatalf("implausible result %+v", r)
	}
	if len(tests) != 4 {
		t.Fatalf("progress saw %v, want 4 tests", tests)
	}
	if r.IOPS() != min(r.ReadIOPS, r.WriteIOPS) {
		t.Fatalf("IOPS() = %d", r.IOPS())
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("scratch file left behind: %v", left)
	}
}

func TestRunRefusesTmpfs(t *testing.T) {
	dir, err := os.MkdirTemp("/dev/shm", "calibrate") // tmpfs on every Linux we run on
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if _, err := Run(context.Background(), Config{Dir: dir, FileSize: 1 << 20, Duration: 50 * time.Millisecond}); err == nil {
		t.Fatal("calibrating tmpfs succeeded; its figures would be the page cache's")
	}
}

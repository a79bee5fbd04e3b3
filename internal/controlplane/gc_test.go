package controlplane

import (
	"os"
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)

	t.Setenv("GOGC", "150")
	if got, fromEnv := TuneGC(); got != "150" || !fromEnv {
		t.Fatalf("with GOGC=150: %q, %v", got, fromEnv)
	}
	if p := debug.SetGCPercent(100); p != 100 {
		t.Fatalf("GOGC set, yet the collector's target changed to %d", p)
	}

	os.Unsetenv("GOGC") // t.Setenv restores it after the test
	if got, fromEnv := TuneGC(); got != "200" || fromEnv {
		t.Fatalf("without GOGC: %q, %v", got, fromEnv)
	}
	if p := debug.SetGCPercent(100); p != GCPercent {
		t.Fatalf("collector's target %d, want %d", p, GCPercent)
	}
}

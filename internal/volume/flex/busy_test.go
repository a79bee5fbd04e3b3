package flex

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A driver whose file is open for writing cannot be started (ETXTBSY);
// the runner tries again while it is, and gives up after busyAttempts.
func TestRunnerRetriesABusyDriver(t *testing.T) {
	path := filepath.Join(t.TempDir(), "driver")
	w, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteString("#!/bin/sh\necho '{\"status\": \"Success\"}'\n"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	run := func() ([]byte, error) { return runOnce(ctx, path, "init") }

	// Held open for writing throughout: every attempt is refused.
	if _, err := run(); !errors.Is(err, syscall.ETXTBSY) {
		t.Fatalf("starting a driver open for writing: %v, want ETXTBSY", err)
	}
	pauses := 0
	_, err = retryBusy(ctx, run, func(context.Context, time.Duration) bool { pauses++; return true })
	if !errors.Is(err, syscall.ETXTBSY) || pauses != busyAttempts-1 {
		t.Fatalf("still busy: %v after %d pauses, want ETXTBSY after %d", err, pauses, busyAttempts-1)
	}

	// Released during the first pause (the writer closes it): started.
	pauses = 0
	out, err := retryBusy(ctx, run, func(context.Context, time.Duration) bool {
		pauses++
		if pauses == 1 {
			w.Close()
		}
		return true
	})
	if err != nil || pauses != 1 || string(out) != "{\"status\": \"Success\"}\n" {
		t.Fatalf("after release: %q, %v, %d pauses; want the driver's output after one pause", out, err, pauses)
	}

	// Other errors are not retried.
	pauses = 0
	if _, err := retryBusy(ctx, func() ([]byte, error) { return runOnce(ctx, path+"-missing") }, func(context.Context, time.Duration) bool { pauses++; return true }); err == nil || pauses != 0 {
		t.Fatalf("a missing driver: %v after %d pauses, want an error and no retry", err, pauses)
	}
}

package testcluster

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"
)

// SyncBuffer is a bytes.Buffer that many goroutines may write (a logger,
// a command's output) while the test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// FailureLog is a logger for a component under test whose lines are
// printed (the last max bytes of them) only when the test fails, so a
// timeout in CI says what the component was doing.
func FailureLog(t testing.TB, max int) *slog.Logger {
	buf := &SyncBuffer{}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		s := buf.String()
		if len(s) > max {
			s = "…" + s[len(s)-max:]
		}
		t.Logf("component log:\n%s", s)
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

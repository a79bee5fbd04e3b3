package scheduler

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // "" means valid
	}{
		{"zero value", Config{}, ""},
		{"negative workers", Config{Workers: -1}, "config.Workers"},
		{"negative initial back-off", Config{InitialBackoff: -time.Second}, "config.InitialBackoff"},
		{"negative max back-off", Config{MaxBackoff: -time.Second}, "config.MaxBackoff"},
		{"initial above max", Config{InitialBackoff: time.Minute, MaxBackoff: time.Second}, "exceeds config.MaxBackoff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate() = %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

func TestBackoffDoublesUpToMax(t *testing.T) {
	s := &Scheduler{backoff: [2]time.Duration{time.Second, 5 * time.Second}, unschedulable: map[string]int{}}
	var got []time.Duration
	for range 5 {
		got = append(got, s.noteFailure("ns/p", 0))
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("back-offs = %v, want %v", got, want)
		}
	}
	s.succeeded("ns/p")
	if d := s.noteFailure("ns/p", 0); d != time.Second {
		t.Fatalf("back-off after success = %s, want 1s", d)
	}
	// A node or pod change during the attempt: retry at once, since the
	// change's wake-up came before the pod was known to be waiting.
	s.moves++ // what retryUnschedulable counts
	if d := s.noteFailure("ns/p", 0); d != retryAfterMove {
		t.Fatalf("back-off after a change during the attempt = %s, want %s", d, retryAfterMove)
	}
}

func TestDefaultsKeepInitialBelowMax(t *testing.T) {
	cfg := withDefaults(Config{MaxBackoff: 100 * time.Millisecond})
	if cfg.InitialBackoff != 100*time.Millisecond || cfg.MaxBackoff != 100*time.Millisecond || cfg.Name != "default-scheduler" {
		t.Fatalf("defaults = %+v", cfg)
	}
}

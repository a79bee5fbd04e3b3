package cgroups

import (
	"strings"
	"testing"
	"time"
)

func TestCheckCPULimit(t *testing.T) {
	const s = time.Second
	for _, tc := range []struct {
		name                       string
		used                       time.Duration
		periods, throttled, millis uint64
		wantErr                    string
	}{
		{"held at the limit", 1000 * time.Millisecond, 20, 20, 500, ""},
		{"loaded machine: less, unthrottled periods", 870 * time.Millisecond, 20, 16, 500, ""},
		{"above the limit", 1300 * time.Millisecond, 20, 20, 500, "used 0.650 CPU"},
		{"never throttled", 400 * time.Millisecond, 20, 0, 500, "did not hold it back"},
		{"no limit at all", 400 * time.Millisecond, 0, 0, 500, "did not hold it back"},
		{"quota lower than the limit", 500 * time.Millisecond, 20, 20, 500, "quota is lower"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			last := Stats{CPUUsage: 5*s + tc.used, CPUPeriods: 100 + tc.periods, CPUThrottledPeriods: 50 + tc.throttled}
			_, err := CheckCPULimit(Stats{CPUUsage: 5 * s, CPUPeriods: 100, CPUThrottledPeriods: 50}, last, 2*s, int64(tc.millis))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("CheckCPULimit = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("CheckCPULimit = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

package bench

import (
	"context"
	"testing"
	"time"

	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// The harnesses at a tiny size, so that the benchmarks cannot rot.
func TestWriteHarness(t *testing.T) {
	cl := testcluster.Start(t)
	r, err := MeasureWrites(context.Background(), rawEtcdClient(t, cl), cl.Admin, "smoke", 4, 40, 2)
	if err != nil {
		t.Fatal(err)
	}
	if r.RawPutsPerSec <= 0 || r.RawOverwritesPerSec <= 0 || r.CreatesPerSec <= 0 || r.UpdatesPerSec <= 0 {
		t.Fatalf("empty result: %v", r)
	}
}

func TestWatchHarness(t *testing.T) {
	cl := testcluster.Start(t)
	r, err := MeasureWatchFanout(context.Background(), []*client.Client{cl.Admin, cl.Client(cl.AdminToken)}, 20, 3)
	if err != nil {
		t.Fatal(err)
	}
	if r.Max <= 0 || r.Max > time.Minute {
		t.Fatalf("implausible latencies: %v", r)
	}
}

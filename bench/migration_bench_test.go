package bench

import (
	"context"
	"testing"
	"time"
)

// BenchmarkVolumeMigration copies a 1 GiB file of random bytes from one
// agent's export to another's restore over TLS on 127.0.0.1, against a
// raw copy of the same file on the same disk (1 MiB buffers, reads and
// writes overlapped, fsync; a sequential copy is shown too), all measured
// in the run; as root the page cache is dropped before each.
// "ratio" is the transfer's MB/s over the raw copy's.
//
//	sudo go test ./bench -run '^$' -bench VolumeMigration -benchtime 1x
func BenchmarkVolumeMigration(b *testing.B) {
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		res, err := MeasureMigration(ctx, b.TempDir(), 1<<30, true)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		b.Log(res)
		b.ReportMetric(res.TransferMBps(), "transfer-MB/s")
		b.ReportMetric(res.RawMBps(), "raw-MB/s")
		b.ReportMetric(res.SequentialMBps(), "sequential-MB/s")
		b.ReportMetric(res.Ratio(), "ratio")
	}
}

// TestMigrationHarness runs the benchmark's harness on 3 MiB, so that it
// cannot rot; it leaves the machine's page cache alone.
func TestMigrationHarness(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := MeasureMigration(ctx, t.TempDir(), 3<<20, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Transfer <= 0 || res.Raw <= 0 || res.Ratio() <= 0 {
		t.Fatalf("result %+v", res)
	}
	t.Log(res)
}

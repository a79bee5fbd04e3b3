package bench

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// BenchmarkWrites compares API creates and updates with raw etcd puts of
// the same objects on the same embedded etcd, at 1, 16 and 64 clients,
// interleaved over 5 rounds (medians reported).
// Target: API ≥ 0.5× raw etcd at 64 clients.
func BenchmarkWrites(b *testing.B) {
	for _, tc := range []struct{ clients, ops int }{{1, 3000}, {16, 15000}, {64, 25000}} {
		b.Run(fmt.Sprintf("clients=%d", tc.clients), func(b *testing.B) {
			cl := testcluster.Start(b)
			ctx := context.Background()
			etcd := rawEtcdClient(b, cl)
			for i := 0; i < b.N; i++ {
				r, err := MeasureWrites(ctx, etcd, cl.Admin, fmt.Sprintf("run%d", i), tc.clients, tc.ops, 5)
				if err != nil {
					b.Fatal(err)
				}
				b.Log(r)
				b.ReportMetric(r.RawPutsPerSec, "raw-puts/s")
				b.ReportMetric(r.RawOverwritesPerSec, "raw-overwrites/s")
				b.ReportMetric(r.CreatesPerSec, "api-creates/s")
				b.ReportMetric(r.UpdatesPerSec, "api-updates/s")
				b.ReportMetric(r.CreateRatio(), "create-ratio")
				b.ReportMetric(r.UpdateRatio(), "update-ratio")
			}
		})
	}
}

// rawEtcdClient is an ordinary etcd client (gRPC over loopback TCP) of
// the cluster's embedded etcd: the baseline any etcd user would measure.
func rawEtcdClient(tb testing.TB, cl *testcluster.Cluster) *clientv3.Client {
	tb.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{cl.Store.ClientURL()}, DialTimeout: 5 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkWatchFanout: 1,000 watchers all see each change; target p99
// under 100 ms.
func BenchmarkWatchFanout(b *testing.B) {
	cl := testcluster.Start(b)
	clients := make([]*client.Client, 10)
	for i := range clients {
		clients[i] = cl.Client(cl.AdminToken)
	}
	for i := 0; i < b.N; i++ {
		r, err := MeasureWatchFanout(context.Background(), clients, 1000, 30)
		if err != nil {
			b.Fatal(err)
		}
		b.Log(r)
		b.ReportMetric(float64(r.P50.Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(r.P99.Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(r.Max.Microseconds())/1000, "max-ms")
	}
}

// BenchmarkIdleMemory builds the kennel binary, runs `kennel up`, lets it
// settle idle and reads its resident memory. Target: under 150 MB.
func BenchmarkIdleMemory(b *testing.B) {
	for i := 0; i < b.N; i++ {
		rss, err := IdleRSS(b.TempDir(), 10*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("idle kennel up: %.1f MB resident", float64(rss)/(1<<20))
		b.ReportMetric(float64(rss)/(1<<20), "rss-MB")
	}
}

// IdleRSS builds kennel into dir, runs `kennel up` there, waits until it
// is up, lets it idle for settle and returns its VmRSS in bytes.
func IdleRSS(dir string, settle time.Duration) (int64, error) {
	bin := filepath.Join(dir, "kennel")
	build := exec.Command("go", "build", "-o", bin, "../cmd/kennel")
	if out, err := build.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("build: %v\n%s", err, out)
	}
	cmd, err := startDaemon(bin, dir, "Kennel is up", "up", "--data-dir", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0",
		"--dns-addr", "127.0.0.1:0", "--cluster-dns-ip", "", "--log-level", "warn")
	if err != nil {
		return 0, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	time.Sleep(settle) // the measurement is of an idle process: let it idle
	return readRSS(cmd.Process.Pid)
}

package bench

import (
	"context"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// startKennelUp builds kennel and runs `kennel up` (one node) in dir, and
// returns an admin client from the config it writes. Its pods are
// deleted with the cluster by the caller.
func startKennelUp(tb testing.TB, dir string) *client.Client {
	tb.Helper()
	bin := filepath.Join(dir, "kennel")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/kennel").CombinedOutput(); err != nil {
		tb.Fatalf("build: %v\n%s", err, out)
	}
	cmd, err := startDaemon(bin, dir, "Kennel is up", "up", "--data-dir", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0",
		"--dns-addr", "127.0.0.1:0", "--cluster-dns-ip", "", "--log-level", "warn")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	f, err := client.LoadFile(filepath.Join(dir, "config"))
	if err != nil {
		tb.Fatal(err)
	}
	cur, err := f.Context("")
	if err != nil {
		tb.Fatal(err)
	}
	c, err := client.New(cur.Config())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

// BenchmarkPetSetStart runs `kennel up` and an OrderedReady PetSet of 20
// pets that are Ready as soon as they run. Target: the controller's
// hand-off from pet N Ready to pet N+1 created under 50 ms.
//
//	go test ./bench -run '^$' -bench PetSetStart -benchtime 1x
func BenchmarkPetSetStart(b *testing.B) {
	for i := 0; i < b.N; i++ {
		c := startKennelUp(b, b.TempDir())
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		res, err := MeasurePetSetStart(ctx, c, "default", "bench", 20, []string{"sleep", "3600"})
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		b.Log(res)
		b.ReportMetric(res.AllReady.Seconds(), "all-ready-s")
		b.ReportMetric(float64(res.HandoffP50.Microseconds())/1000, "handoff-p50-ms")
		b.ReportMetric(float64(res.HandoffP99.Microseconds())/1000, "handoff-p99-ms")
		deletePetSet(b, c, "bench")
	}
}

// deletePetSet deletes the set, then its pets, and waits until they are
// gone (the set would otherwise recreate them).
func deletePetSet(tb testing.TB, c *client.Client, name string) {
	tb.Helper()
	if _, err := client.For[*v1.PetSet](c, "default").Delete(context.Background(), name, client.DeleteOptions{}); err != nil {
		tb.Fatal(err)
	}
	testcluster.Eventually(tb, time.Minute, "the petset gone", func() bool {
		_, err := client.For[*v1.PetSet](c, "default").Get(context.Background(), name)
		return v1.IsNotFound(err)
	})
	deleteAll(tb, c)
}

// TestPetSetStartHarness runs the benchmark's harness with three pets so
// that it cannot rot: they come up in order.
func TestPetSetStartHarness(t *testing.T) {
	c := startKennelUp(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := MeasurePetSetStart(ctx, c, "default", "tiny", 3, []string{"sleep", "3600"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Pets != 3 || res.HandoffP99 <= 0 || res.Handoff < res.HandoffP50 {
		t.Fatalf("result %+v", res)
	}
	deletePetSet(t, c, "tiny")
}

package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// BenchmarkFederationPropagation measures how long a federated object
// takes from its creation on the federation to its arrival in a member,
// with 100 member clusters and 1,000 federated ConfigMaps (each with a
// Placement naming one member), and the same for updates and deletions
// of a sample of 100. Target: p99 < 1 s. The federation is a real
// `kennel federation up` process, whose memory is reported; the members
// are real federation agents in the benchmark's process, all applying to
// one real API server and etcd (hollow members: no nodes). Knobs:
// KENNEL_BENCH_FED_CLUSTERS, KENNEL_BENCH_FED_OBJECTS and
// KENNEL_BENCH_FED_RATE (objects created per second, default 50).
//
//	go test ./bench -run '^$' -bench FederationPropagation -benchtime 1x
func BenchmarkFederationPropagation(b *testing.B) {
	load := FederationLoad{
		Clusters: fedKnob(b, "KENNEL_BENCH_FED_CLUSTERS", 100),
		Objects:  fedKnob(b, "KENNEL_BENCH_FED_OBJECTS", 1000),
		Rate:     float64(fedKnob(b, "KENNEL_BENCH_FED_RATE", 50)),
	}
	bin := buildKennel(b)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	for i := 0; i < b.N; i++ {
		mem := testcluster.Start(b)
		fed, pid := startFederation(b, bin)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		r, err := MeasureFederation(ctx, FederationOptions{FederationLoad: load, Federation: fed, PID: pid, Member: mem.Admin, Logger: logger})
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		b.Log(r)
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		b.ReportMetric(ms(r.Create.ToMember.P50), "p50-ms")
		b.ReportMetric(ms(r.Create.ToMember.P99), "p99-ms")
		b.ReportMetric(ms(r.Create.ToMember.Max), "max-ms")
		b.ReportMetric(ms(r.Create.ToWork.P99), "work-p99-ms")
		b.ReportMetric(ms(r.Update.ToMember.P99), "update-p99-ms")
		b.ReportMetric(ms(r.Delete.ToMember.P99), "delete-p99-ms")
		b.ReportMetric(r.Rate, "objects/s")
		b.ReportMetric(r.IdleMB, "fed-idle-rss-MB")
		b.ReportMetric(r.LoadedMB, "fed-rss-MB")
		b.ReportMetric(r.CPUSeconds, "fed-cpu-s")
	}
}

// fedKnob is the positive integer in environment variable name, or def.
func fedKnob(tb testing.TB, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		tb.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return v
}

// buildKennel builds the kennel binary into a temporary directory.
func buildKennel(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "kennel")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/kennel").CombinedOutput(); err != nil {
		tb.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// startFederation runs `kennel federation up` (KENNEL_HOME and data in a
// temporary directory), stopped as Ctrl-C would when the test ends, and
// returns the admin configuration it writes and its process id.
func startFederation(tb testing.TB, bin string) (client.Config, int) {
	tb.Helper()
	dir := tb.TempDir()
	cmd, err := startDaemon(bin, dir, "Kennel federation", "federation", "up", "--name", "bench", "--domain", "bench.test",
		"--data-dir", filepath.Join(dir, "federation"), "--listen", "127.0.0.1:0", "--dns-addr", "127.0.0.1:0", "--log-level", "warn")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	f, err := client.LoadFile(filepath.Join(dir, "config"))
	if err != nil {
		tb.Fatal(err)
	}
	cur, err := f.Context("bench")
	if err != nil {
		tb.Fatal(err)
	}
	return cur.Config(), cmd.Process.Pid
}

// TestFederationHarness runs the benchmark's harness with 3 clusters and
// 20 objects so that it cannot rot: every object reaches the member with
// the federation's label and the Work that applied it, on the cluster its
// Placement names; the updates arrive and the deleted objects go.
func TestFederationHarness(t *testing.T) {
	mem := testcluster.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	load := FederationLoad{Clusters: 3, Objects: 20, Rate: 200, Sample: 5}
	fed, pid := startFederation(t, buildKennel(t))
	r, err := MeasureFederation(ctx, FederationOptions{FederationLoad: load, Federation: fed, PID: pid,
		Member: mem.Admin, Logger: testcluster.FailureLog(t, 64<<10)})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r)
	if r.Create.ToMember.N != 20 || r.Update.ToMember.N != 5 || r.Delete.ToMember.N != 5 || r.Create.ToWork.N != 20 ||
		r.Update.ToWork.N != 5 || r.Delete.ToWork.N != 5 || r.Create.ToMember.P99 <= 0 || r.Create.ToMember.P99 > r.Create.ToMember.Max ||
		r.IdleMB <= 0 || r.LoadedMB <= 0 || r.PeakMB < r.LoadedMB || r.Writes["update placements"] == 0 {
		t.Fatalf("implausible result: %+v", r)
	}
	list, err := client.For[*v1.ConfigMap](mem.Admin, fedNamespace).List(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 15 {
		t.Fatalf("the member has %d objects in %s, want the 15 not deleted", len(list.Items), fedNamespace)
	}
	for _, cm := range list.Items {
		var i int
		if _, err := fmt.Sscanf(cm.Name, "o-%d", &i); err != nil {
			t.Fatalf("unexpected object %s in the member", cm.Name)
		}
		wantWork := v1.MemberNamespace(clusterName(i%3)) + "/" + fedNamespace + ".configmap." + cm.Name
		wantRev := map[bool]string{true: "2", false: "1"}[i < 5]
		if cm.Labels[v1.LabelFederation] != "bench" || cm.Annotations[v1.AnnotationFederationWork] != wantWork || cm.Data["rev"] != wantRev {
			t.Fatalf("object %s in the member: labels %v, annotations %v, rev %q; want Work %s, rev %s",
				cm.Name, cm.Labels, cm.Annotations, cm.Data["rev"], wantWork, wantRev)
		}
	}
}

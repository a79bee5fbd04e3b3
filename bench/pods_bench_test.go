package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/apiserver"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// BenchmarkPodStart runs a real `kennel agent` process against an
// in-process control plane and binds 100 pods to its node one at a time.
// Targets: p99 < 100 ms from binding to running, < 200 ms to Ready (an
// exec readiness probe that passes at once); the agent under 40 MB
// resident with the 100 pods running.
func BenchmarkPodStart(b *testing.B) {
	for i := 0; i < b.N; i++ {
		cl := testcluster.Start(b)
		dir := b.TempDir()
		agentPid := startAgentProcess(b, cl, dir, "bench-node")
		ctx := context.Background()
		res, err := MeasurePodStart(ctx, cl.Admin, "default", "bench-node", 100, []string{"sleep", "3600"})
		if err != nil {
			b.Fatal(err)
		}
		b.Log(res)
		// Let the agent settle with its 100 pods (status writes, first
		// probes) before reading its memory.
		settle := time.Now()
		testcluster.Eventually(b, time.Minute, "the agent settles", func() bool { return time.Since(settle) > 15*time.Second })
		rss, err := readRSS(agentPid)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("agent with 100 running pods: %.1f MB resident", float64(rss)/(1<<20))
		b.ReportMetric(float64(res.RunningP50.Microseconds())/1000, "running-p50-ms")
		b.ReportMetric(float64(res.RunningP99.Microseconds())/1000, "running-p99-ms")
		b.ReportMetric(float64(res.ReadyP50.Microseconds())/1000, "ready-p50-ms")
		b.ReportMetric(float64(res.ReadyP99.Microseconds())/1000, "ready-p99-ms")
		b.ReportMetric(float64(rss)/(1<<20), "agent-rss-MB")
		deleteAll(b, cl.Admin)
	}
}

// startAgentProcess builds kennel and runs `kennel agent` for node with a
// node token of cl; it returns the agent's pid.
func startAgentProcess(tb testing.TB, cl *testcluster.Cluster, dir, node string) int {
	tb.Helper()
	bin := filepath.Join(dir, "kennel")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/kennel").CombinedOutput(); err != nil {
		tb.Fatalf("build: %v\n%s", err, out)
	}
	ca := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(ca, cl.CA, 0o600); err != nil {
		tb.Fatal(err)
	}
	cmd, err := startDaemon(bin, dir, "Kennel agent for node", "agent", "--server", cl.Server.URL(), "--ca-file", ca,
		"--token", cl.Token(apiserver.RoleNode, ""), "--name", node, "--pod-cidr", "127.99.0.0/16",
		"--data-dir", filepath.Join(dir, "agent"), "--log-level", "warn")
	if err != nil {
		tb.Fatal(err)
	}
	// SIGTERM: the agent stops cleanly and, its pods deleted, removes its
	// node's cgroup.
	tb.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	return cmd.Process.Pid
}

// deleteAll deletes every pod and waits until the agent has stopped them
// all, so no process outlives the benchmark.
func deleteAll(tb testing.TB, c *client.Client) {
	tb.Helper()
	ctx := context.Background()
	pods := client.For[*v1.Pod](c, "default")
	list, err := pods.List(ctx, client.ListOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	grace := int64(1)
	for _, p := range list.Items {
		if _, err := pods.Delete(ctx, p.Name, client.DeleteOptions{GracePeriodSeconds: &grace}); err != nil && !v1.IsNotFound(err) {
			tb.Fatal(err)
		}
	}
	testcluster.Eventually(tb, 2*time.Minute, "every pod stopped and gone", func() bool {
		l, err := pods.List(ctx, client.ListOptions{})
		return err == nil && len(l.Items) == 0
	})
}

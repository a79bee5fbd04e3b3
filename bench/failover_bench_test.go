package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// BenchmarkFailover measures, with the default fencing period (15 s) and
// drift margin (5 s), the time from a member's loss — its link to the
// federation cut by a fault proxy — to its pet Running and Ready in the
// other member. Real processes: a federation and two `kennel up` members
// (as root: the fence watchdog kills through the pets' cgroups).
func BenchmarkFailover(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: pets are fenced through their cgroups")
	}
	for range b.N {
		d := measureFailover(b)
		b.ReportMetric(d.Seconds(), "failover-s")
		b.Logf("member cut off → its pet serving in the other member: %v (fencing period 15s + drift margin 5s + start)", d.Round(10*time.Millisecond))
	}
}

func measureFailover(b *testing.B) time.Duration {
	bin := buildKennel(b)
	home := b.TempDir()
	port := freeLoopbackPort(b)
	fed, err := startDaemon(bin, home, "Kennel federation", "federation", "up", "--name", "fed", "--domain", "fed.test",
		"--data-dir", filepath.Join(home, "fed"), "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--dns-addr", "127.0.0.1:0", "--log-level", "warn",
		"--automatic-failover")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { fed.Process.Signal(syscall.SIGTERM); fed.Wait() })
	var clients []*client.Client
	var proxies []*testcluster.FaultProxy
	for i, name := range []string{"m1", "m2"} {
		proxy := testcluster.NewFaultProxy(b, fmt.Sprintf("127.0.0.1:%d", port))
		proxies = append(proxies, proxy)
		cmd, err := startDaemon(bin, home, "Kennel is up", "up", "--data-dir", filepath.Join(home, name), "--listen", "127.0.0.1:0",
			"--dns-addr", "127.0.0.1:0", "--cluster-dns-ip", "", "--context-name", name, "--first-pod-range", fmt.Sprint(80+10*i), "--log-level", "warn")
		if err != nil {
			b.Fatal(err)
		}
		c := contextClient(b, home, name)
		clients = append(clients, c)
		b.Cleanup(func() { emptyPets(c); cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
		tok := run(b, bin, home, "--context", "fed", "federation", "token", "create", "--cluster", name)
		run(b, bin, home, "--context", name, "federation", "join", "--url", "https://"+proxy.Addr(), "--ca-file", filepath.Join(home, "fed", "pki", "ca.crt"),
			"--token", tok, "--cluster", name, "--labels", "region=r"+fmt.Sprint(i))
	}
	manifest := `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  podManagementPolicy: Parallel
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 2
      containers: [{name: main, command: ["sleep", "100000"]}]
---
apiVersion: kennel.io/v1
kind: Placement
metadata: {name: db}
spec:
  resourceSelectors: [{kind: StatefulSet, name: db}]
  replicaScheduling: {type: Divided, weights: [{clusters: [m1], weight: 1}, {clusters: [m2], weight: 1}]}
  failover: {policy: Automatic}
`
	cmd := exec.Command(bin, "--context", "fed", "apply", "-f", "-")
	cmd.Env = append(os.Environ(), "KENNEL_HOME="+home)
	cmd.Stdin = strings.NewReader(manifest)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("apply: %v\n%s", err, out)
	}
	b.Cleanup(func() {
		// Deleted on the federation first, or the members' agents would
		// put their PetSets back.
		del := exec.Command(bin, "--context", "fed", "delete", "-f", "-")
		del.Env = cmd.Env
		del.Stdin = strings.NewReader(manifest)
		del.Run()
	})
	ready := func(c *client.Client, pet string) bool {
		p, err := client.For[*v1.Pod](c, "default").Get(context.Background(), pet)
		return err == nil && v1.IsPodReady(p) && p.DeletionTimestamp == nil
	}
	testcluster.Eventually(b, 2*time.Minute, "db-1 Ready in m2", func() bool { return ready(clients[1], "db-1") })
	proxies[1].Cut()
	cut := time.Now()
	testcluster.Eventually(b, 2*time.Minute, "db-1 Ready in m1", func() bool { return ready(clients[0], "db-1") })
	return time.Since(cut)
}

func freeLoopbackPort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// contextClient is an admin client of a context of home's config.
func contextClient(tb testing.TB, home, name string) *client.Client {
	tb.Helper()
	f, err := client.LoadFile(filepath.Join(home, "config"))
	if err != nil {
		tb.Fatal(err)
	}
	cur, err := f.Context(name)
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

// run runs a kennel CLI command and returns its trimmed stdout.
func run(tb testing.TB, bin, home string, args ...string) string {
	tb.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "KENNEL_HOME="+home)
	var errb strings.Builder
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("kennel %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(string(out))
}

// emptyPets deletes the member's PetSets and pods (pods outlive kennel
// up by design, not the benchmark).
func emptyPets(c *client.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sets, _ := client.For[*v1.PetSet](c, "default").List(ctx, client.ListOptions{})
	if sets != nil {
		for _, s := range sets.Items {
			client.For[*v1.PetSet](c, "default").Delete(ctx, s.Name, client.DeleteOptions{PropagationPolicy: "Background"})
		}
	}
	done := func() bool {
		pods, err := client.For[*v1.Pod](c, "default").List(ctx, client.ListOptions{})
		if err != nil || len(pods.Items) == 0 {
			return true
		}
		for _, p := range pods.Items {
			client.For[*v1.Pod](c, "default").Delete(ctx, p.Name, client.DeleteOptions{})
		}
		return false
	}
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for !done() {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

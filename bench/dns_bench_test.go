package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/dns"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// BenchmarkDNS compares Kennel's DNS server with CoreDNS (the file
// plugin, serving the same records from a zone file) under dnsperf, in
// the same run: peak queries per second (two interleaved rounds each,
// the better kept), then p50/p90/p99 latency at half and a quarter of
// each one's peak. The records are 100 headless services of 3 pets: per
// pet an A query, per service an A and an SRV query. Needs dnsperf
// (Debian package) and builds CoreDNS from the Go module proxy on first
// use.
//
// Beside them runs NullDNS, a responder that does no work: its latency
// at the rate of Kennel's half peak is the floor this machine and dnsperf
// set at that rate, which no server can go below.
//
//	go test ./bench -run '^$' -bench DNS -benchtime 1x
func BenchmarkDNS(b *testing.B) {
	if _, err := exec.LookPath("dnsperf"); err != nil {
		b.Skip("dnsperf is not installed (apt-get install dnsperf)")
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		b.Fatal(err)
	}
	cacheDir := filepath.Join(cache, "kennel-bench")
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		b.Fatal(err)
	}
	coredns, err := BuildCoreDNS(cacheDir)
	if err != nil {
		b.Fatal(err)
	}
	cl := testcluster.Start(b)
	ctx := context.Background()
	if _, err := client.For[*v1.Namespace](cl.Admin, "").Create(ctx, &v1.Namespace{ObjectMeta: v1.ObjectMeta{Name: "bench"}}); err != nil {
		b.Fatal(err)
	}
	fx, err := NewDNSFixture(ctx, cl.Admin, "bench", 100, 3)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := dns.Start(ctx, dns.Config{Client: cl.Admin, Addr: "127.0.0.1:0", DisableForward: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	dir := b.TempDir()
	queries := filepath.Join(dir, "queries.txt")
	if err := os.WriteFile(queries, []byte(fx.Queries), 0o644); err != nil {
		b.Fatal(err)
	}
	port := freeUDPPort(b)
	stop, err := StartCoreDNS(coredns, dir, fx.Zone, port)
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	null, err := StartNullDNS()
	if err != nil {
		b.Fatal(err)
	}
	defer null.Stop()
	servers := []struct{ name, addr string }{{"kennel", srv.UDPAddr().String()},
		{"coredns", net.JoinHostPort("127.0.0.1", itoa(port))}, {"null", null.Addr().String()}}
	peak := map[string]DNSRun{}
	for range 2 {
		for _, s := range servers {
			r, err := RunDNSPerf(ctx, s.addr, queries, 10, 0)
			if err != nil {
				b.Fatal(err)
			}
			if r.QPS > peak[s.name].QPS {
				peak[s.name] = r
			}
		}
	}
	at := func(name, addr string, qps float64, what string) DNSRun {
		r, err := RunDNSPerf(ctx, addr, queries, 5, qps)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%-8s peak %8.0f qps; at %6.0f qps (%s): p50 %v p90 %v p99 %v (lost %d)", name, peak[name].QPS,
			qps, what, r.P50, r.P90, r.P99, r.Lost)
		return r
	}
	for _, s := range servers {
		for _, frac := range []float64{0.5, 0.25} {
			r := at(s.name, s.addr, peak[s.name].QPS*frac, fmt.Sprintf("%.0f%% of its peak", frac*100))
			if frac == 0.5 {
				b.ReportMetric(float64(r.P99.Microseconds()), s.name+"-p99-µs")
			}
		}
		b.ReportMetric(peak[s.name].QPS, s.name+"-qps")
	}
	// The floor at the rate Kennel's target is judged at.
	r := at("null", null.Addr().String(), peak["kennel"].QPS*0.5, "kennel's half peak")
	b.ReportMetric(float64(r.P99.Microseconds()), "null-at-kennel-half-p99-µs")
	b.ReportMetric(peak["kennel"].QPS/peak["coredns"].QPS, "kennel/coredns-qps")
}

func freeUDPPort(tb testing.TB) int {
	tb.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func itoa(n int) string { return strconv.Itoa(n) }

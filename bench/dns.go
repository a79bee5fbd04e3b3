package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// CoreDNSVersion is the CoreDNS the DNS benchmark compares with, built
// from the Go module proxy.
const CoreDNSVersion = "v1.14.7"

// DNSFixture is a set of headless services with hostnamed endpoints, in
// the API and as the equivalent zone file, and the dnsperf queries to ask
// of both.
type DNSFixture struct {
	Services, PerService int
	Zone                 string // the zone file's text (origin cluster.local.)
	Queries              string // dnsperf's query file
}

// NewDNSFixture creates services svc-i in namespace ns, each with
// perService ready endpoints pet-j, through c, and the matching zone.
func NewDNSFixture(ctx context.Context, c *client.Client, ns string, services, perService int) (*DNSFixture, error) {
	f := &DNSFixture{Services: services, PerService: perService}
	var zone, queries strings.Builder
	zone.WriteString("$ORIGIN cluster.local.\n@ 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5\n@ 5 IN NS ns.dns.cluster.local.\n")
	for i := range services {
		name := fmt.Sprintf("svc-%d", i)
		svc := &v1.Service{ObjectMeta: v1.ObjectMeta{Name: name, Namespace: ns},
			Spec: v1.ServiceSpec{ClusterIP: v1.ClusterIPNone, Ports: []v1.ServicePort{{Name: "peer", Port: 7000}}}}
		if _, err := client.For[*v1.Service](c, ns).Create(ctx, svc); err != nil {
			return nil, err
		}
		ep := &v1.Endpoints{ObjectMeta: v1.ObjectMeta{Name: name, Namespace: ns}}
		ss := v1.EndpointSubset{Ports: []v1.EndpointPort{{Name: "peer", Port: 7000, Protocol: v1.ProtocolTCP}}}
		base := fmt.Sprintf("%s.%s.svc", name, ns)
		for j := range perService {
			ip := fmt.Sprintf("10.%d.%d.%d", 1+i/250, i%250, j+1)
			host := fmt.Sprintf("pet-%d", j)
			ss.Addresses = append(ss.Addresses, v1.EndpointAddress{IP: ip, Hostname: host})
			fmt.Fprintf(&zone, "%s 5 IN A %s\n%s.%s 5 IN A %s\n_peer._tcp.%s 5 IN SRV 0 %d 7000 %s.%s.cluster.local.\n",
				base, ip, host, base, ip, base, 100/perService, host, base)
			fmt.Fprintf(&queries, "%s.%s.cluster.local A\n", host, base)
		}
		fmt.Fprintf(&queries, "%s.cluster.local A\n_peer._tcp.%s.cluster.local SRV\n", base, base)
		ep.Subsets = []v1.EndpointSubset{ss}
		if _, err := client.For[*v1.Endpoints](c, ns).Create(ctx, ep); err != nil {
			return nil, err
		}
	}
	f.Zone, f.Queries = zone.String(), queries.String()
	return f, nil
}

// BuildCoreDNS installs CoreDNSVersion into dir (once) and returns the
// binary's path.
func BuildCoreDNS(dir string) (string, error) {
	bin := filepath.Join(dir, "coredns-"+CoreDNSVersion)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	tmp := filepath.Join(dir, "gobin")
	cmd := exec.Command("go", "install", "github.com/coredns/coredns@"+CoreDNSVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("bench: build coredns: %w\n%s", err, out)
	}
	return bin, os.Rename(filepath.Join(tmp, "coredns"), bin)
}

// StartCoreDNS serves zone on 127.0.0.1:port with CoreDNS's file plugin
// and returns a stop function.
func StartCoreDNS(bin, dir, zone string, port int) (func(), error) {
	if err := os.WriteFile(filepath.Join(dir, "db.cluster.local"), []byte(zone), 0o644); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf("cluster.local:%d {\n    bind 127.0.0.1\n    file %s\n}\n", port, filepath.Join(dir, "db.cluster.local"))
	if err := os.WriteFile(filepath.Join(dir, "Corefile"), []byte(conf), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-conf", filepath.Join(dir, "Corefile"))
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait() }
	// CoreDNS prints the zone's serving line once it listens.
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), fmt.Sprintf(":%d", port)) {
				ready <- true
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			stop()
			return nil, fmt.Errorf("bench: coredns exited before serving")
		}
	case <-time.After(30 * time.Second):
		stop()
		return nil, fmt.Errorf("bench: coredns not serving in 30s")
	}
	return stop, nil
}

// DNSRun is what dnsperf measured against one server.
type DNSRun struct {
	QPS           float64
	P50, P90, P99 time.Duration // only with per-query latencies (verbose runs)
	Lost          int
}

var (
	qpsLine  = regexp.MustCompile(`Queries per second:\s+([0-9.]+)`)
	lostLine = regexp.MustCompile(`Queries lost:\s+([0-9]+)`)
	latLine  = regexp.MustCompile(`^> \S+ \S+ \S+ ([0-9.]+)$`)
)

// RunDNSPerf runs dnsperf against addr (host:port) for seconds with the
// queries; maxQPS > 0 limits the rate and records every query's latency.
func RunDNSPerf(ctx context.Context, addr, queryFile string, seconds int, maxQPS float64) (DNSRun, error) {
	host, port, _ := strings.Cut(addr, ":")
	args := []string{"-s", host, "-p", port, "-d", queryFile, "-l", strconv.Itoa(seconds), "-c", "4", "-q", "200"}
	if maxQPS > 0 {
		args = append(args, "-Q", strconv.Itoa(int(maxQPS)), "-v")
	}
	name := "dnsperf"
	if cpus := os.Getenv("KENNEL_BENCH_DNSPERF_CPUS"); cpus != "" {
		// Pin dnsperf (taskset) so that it does not take the server's CPU.
		name, args = "taskset", append([]string{"-c", cpus, "dnsperf"}, args...)
	}
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return DNSRun{}, fmt.Errorf("bench: dnsperf: %w\n%s", err, out)
	}
	var r DNSRun
	if m := qpsLine.FindSubmatch(out); m != nil {
		r.QPS, _ = strconv.ParseFloat(string(m[1]), 64)
	}
	if m := lostLine.FindSubmatch(out); m != nil {
		r.Lost, _ = strconv.Atoi(string(m[1]))
	}
	var lat []time.Duration
	for _, line := range bytes.Split(out, []byte("\n")) {
		if m := latLine.FindSubmatch(line); m != nil {
			s, _ := strconv.ParseFloat(string(m[1]), 64)
			lat = append(lat, time.Duration(s*float64(time.Second)))
		}
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		r.P50, r.P90, r.P99 = lat[len(lat)/2], lat[len(lat)*9/10], lat[len(lat)*99/100]
	}
	return r, nil
}

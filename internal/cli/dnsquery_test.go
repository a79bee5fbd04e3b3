package cli_test

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// seenQuery is one query the test DNS server received.
type seenQuery struct {
	net     string
	name    string
	qtype   string
	udpSize uint16 // 0: no EDNS0
}

// testDNS is a tiny authoritative server for cluster.local, on UDP and
// TCP of one port, recording the queries it gets.
type testDNS struct {
	addr string
	mu   sync.Mutex
	seen []seenQuery
}

const testZone = "cluster.local."

// bigName has more A records than fit in 4096 bytes.
const bigName = "big.default.svc.cluster.local."

// startTestDNS serves the zone on 127.0.0.1, UDP and TCP on the same
// port, as the cluster DNS does.
func startTestDNS(t *testing.T) *testDNS {
	t.Helper()
	d := &testDNS{}
	pc, l := listenUDPAndTCP(t)
	d.addr = pc.LocalAddr().String()
	for _, s := range []*dns.Server{{PacketConn: pc, Handler: d}, {Listener: l, Handler: d}} {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		done := make(chan struct{})
		go func() { defer close(done); _ = s.ActivateAndServe() }()
		<-started
		t.Cleanup(func() { _ = s.Shutdown(); <-done })
	}
	return d
}

// listenUDPAndTCP opens a UDP socket on a free port and a TCP listener on
// the same port, trying again if another program holds the TCP port.
func listenUDPAndTCP(t *testing.T) (net.PacketConn, net.Listener) {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l
		}
		pc.Close()
	}
	t.Fatal("no port free for both UDP and TCP")
	return nil, nil
}

func (d *testDNS) queries() []seenQuery {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.seen)
}

func (d *testDNS) ServeDNS(w dns.ResponseWriter, q *dns.Msg) {
	network := w.RemoteAddr().Network()
	seen := seenQuery{net: network, name: q.Question[0].Name, qtype: dns.TypeToString[q.Question[0].Qtype]}
	if opt := q.IsEdns0(); opt != nil {
		seen.udpSize = opt.UDPSize()
	}
	d.mu.Lock()
	d.seen = append(d.seen, seen)
	d.mu.Unlock()

	r := new(dns.Msg)
	r.SetReply(q)
	r.Authoritative = true
	answer(r, q.Question[0])
	size := dns.MinMsgSize
	if opt := q.IsEdns0(); opt != nil {
		size = int(opt.UDPSize())
		r.SetEdns0(opt.UDPSize(), false)
	}
	if network == "udp" {
		r.Truncate(size)
	}
	_ = w.WriteMsg(r)
}

// answer fills r for question q from the zone.
func answer(r *dns.Msg, q dns.Question) {
	rr := func(s string) dns.RR {
		x, err := dns.NewRR(s)
		if err != nil {
			panic(err)
		}
		return x
	}
	soa := rr("cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5")
	name := strings.ToLower(q.Name)
	switch {
	case name == "db-0.db.default.svc.cluster.local." && q.Qtype == dns.TypeA:
		r.Answer = append(r.Answer, rr(name+" 5 IN A 127.3.0.5"))
	case name == "db-0.db.default.svc.cluster.local.":
		r.Ns = append(r.Ns, soa) // NODATA
	case name == "_peer._tcp.db.default.svc.cluster.local." && q.Qtype == dns.TypeSRV:
		r.Answer = append(r.Answer, rr(name+" 5 IN SRV 0 100 2380 db-0.db.default.svc.cluster.local."))
		r.Extra = append(r.Extra, rr("db-0.db.default.svc.cluster.local. 5 IN A 127.3.0.5"))
	case name == "5.0.3.127.in-addr.arpa." && q.Qtype == dns.TypePTR:
		r.Answer = append(r.Answer, rr(name+" 5 IN PTR db-0.db.default.svc.cluster.local."))
	case name == "dns-version."+testZone && q.Qtype == dns.TypeTXT:
		r.Answer = append(r.Answer, rr(name+` 5 IN TXT "1.1.0"`))
	case name == bigName && q.Qtype == dns.TypeA:
		for i := range 400 {
			r.Answer = append(r.Answer, rr(fmt.Sprintf("%s 5 IN A 127.4.%d.%d", name, i/250, i%250+1)))
		}
	default:
		r.Rcode = dns.RcodeNameError
		r.Ns = append(r.Ns, soa)
	}
}

func TestDNSQuery(t *testing.T) {
	t.Parallel()
	const soa = "cluster.local.\t5\tIN\tSOA\tns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5"
	tests := []struct {
		name  string
		args  []string
		wants []string
		seen  []seenQuery
	}{
		{"A record", []string{"db-0.db.default.svc.cluster.local"},
			[]string{";; status: NOERROR", ";; flags: qr aa rd; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 0", ";; EDNS: version 0, udp 4096",
				";db-0.db.default.svc.cluster.local.\t\tIN\tA", "ANSWER SECTION:\ndb-0.db.default.svc.cluster.local.\t5\tIN\tA\t127.3.0.5"},
			[]seenQuery{{"udp", "db-0.db.default.svc.cluster.local.", "A", 4096}}},
		{"type in any case, NODATA with SOA", []string{"DB-0.db.default.svc.cluster.local.", "aaaa"},
			[]string{";; status: NOERROR", "ANSWER: 0, AUTHORITY: 1", "AUTHORITY SECTION:\n" + soa},
			[]seenQuery{{"udp", "DB-0.db.default.svc.cluster.local.", "AAAA", 4096}}},
		{"SRV with its target's address", []string{"_peer._tcp.db.default.svc.cluster.local", "SRV"},
			[]string{"ANSWER SECTION:\n_peer._tcp.db.default.svc.cluster.local.\t5\tIN\tSRV\t0 100 2380 db-0.db.default.svc.cluster.local.",
				"ADDITIONAL SECTION:\ndb-0.db.default.svc.cluster.local.\t5\tIN\tA\t127.3.0.5"},
			[]seenQuery{{"udp", "_peer._tcp.db.default.svc.cluster.local.", "SRV", 4096}}},
		{"PTR of an IP", []string{"127.3.0.5", "PTR"},
			[]string{"5.0.3.127.in-addr.arpa.\t5\tIN\tPTR\tdb-0.db.default.svc.cluster.local."},
			[]seenQuery{{"udp", "5.0.3.127.in-addr.arpa.", "PTR", 4096}}},
		{"an IP alone is a PTR query", []string{"127.3.0.5"},
			[]string{"IN\tPTR\tdb-0.db.default.svc.cluster.local."},
			[]seenQuery{{"udp", "5.0.3.127.in-addr.arpa.", "PTR", 4096}}},
		{"TXT", []string{"dns-version.cluster.local", "TXT"},
			[]string{"dns-version.cluster.local.\t5\tIN\tTXT\t\"1.1.0\""},
			[]seenQuery{{"udp", "dns-version.cluster.local.", "TXT", 4096}}},
		{"NXDOMAIN is an answer", []string{"nope.default.svc.cluster.local"},
			[]string{";; status: NXDOMAIN", "AUTHORITY SECTION:\n" + soa},
			[]seenQuery{{"udp", "nope.default.svc.cluster.local.", "A", 4096}}},
		{"a relative name gets no search path", []string{"db-0"},
			[]string{";; status: NXDOMAIN"},
			[]seenQuery{{"udp", "db-0.", "A", 4096}}},
		{"truncated over UDP, retried over TCP", []string{strings.TrimSuffix(bigName, ".")},
			[]string{";; truncated over UDP, retried over TCP", " (tcp), ", "ANSWER: 400,", bigName + "\t5\tIN\tA\t127.4.1.150"},
			[]seenQuery{{"udp", bigName, "A", 4096}, {"tcp", bigName, "A", 4096}}},
		{"--tcp", []string{"db-0.db.default.svc.cluster.local", "--tcp"},
			[]string{" (tcp), ", "IN\tA\t127.3.0.5"},
			[]seenQuery{{"tcp", "db-0.db.default.svc.cluster.local.", "A", 4096}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := startTestDNS(t)
			e := &env{t: t, config: "/nonexistent"}
			out := e.mustRun(append([]string{"dns", "query", "--server", d.addr}, tt.args...)...)
			wantContains(t, "dns query "+strings.Join(tt.args, " "), out, tt.wants...)
			if got := d.queries(); !slices.Equal(got, tt.seen) {
				t.Errorf("the server got %+v, want %+v", got, tt.seen)
			}
		})
	}
}

func TestDNSQueryFailsOnlyWhenTheServerDoesNotAnswer(t *testing.T) {
	t.Parallel()
	// A port nothing listens on: the OS refuses at once, over UDP (an
	// ICMP port unreachable) and over TCP.
	pc, l := listenUDPAndTCP(t)
	closed := pc.LocalAddr().String()
	pc.Close()
	l.Close()
	e := &env{t: t, config: "/nonexistent"}
	for _, args := range [][]string{{}, {"--tcp"}} {
		errOut := e.mustFail(append([]string{"dns", "query", "db-0.db.default.svc.cluster.local", "--server", closed, "--timeout", "3s"}, args...)...)
		wantContains(t, "dns query of a closed port "+strings.Join(args, " "), errOut, "dns query: "+closed)
	}
	wantContains(t, "unknown type", e.mustFail("dns", "query", "x.cluster.local", "NOPE", "--server", closed), `TYPE "NOPE"`)
	wantContains(t, "bad server", e.mustFail("dns", "query", "x.cluster.local", "--server", "127.0.0.1"), `--server "127.0.0.1"`)
	wantContains(t, "dns query --help", e.mustRun("dns", "query", "--help"), "Examples:", "kennel dns query db-0.db.default.svc.cluster.local", "127.0.0.1:5353")
}

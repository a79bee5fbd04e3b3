package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// seedMany creates headless service many.big with n ready endpoints m-0…
// and a named port.
func seedMany(t testing.TB, e *env, n int) {
	t.Helper()
	e.namespace(t, "big")
	e.service(t, "big", "many", v1.ServiceSpec{ClusterIP: v1.ClusterIPNone})
	addrs := make([]v1.EndpointAddress, n)
	for i := range addrs {
		addrs[i] = v1.EndpointAddress{IP: fmt.Sprintf("10.5.%d.%d", i/200, i%200+1), Hostname: fmt.Sprintf("m-%d", i)}
	}
	e.endpoints(t, "big", "many", v1.EndpointSubset{Addresses: addrs, Ports: []v1.EndpointPort{{Name: "peer", Port: 7000, Protocol: v1.ProtocolTCP}}})
}

// TestTruncation checks EDNS0 and truncation with a headless service of
// 100 endpoints: a UDP answer is cut to what the client accepts, with TC
// set, and TCP carries all of it.
func TestTruncation(t *testing.T) {
	e := newEnv(t)
	seedMany(t, e, 100)
	srv := e.start(t, nil)
	const many = "many.big.svc.cluster.local."
	for _, c := range truncationCases() {
		t.Run(fmt.Sprintf("%s/%s/edns=%d", c.proto, mdns.TypeToString[c.qtype], c.edns), func(t *testing.T) {
			m := query(t, srv, c.proto, c.name, c.qtype, c.edns)
			if m.Rcode != mdns.RcodeSuccess || m.Truncated != c.tc {
				t.Fatalf("rcode %s TC %v, want NOERROR TC %v", mdns.RcodeToString[m.Rcode], m.Truncated, c.tc)
			}
			if c.tc && (len(m.Answer) == 0 || len(m.Answer) >= 100) {
				t.Errorf("truncated answer has %d records, want some but not all", len(m.Answer))
			}
			if !c.tc && (len(m.Answer) != c.answers || len(rrTexts(m.Extra)) != c.extra) {
				t.Errorf("%d answers and %d additional, want %d and %d", len(m.Answer), len(rrTexts(m.Extra)), c.answers, c.extra)
			}
			m.Compress = true // as sent: Len is then the wire size
			if m.Len() > c.maxSize {
				t.Errorf("reply is %d bytes, more than %d", m.Len(), c.maxSize)
			}
			opt := m.IsEdns0()
			if (opt != nil) != c.opt {
				t.Fatalf("OPT in reply: %v, want %v", opt != nil, c.opt)
			}
			if opt != nil && opt.UDPSize() != maxUDPSize {
				t.Errorf("OPT advertises %d, want %d", opt.UDPSize(), maxUDPSize)
			}
		})
	}
	t.Run("badvers", func(t *testing.T) {
		q := new(mdns.Msg).SetQuestion(many, mdns.TypeA)
		q.SetEdns0(1232, false)
		q.IsEdns0().SetVersion(1)
		m, _, err := (&mdns.Client{Timeout: 5 * time.Second}).Exchange(q, srv.UDPAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		if m.Rcode != mdns.RcodeBadVers || m.IsEdns0() == nil || len(m.Answer) != 0 {
			t.Errorf("rcode %s, OPT %v, %d answers: want BADVERS with OPT and no answer", mdns.RcodeToString[m.Rcode], m.IsEdns0() != nil, len(m.Answer))
		}
	})
	t.Run("go resolver falls back to TCP", func(t *testing.T) { checkGoResolver(t, srv) })
}

// truncationCase is a query of many.big and the reply's shape.
type truncationCase struct {
	proto   string
	name    string
	qtype   uint16
	edns    uint16
	tc      bool
	answers int // exact when !tc
	extra   int // additional records without OPT, when !tc
	maxSize int // the packed reply fits
	opt     bool
}

func truncationCases() []truncationCase {
	const many = "many.big.svc.cluster.local."
	const srvName = "_peer._tcp.many.big.svc.cluster.local."
	return []truncationCase{
		{proto: "udp", name: many, qtype: mdns.TypeA, tc: true, maxSize: 512},
		{proto: "udp", name: many, qtype: mdns.TypeA, edns: 1232, tc: true, maxSize: 1232, opt: true},
		{proto: "udp", name: many, qtype: mdns.TypeA, edns: 4096, answers: 100, maxSize: 4096, opt: true},
		{proto: "udp", name: many, qtype: mdns.TypeA, edns: 65000, answers: 100, maxSize: maxUDPSize, opt: true},
		{proto: "tcp", name: many, qtype: mdns.TypeA, answers: 100, maxSize: mdns.MaxMsgSize},
		{proto: "udp", name: srvName, qtype: mdns.TypeSRV, edns: 4096, tc: true, maxSize: 4096, opt: true},
		{proto: "tcp", name: srvName, qtype: mdns.TypeSRV, answers: 100, extra: 100, maxSize: mdns.MaxMsgSize},
		{proto: "tcp", name: srvName, qtype: mdns.TypeSRV, edns: 1232, answers: 100, extra: 100, maxSize: mdns.MaxMsgSize, opt: true},
	}
}

// checkGoResolver resolves through Go's own resolver, which retries over
// TCP on a truncated answer and rejects negative answers without an SOA.
func checkGoResolver(t *testing.T, srv *Server) {
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		addr := srv.UDPAddr().String()
		if network == "tcp" {
			addr = srv.TCPAddr().String()
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ips, err := r.LookupHost(ctx, "many.big.svc.cluster.local")
	if err != nil || len(ips) != 100 {
		t.Errorf("LookupHost: %d addresses, %v; want 100", len(ips), err)
	}
	_, srvs, err := r.LookupSRV(ctx, "peer", "tcp", "many.big.svc.cluster.local")
	if err != nil || len(srvs) != 100 {
		t.Errorf("LookupSRV: %d records, %v; want 100", len(srvs), err)
	}
	for _, name := range []string{"none.big.svc.cluster.local", "_tcp.many.big.svc.cluster.local"} {
		_, err = r.LookupHost(ctx, name)
		var dnsErr *net.DNSError
		if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
			t.Errorf("LookupHost(%s) = %v, want a not-found error (not a lame referral)", name, err)
		}
	}
}

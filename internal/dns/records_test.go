package dns

import (
	"slices"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// seedRecords creates, in namespace db, one service of each kind the
// server publishes.
func seedRecords(t *testing.T, e *env) {
	t.Helper()
	e.namespace(t, "db")
	tcp := func(name string, port int32) v1.EndpointPort {
		return v1.EndpointPort{Name: name, Port: port, Protocol: v1.ProtocolTCP}
	}
	// Headless with hostnames, a not-ready pet, and a second subset
	// with an unnamed port (no SRV) repeating an IP.
	e.service(t, "db", "pg", v1.ServiceSpec{ClusterIP: v1.ClusterIPNone, Ports: []v1.ServicePort{{Name: "postgres", Port: 5432}}})
	e.endpoints(t, "db", "pg",
		v1.EndpointSubset{
			Addresses:         []v1.EndpointAddress{{IP: "10.1.0.1", Hostname: "pg-0"}, {IP: "10.1.0.2", Hostname: "pg-1"}},
			NotReadyAddresses: []v1.EndpointAddress{{IP: "10.1.0.3", Hostname: "pg-2"}},
			Ports:             []v1.EndpointPort{tcp("postgres", 5432), tcp("metrics", 9187)},
		},
		v1.EndpointSubset{Addresses: []v1.EndpointAddress{{IP: "10.1.0.1", Hostname: "pg-0"}}, Ports: []v1.EndpointPort{tcp("", 7000)}},
	)
	// Headless whose only endpoint is not ready.
	e.service(t, "db", "empty", v1.ServiceSpec{ClusterIP: v1.ClusterIPNone})
	e.endpoints(t, "db", "empty", v1.EndpointSubset{NotReadyAddresses: []v1.EndpointAddress{{IP: "10.9.0.1"}}, Ports: []v1.EndpointPort{tcp("x", 1)}})
	// Not headless, no cluster IP: resolves to endpoints without hostnames.
	e.service(t, "db", "web", v1.ServiceSpec{Ports: []v1.ServicePort{{Name: "http", Port: 80}}})
	e.endpoints(t, "db", "web", v1.EndpointSubset{
		Addresses: []v1.EndpointAddress{{IP: "10.2.0.1"}, {IP: "10.2.0.2"}},
		Ports:     []v1.EndpointPort{tcp("http", 8080)},
	})
	// Not headless, selecting pg-0 too: pg-0's PTR keeps its hostname.
	e.service(t, "db", "pgread", v1.ServiceSpec{Ports: []v1.ServicePort{{Name: "postgres", Port: 5432}}})
	e.endpoints(t, "db", "pgread", v1.EndpointSubset{Addresses: []v1.EndpointAddress{{IP: "10.1.0.1"}}, Ports: []v1.EndpointPort{tcp("postgres", 5432)}})
	// Not headless, no endpoints at all.
	e.service(t, "db", "idle", v1.ServiceSpec{Ports: []v1.ServicePort{{Name: "http", Port: 80}}})
	// A real cluster IP set in the manifest.
	e.service(t, "db", "vip", v1.ServiceSpec{ClusterIP: "10.96.0.10", Ports: []v1.ServicePort{{Name: "dns", Port: 53, Protocol: v1.ProtocolUDP}}})
	e.endpoints(t, "db", "vip", v1.EndpointSubset{Addresses: []v1.EndpointAddress{{IP: "10.3.0.1"}}, Ports: []v1.EndpointPort{{Name: "dns", Port: 53, Protocol: v1.ProtocolUDP}}})
	// ExternalName, outside and inside the zone.
	e.service(t, "db", "ext", v1.ServiceSpec{Type: v1.ServiceTypeExternalName, ExternalName: "example.org"})
	e.service(t, "db", "alias", v1.ServiceSpec{Type: v1.ServiceTypeExternalName, ExternalName: "pg.db.svc.cluster.local"})
	// IPv6 endpoints.
	e.service(t, "db", "v6", v1.ServiceSpec{ClusterIP: v1.ClusterIPNone})
	e.endpoints(t, "db", "v6", v1.EndpointSubset{
		Addresses: []v1.EndpointAddress{{IP: "fd00::1", Hostname: "a"}, {IP: "fd00::2"}},
		Ports:     []v1.EndpointPort{tcp("peer", 2380)},
	})
}

// recordCase is one question and the answer it must get.
type recordCase struct {
	name   string
	qtype  uint16
	rcode  int
	answer []string // rrTexts of the answer section
	extra  []string // rrTexts of the additional section; nil: not checked
	soa    bool     // the zone's SOA in the authority section
	aa     bool     // authoritative
}

const soaText = "cluster.local. SOA ns.dns.cluster.local. hostmaster.cluster.local."

const (
	z  = ".db.svc.cluster.local."
	ok = mdns.RcodeSuccess
	nx = mdns.RcodeNameError
)

func recordCases() []recordCase {
	return slices.Concat(headlessCases(), otherServiceCases(), reverseAndOutsideCases())
}

// headlessCases are the zone's own names and headless services'.
func headlessCases() []recordCase {
	return []recordCase{
		{name: "dns-version.cluster.local.", qtype: mdns.TypeTXT, rcode: ok, aa: true, answer: []string{`dns-version.cluster.local. TXT "1.1.0"`}},
		{name: "cluster.local.", qtype: mdns.TypeNS, rcode: ok, aa: true, answer: []string{"cluster.local. NS ns.dns.cluster.local."},
			extra: []string{"ns.dns.cluster.local. A 127.0.0.1"}},
		{name: "ns.dns.cluster.local.", qtype: mdns.TypeA, rcode: ok, aa: true, answer: []string{"ns.dns.cluster.local. A 127.0.0.1"}},
		{name: "cluster.local.", qtype: mdns.TypeA, rcode: ok, aa: true, answer: nil, soa: true},
		// Headless: ready endpoints only, NODATA for other types.
		{name: "pg" + z, qtype: mdns.TypeA, rcode: ok, aa: true, answer: []string{"pg" + z + " A 10.1.0.1", "pg" + z + " A 10.1.0.2"}},
		{name: "pg" + z, qtype: mdns.TypeAAAA, rcode: ok, aa: true, answer: nil, soa: true},
		{name: "pg" + z, qtype: mdns.TypeTXT, rcode: ok, aa: true, answer: nil, soa: true},
		{name: "pg-0.pg" + z, qtype: mdns.TypeA, rcode: ok, aa: true, answer: []string{"pg-0.pg" + z + " A 10.1.0.1"}},
		{name: "pg-2.pg" + z, qtype: mdns.TypeA, rcode: nx, aa: true, answer: nil, soa: true},
		{name: "_postgres._tcp.pg" + z, qtype: mdns.TypeSRV, rcode: ok, aa: true,
			answer: []string{"_postgres._tcp.pg" + z + " SRV 0 50 5432 pg-0.pg" + z, "_postgres._tcp.pg" + z + " SRV 0 50 5432 pg-1.pg" + z},
			extra:  []string{"pg-0.pg" + z + " A 10.1.0.1", "pg-1.pg" + z + " A 10.1.0.2"}},
		{name: "_metrics._tcp.pg" + z, qtype: mdns.TypeSRV, rcode: ok, aa: true,
			answer: []string{"_metrics._tcp.pg" + z + " SRV 0 50 9187 pg-0.pg" + z, "_metrics._tcp.pg" + z + " SRV 0 50 9187 pg-1.pg" + z}},
		{name: "_postgres._udp.pg" + z, qtype: mdns.TypeSRV, rcode: nx, aa: true, answer: nil, soa: true},
		{name: "_postgres._tcp.pg" + z, qtype: mdns.TypeA, rcode: ok, aa: true, answer: nil, soa: true},
		// Empty non-terminals exist; names that were never there do not.
		{name: "_tcp.pg" + z, qtype: mdns.TypeA, rcode: ok, aa: true, answer: nil, soa: true},
		{name: "db.svc.cluster.local.", qtype: mdns.TypeA, rcode: ok, aa: true, answer: nil, soa: true},
		{name: "svc.cluster.local.", qtype: mdns.TypeA, rcode: ok, aa: true, answer: nil, soa: true},
		{name: "nosuch" + z, qtype: mdns.TypeA, rcode: nx, aa: true, answer: nil, soa: true},
		{name: "nosuch.svc.cluster.local.", qtype: mdns.TypeA, rcode: nx, aa: true, answer: nil, soa: true},
		{name: "x.cluster.local.", qtype: mdns.TypeA, rcode: nx, aa: true, answer: nil, soa: true},
		{name: "empty" + z, qtype: mdns.TypeA, rcode: nx, aa: true, answer: nil, soa: true},
	}
}

// otherServiceCases are services that are not headless, ExternalName
// services and IPv6 endpoints.
func otherServiceCases() []recordCase {
	pgA := []string{"pg" + z + " A 10.1.0.1", "pg" + z + " A 10.1.0.2"}
	return []recordCase{
		// Not headless without an IP: endpoints, with names made from IPs.
		{name: "web" + z, qtype: mdns.TypeA, rcode: ok, aa: true, answer: []string{"web" + z + " A 10.2.0.1", "web" + z + " A 10.2.0.2"}},
		{name: "10-2-0-1.web" + z, qtype: mdns.TypeA, rcode: ok, aa: true, answer: []string{"10-2-0-1.web" + z + " A 10.2.0.1"}},
		{name: "_http._tcp.web" + z, qtype: mdns.TypeSRV, rcode: ok, aa: true,
			answer: []string{"_http._tcp.web" + z + " SRV 0 50 8080 10-2-0-1.web" + z, "_http._tcp.web" + z + " SRV 0 50 8080 10-2-0-2.web" + z},
			extra:  []string{"10-2-0-1.web" + z + " A 10.2.0.1", "10-2-0-2.web" + z + " A 10.2.0.2"}},
		{name: "idle" + z, qtype: mdns.TypeA, rcode: ok, aa: true, answer: nil, soa: true},
		// A real cluster IP answers itself, as in Kubernetes.
		// A clusterIP set by a manifest is not answered: nothing routes
		// it; the service resolves to its ready endpoints.
		{name: "vip" + z, qtype: mdns.TypeA, rcode: ok, aa: true, answer: []string{"vip" + z + " A 10.3.0.1"}},
		{name: "_dns._udp.vip" + z, qtype: mdns.TypeSRV, rcode: ok, aa: true,
			answer: []string{"_dns._udp.vip" + z + " SRV 0 100 53 10-3-0-1.vip" + z}, extra: []string{"10-3-0-1.vip" + z + " A 10.3.0.1"}},
		// ExternalName: a CNAME, followed for the asked type.
		{name: "ext" + z, qtype: mdns.TypeCNAME, rcode: ok, aa: true, answer: []string{"ext" + z + " CNAME example.org."}},
		{name: "ext" + z, qtype: mdns.TypeA, rcode: ok, aa: true, answer: []string{"example.org. A 192.0.2.10", "ext" + z + " CNAME example.org."}},
		{name: "alias" + z, qtype: mdns.TypeA, rcode: ok, aa: true, answer: append([]string{"alias" + z + " CNAME pg.db.svc.cluster.local."}, pgA...)},
		{name: "alias" + z, qtype: mdns.TypeAAAA, rcode: ok, aa: true, answer: []string{"alias" + z + " CNAME pg.db.svc.cluster.local."}, soa: true},
		// IPv6.
		{name: "v6" + z, qtype: mdns.TypeAAAA, rcode: ok, aa: true, answer: []string{"v6" + z + " AAAA fd00::1", "v6" + z + " AAAA fd00::2"}},
		{name: "v6" + z, qtype: mdns.TypeA, rcode: ok, aa: true, answer: nil, soa: true},
		{name: "a.v6" + z, qtype: mdns.TypeAAAA, rcode: ok, aa: true, answer: []string{"a.v6" + z + " AAAA fd00::1"}},
		{name: "fd00--2.v6" + z, qtype: mdns.TypeAAAA, rcode: ok, aa: true, answer: []string{"fd00--2.v6" + z + " AAAA fd00::2"}},
		{name: "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", qtype: mdns.TypePTR, rcode: ok, aa: true,
			answer: []string{"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa. PTR a.v6" + z}},
	}
}

// reverseAndOutsideCases are PTRs, forwarded names and mixed case.
func reverseAndOutsideCases() []recordCase {
	return []recordCase{
		// PTR for endpoints: one per IP, an endpoint's hostname first.
		{name: "pgread" + z, qtype: mdns.TypeA, rcode: ok, aa: true, answer: []string{"pgread" + z + " A 10.1.0.1"}},
		{name: "10-1-0-1.pgread" + z, qtype: mdns.TypeA, rcode: ok, aa: true, answer: []string{"10-1-0-1.pgread" + z + " A 10.1.0.1"}},
		{name: "1.0.1.10.in-addr.arpa.", qtype: mdns.TypePTR, rcode: ok, aa: true, answer: []string{"1.0.1.10.in-addr.arpa. PTR pg-0.pg" + z}},
		{name: "2.0.2.10.in-addr.arpa.", qtype: mdns.TypePTR, rcode: ok, aa: true, answer: []string{"2.0.2.10.in-addr.arpa. PTR 10-2-0-2.web" + z}},
		// Not ready: not in the index, so forwarded (the upstream says NXDOMAIN).
		{name: "3.0.1.10.in-addr.arpa.", qtype: mdns.TypePTR, rcode: nx, answer: nil},
		// Outside the zone: forwarded.
		{name: "example.org.", qtype: mdns.TypeA, rcode: ok, answer: []string{"example.org. A 192.0.2.10"}},
		{name: "nowhere.example.", qtype: mdns.TypeA, rcode: nx, answer: nil},
		// Names compare case-insensitively.
		{name: "PG-0.Pg.DB.svc.Cluster.Local.", qtype: mdns.TypeA, rcode: ok, aa: true, answer: []string{"pg-0.pg" + z + " A 10.1.0.1"}},
		{name: "_Postgres._TCP.pg.db.SVC.cluster.local.", qtype: mdns.TypeSRV, rcode: ok, aa: true,
			answer: []string{"_postgres._tcp.pg" + z + " SRV 0 50 5432 pg-0.pg" + z, "_postgres._tcp.pg" + z + " SRV 0 50 5432 pg-1.pg" + z}},
		{name: "DNS-VERSION.CLUSTER.LOCAL.", qtype: mdns.TypeTXT, rcode: ok, aa: true, answer: []string{`dns-version.cluster.local. TXT "1.1.0"`}},
	}
}

// TestRecords asks every record type and error case of SPECS.md §2 over
// UDP and TCP, of a server that read the objects at start.
func TestRecords(t *testing.T) {
	e := newEnv(t)
	seedRecords(t, e)
	srv := e.start(t, nil)
	for _, proto := range []string{"udp", "tcp"} {
		for _, c := range recordCases() {
			t.Run(proto+"/"+c.name+"/"+mdns.TypeToString[c.qtype], func(t *testing.T) {
				m := query(t, srv, proto, c.name, c.qtype, 0)
				checkReply(t, m, c)
			})
		}
	}
	// With no virtual IP, clients that take the first address spread
	// over endpoints because answers rotate.
	t.Run("rotation", func(t *testing.T) {
		firsts := map[string]bool{}
		for range 4 {
			m := query(t, srv, "udp", "web"+z, mdns.TypeA, 0)
			firsts[m.Answer[0].(*mdns.A).A.String()] = true
		}
		if len(firsts) != 2 {
			t.Errorf("first addresses over 4 queries: %v, want both endpoints", firsts)
		}
	})
}

func checkReply(t *testing.T, m *mdns.Msg, c recordCase) {
	t.Helper()
	if m.Rcode != c.rcode {
		t.Errorf("rcode = %s, want %s", mdns.RcodeToString[m.Rcode], mdns.RcodeToString[c.rcode])
	}
	if got := rrTexts(m.Answer); !slices.Equal(got, sorted(c.answer)) {
		t.Errorf("answer =\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(sorted(c.answer), "\n  "))
	}
	if c.extra != nil {
		if got := rrTexts(m.Extra); !slices.Equal(got, sorted(c.extra)) {
			t.Errorf("additional =\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(sorted(c.extra), "\n  "))
		}
	}
	hasSOA := len(m.Ns) == 1 && strings.HasPrefix(rrTexts(m.Ns)[0], soaText)
	if hasSOA != c.soa {
		t.Errorf("authority = %v, want SOA: %v", rrTexts(m.Ns), c.soa)
	}
	if m.Authoritative != c.aa {
		t.Errorf("AA = %v, want %v", m.Authoritative, c.aa)
	}
	if m.Question[0].Name != c.name {
		t.Errorf("question = %q, want the asked %q", m.Question[0].Name, c.name)
	}
	if m.Truncated {
		t.Error("TC set on a small answer")
	}
	// The zone's records carry the configured TTL (default 5 s).
	for _, rr := range append(slices.Clone(m.Answer), m.Ns...) {
		name := strings.ToLower(rr.Header().Name)
		if c.aa && (inZone(name, "cluster.local.") || isReverse(name)) && rr.Header().Ttl != 5 {
			t.Errorf("TTL of %v = %d, want 5", rr, rr.Header().Ttl)
		}
	}
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

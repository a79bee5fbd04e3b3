package dns

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// The tests' federation: acme, domain fed.test.
const (
	fedZone    = "fed.test."
	fedSOA     = "fed.test. SOA ns.dns.fed.test. hostmaster.fed.test."
	clusterSOA = soaText
	pgFed      = "pg.db.acme.svc."               // the prefix of pg's federated names
	pgG        = pgFed + fedZone                 // pg's global name
	idleFed    = "idle.db.acme.svc."             // a service with no healthy shard
	pgAlias    = "pg.db.acme.svc.cluster.local." // pg's member alias
	pgLocal    = "pg.db.svc.cluster.local."
)

// pgShards are the shards of db/pg: a healthy and an unhealthy zone in
// us, a healthy dual-stack zone in eu, and an unhealthy region ap whose
// stale addresses must not be answered (one shard there has no zone).
func pgShards() []v1.ServiceShard {
	return []v1.ServiceShard{
		{Cluster: "c1", Region: "us", Zone: "us-a", Healthy: true, Addresses: []string{"10.1.0.1"},
			Pets: []v1.PetAddress{{Hostname: "pg-0", IP: "10.1.0.1"}}},
		{Cluster: "c2", Region: "us", Zone: "us-b"},
		{Cluster: "c3", Region: "eu", Zone: "eu-a", Healthy: true, Addresses: []string{"10.2.0.1", "fd00::21"},
			Pets: []v1.PetAddress{{Hostname: "pg-1", IP: "10.2.0.1"}}},
		{Cluster: "c4", Region: "ap", Zone: "ap-a", Addresses: []string{"10.3.0.1"},
			Pets: []v1.PetAddress{{Hostname: "pg-2", IP: "10.3.0.1"}}},
		{Cluster: "c5", Region: "ap"},
	}
}

// federated creates the FederatedEndpoints of service ns/svc in
// federation acme, creating their namespace if it is missing.
func (e *env) federated(t testing.TB, ns, svc string, shards []v1.ServiceShard) {
	t.Helper()
	nss := client.For[*v1.Namespace](e.tc.Admin, "")
	if _, err := nss.Get(e.ctx, v1.NamespaceFederation); v1.IsNotFound(err) {
		e.namespace(t, v1.NamespaceFederation)
	}
	fe := &v1.FederatedEndpoints{
		ObjectMeta: v1.ObjectMeta{Name: v1.FederatedEndpointsName(ns, svc), Namespace: v1.NamespaceFederation},
		Spec:       v1.FederatedEndpointsSpec{Federation: "acme", Domain: "fed.test", Namespace: ns, Service: svc, Shards: shards},
	}
	if _, err := client.For[*v1.FederatedEndpoints](e.tc.Admin, v1.NamespaceFederation).Create(e.ctx, fe); err != nil {
		t.Fatalf("create federated endpoints %s: %v", fe.Name, err)
	}
}

// updateFederated changes the FederatedEndpoints of ns/svc.
func (e *env) updateFederated(t testing.TB, ns, svc string, change func(*v1.FederatedEndpointsSpec)) {
	t.Helper()
	fes := client.For[*v1.FederatedEndpoints](e.tc.Admin, v1.NamespaceFederation)
	fe, err := fes.Get(e.ctx, v1.FederatedEndpointsName(ns, svc))
	if err != nil {
		t.Fatal(err)
	}
	change(&fe.Spec)
	if _, err := fes.Update(e.ctx, fe); err != nil {
		t.Fatal(err)
	}
}

// fedCase is one question and the answer it must get.
type fedCase struct {
	name   string
	qtype  uint16
	rcode  int
	answer []string // rrTexts of the answer section
	soa    string   // the SOA expected in the authority section, "" for none
}

// federatedCases cover SPECS.md §3 for pg and idle.
func federatedCases() []fedCase {
	g := func(ips ...string) []string {
		var out []string
		for _, ip := range ips {
			t := " A "
			if strings.Contains(ip, ":") {
				t = " AAAA "
			}
			out = append(out, pgG+t+ip)
		}
		return out
	}
	return []fedCase{
		// A zone with a healthy shard answers it; one without falls
		// back to its region, chased; a region without to the global name.
		{pgFed + "us-a.us.fed.test.", mdns.TypeA, ok, []string{pgFed + "us-a.us.fed.test. A 10.1.0.1"}, ""},
		{pgFed + "us-b.us.fed.test.", mdns.TypeA, ok, []string{pgFed + "us-b.us.fed.test. CNAME " + pgFed + "us.fed.test.", pgFed + "us.fed.test. A 10.1.0.1"}, ""},
		{pgFed + "us.fed.test.", mdns.TypeA, ok, []string{pgFed + "us.fed.test. A 10.1.0.1"}, ""},
		{pgFed + "eu-a.eu.fed.test.", mdns.TypeAAAA, ok, []string{pgFed + "eu-a.eu.fed.test. AAAA fd00::21"}, ""},
		{pgFed + "ap-a.ap.fed.test.", mdns.TypeA, ok, append([]string{pgFed + "ap-a.ap.fed.test. CNAME " + pgFed + "ap.fed.test.",
			pgFed + "ap.fed.test. CNAME " + pgG}, g("10.1.0.1", "10.2.0.1")...), ""},
		{pgFed + "ap.fed.test.", mdns.TypeA, ok, append([]string{pgFed + "ap.fed.test. CNAME " + pgG}, g("10.1.0.1", "10.2.0.1")...), ""},
		{pgFed + "ap.fed.test.", mdns.TypeCNAME, ok, []string{pgFed + "ap.fed.test. CNAME " + pgG}, ""},
		{pgG, mdns.TypeA, ok, g("10.1.0.1", "10.2.0.1"), ""},
		{pgG, mdns.TypeAAAA, ok, g("fd00::21"), ""},
		{pgG, mdns.TypeTXT, ok, nil, fedSOA},
		// Pets, wherever they run: pets are ready endpoints.
		{"pg-0." + pgG, mdns.TypeA, ok, []string{"pg-0." + pgG + " A 10.1.0.1"}, ""},
		{"pg-2." + pgG, mdns.TypeA, ok, []string{"pg-2." + pgG + " A 10.3.0.1"}, ""},
		{"pg-9." + pgG, mdns.TypeA, nx, nil, fedSOA},
		// No healthy shard anywhere: NODATA, at the end of the chain too.
		{idleFed + fedZone, mdns.TypeA, ok, nil, fedSOA},
		{idleFed + "us-b.us.fed.test.", mdns.TypeA, ok, []string{idleFed + "us-b.us.fed.test. CNAME " + idleFed + "us.fed.test.",
			idleFed + "us.fed.test. CNAME " + idleFed + fedZone}, fedSOA},
		// The domain's own names, empty non-terminals, unknown names.
		{fedZone, mdns.TypeSOA, ok, []string{fedSOA + " 0 7200 1800 86400 30"}, ""},
		{fedZone, mdns.TypeNS, ok, []string{"fed.test. NS ns.dns.fed.test."}, ""},
		{"db.acme.svc.fed.test.", mdns.TypeA, ok, nil, fedSOA},
		{"us.fed.test.", mdns.TypeA, ok, nil, fedSOA},
		{"nothing.fed.test.", mdns.TypeA, nx, nil, fedSOA},
		{"other.db.acme.svc.fed.test.", mdns.TypeA, nx, nil, fedSOA},
		{pgFed + "us-c.us.fed.test.", mdns.TypeA, nx, nil, fedSOA},
		// Case-insensitive.
		{"PG.Db.ACME.svc.US-A.us.Fed.Test.", mdns.TypeA, ok, []string{pgFed + "us-a.us.fed.test. A 10.1.0.1"}, ""},
		// Outside a member, the cluster zone has no federated alias.
		{pgAlias, mdns.TypeA, nx, nil, clusterSOA},
	}
}

// TestFederatedRecords asks the federated names of SPECS.md §3 over UDP
// and TCP, of a server that read the objects at start; fed.test is
// served, never forwarded, and the cluster zone is unchanged.
func TestFederatedRecords(t *testing.T) {
	e := newEnv(t)
	e.federated(t, "db", "pg", pgShards())
	e.federated(t, "db", "idle", []v1.ServiceShard{{Cluster: "c2", Region: "us", Zone: "us-b"}})
	srv := e.start(t, nil)
	for _, proto := range []string{"udp", "tcp"} {
		for _, c := range federatedCases() {
			t.Run(proto+"/"+c.name+"/"+mdns.TypeToString[c.qtype], func(t *testing.T) {
				checkFederated(t, query(t, srv, proto, c.name, c.qtype, 1232), c, 30)
			})
		}
	}
	m := query(t, srv, "udp", "dns-version.cluster.local.", mdns.TypeTXT, 0)
	if m.Rcode != ok || len(m.Answer) != 1 || m.Answer[0].Header().Ttl != 5 {
		t.Errorf("dns-version.cluster.local: %s %v", mdns.RcodeToString[m.Rcode], m.Answer)
	}
	if asked := e.up.askedUnder(fedZone); len(asked) > 0 {
		t.Errorf("the upstream was asked %v", asked)
	}
	t.Run("federation ttl", func(t *testing.T) {
		srv := e.start(t, func(c *Config) { c.FederationTTL = 7 * time.Second })
		checkFederated(t, query(t, srv, "udp", pgFed+"us-b.us.fed.test.", mdns.TypeA, 0), federatedCases()[1], 7)
		checkFederated(t, query(t, srv, "tcp", "nothing.fed.test.", mdns.TypeA, 0), fedCase{"nothing.fed.test.", mdns.TypeA, nx, nil, fedSOA}, 7)
	})
}

// checkFederated checks a reply against c, and that the federated
// records in it carry ttl.
func checkFederated(t *testing.T, m *mdns.Msg, c fedCase, ttl uint32) {
	t.Helper()
	if m.Rcode != c.rcode || !m.Authoritative {
		t.Errorf("rcode = %s AA %v, want %s AA", mdns.RcodeToString[m.Rcode], m.Authoritative, mdns.RcodeToString[c.rcode])
	}
	want := sorted(c.answer)
	if c.qtype == mdns.TypeSOA {
		want = rrTexts(m.Answer) // the serial is the start time
		if len(want) != 1 || !strings.HasPrefix(want[0], c.answer[0][:len(fedSOA)]) || !strings.HasSuffix(want[0], " 7200 1800 86400 "+strconv.Itoa(int(ttl))) {
			t.Errorf("SOA = %v", want)
		}
	}
	if got := rrTexts(m.Answer); !slices.Equal(got, want) {
		t.Errorf("answer =\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	ns := rrTexts(m.Ns)
	if hasSOA := len(ns) == 1 && c.soa != "" && strings.HasPrefix(ns[0], c.soa); hasSOA != (c.soa != "") {
		t.Errorf("authority = %v, want SOA %q", ns, c.soa)
	}
	for _, rr := range append(slices.Clone(m.Answer), m.Ns...) {
		if inZone(strings.ToLower(rr.Header().Name), fedZone) && rr.Header().Ttl != ttl {
			t.Errorf("TTL of %v = %d, want %d", rr, rr.Header().Ttl, ttl)
		}
	}
}

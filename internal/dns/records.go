package dns

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"

	mdns "github.com/miekg/dns"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// rrset is what one name answers, by type. It is never changed once it is
// in the index, so a query uses it without holding a lock, and its slices
// are clipped so that appending to one copies it.
type rrset struct {
	a, aaaa  []mdns.RR
	srv      []mdns.RR
	srvExtra []mdns.RR // the A/AAAA records of the SRV targets
	txt      []mdns.RR
	cname    []mdns.RR
	soa, ns  []mdns.RR
	nsExtra  []mdns.RR
}

// records returns the answer and additional records for qtype.
func (r *rrset) records(qtype uint16) (answer, extra []mdns.RR) {
	switch qtype {
	case mdns.TypeA:
		return r.a, nil
	case mdns.TypeAAAA:
		return r.aaaa, nil
	case mdns.TypeSRV:
		return r.srv, r.srvExtra
	case mdns.TypeTXT:
		return r.txt, nil
	case mdns.TypeCNAME:
		return r.cname, nil
	case mdns.TypeSOA:
		return r.soa, nil
	case mdns.TypeNS:
		return r.ns, r.nsExtra
	case mdns.TypeANY:
		return slices.Concat(r.soa, r.ns, r.cname, r.a, r.aaaa, r.srv, r.txt), nil
	}
	return nil, nil
}

// svcRecords are the names one owner (a service, or the zone's own
// records) publishes.
type svcRecords struct {
	names map[string]*rrset
	// ents are the empty non-terminals above names, up to the apex: they
	// exist (NODATA) without records of their own.
	ents []string
	// ptrs maps reverse names to their PTR record.
	ptrs map[string]ptrRecord
}

// ptrRecord is the PTR one owner publishes for an IP. An IP answers one
// PTR, as CoreDNS does: tools that check a reverse name take the first.
type ptrRecord struct {
	answer []mdns.RR // the one PTR, as an answer section
	// named says the target is an endpoint's own hostname (or a service
	// name), not a name made from its IP; named targets win.
	named bool
}

// better reports whether p should answer rather than q.
func (p ptrRecord) better(q ptrRecord) bool {
	if p.named != q.named {
		return p.named
	}
	return p.answer[0].(*mdns.PTR).Ptr < q.answer[0].(*mdns.PTR).Ptr
}

// srvTarget is one SRV record before it is built.
type srvTarget struct {
	target string
	port   uint16
}

// pending collects a name's records while a builder runs.
type pending struct {
	addrs []netip.Addr
	srvs  []srvTarget
	cname string
	txt   []string
}

// builder turns a service and its endpoints into records.
type builder struct {
	zone  string // lowercase, fully qualified
	ttl   uint32
	names map[string]*pending
	ptrs  map[string]ptrTarget // reverse name → the best target
}

// ptrTarget is a PTR before it is built.
type ptrTarget struct {
	target string
	named  bool
}

func newBuilder(zone string, ttl uint32) *builder {
	return &builder{zone: zone, ttl: ttl, names: map[string]*pending{}, ptrs: map[string]ptrTarget{}}
}

func (b *builder) name(n string) *pending {
	p := b.names[n]
	if p == nil {
		p = &pending{}
		b.names[n] = p
	}
	return p
}

// addPTR offers target as the PTR of ip; named targets, then the first
// in order, win.
func (b *builder) addPTR(ip netip.Addr, target string, named bool) {
	rev, err := mdns.ReverseAddr(ip.String())
	if err != nil {
		return
	}
	old, ok := b.ptrs[rev]
	if !ok || named && !old.named || named == old.named && target < old.target {
		b.ptrs[rev] = ptrTarget{target: target, named: named}
	}
}

// buildService computes the records of one service from its Endpoints
// (nil when there are none). A nil service publishes nothing.
func buildService(zone string, ttl uint32, svc *v1.Service, ep *v1.Endpoints) *svcRecords {
	if svc == nil {
		return nil
	}
	b := newBuilder(zone, ttl)
	base := strings.ToLower(svc.Name + "." + svc.Namespace + ".svc." + zone)
	if svc.Spec.Type == v1.ServiceTypeExternalName {
		p := b.name(base)
		if svc.Spec.ExternalName != "" {
			p.cname = mdns.Fqdn(strings.ToLower(svc.Spec.ExternalName))
		}
		return b.finish()
	}
	// Kennel has no virtual-IP proxy: a service answers with its ready
	// endpoints whether it is headless or not, and a clusterIP a
	// manifest sets is not answered (nothing would route it).
	b.endpoints(base, ep)
	if svc.Spec.ClusterIP != v1.ClusterIPNone {
		// Not headless: the service's name exists even without
		// endpoints, as it would with a virtual IP.
		b.name(base)
	}
	return b.finish()
}

// endpoints publishes the ready addresses of ep: the service name, one
// name per endpoint, SRV per named port and PTR per IP.
func (b *builder) endpoints(base string, ep *v1.Endpoints) {
	if ep == nil {
		return
	}
	for _, ss := range ep.Subsets {
		hosts := make([]string, 0, len(ss.Addresses))
		for _, a := range ss.Addresses {
			ip, err := netip.ParseAddr(a.IP)
			if err != nil {
				continue
			}
			ip = ip.Unmap()
			host := strings.ToLower(hostLabel(a.Hostname, ip)) + "." + base
			hosts = append(hosts, host)
			b.name(host).addrs = append(b.name(host).addrs, ip)
			b.name(base).addrs = append(b.name(base).addrs, ip)
			b.addPTR(ip, host, a.Hostname != "")
		}
		if len(hosts) == 0 {
			continue
		}
		for _, port := range ss.Ports {
			if port.Name == "" {
				continue
			}
			srv := b.name(srvName(port.Name, port.Protocol, base))
			for _, h := range hosts {
				srv.srvs = append(srv.srvs, srvTarget{target: h, port: uint16(port.Port)})
			}
		}
	}
}

// hostLabel is an endpoint's name under its service: its hostname, or,
// as Kubernetes does, its IP with dashes (10-1-2-3, fd00--1).
func hostLabel(hostname string, ip netip.Addr) string {
	if hostname != "" {
		return hostname
	}
	s := ip.String()
	if ip.Is4() {
		return strings.ReplaceAll(s, ".", "-")
	}
	return strings.ReplaceAll(s, ":", "-")
}

// srvName is _<port>._<proto>.<base>; the protocol defaults to TCP.
func srvName(port string, proto v1.Protocol, base string) string {
	p := strings.ToLower(string(proto))
	if p == "" {
		p = "tcp"
	}
	return "_" + strings.ToLower(port) + "._" + p + "." + base
}

// finish builds the records, sorted and without duplicates.
func (b *builder) finish() *svcRecords {
	out := &svcRecords{names: make(map[string]*rrset, len(b.names)), ptrs: make(map[string]ptrRecord, len(b.ptrs))}
	for n, p := range b.names {
		out.names[n] = b.rrsetOf(n, p)
	}
	// SRV targets' addresses go into the additional section, once each.
	for _, rs := range out.names {
		seen := map[string]bool{}
		for _, rr := range rs.srv {
			t := rr.(*mdns.SRV).Target
			if tr := out.names[t]; tr != nil && !seen[t] {
				seen[t] = true
				rs.srvExtra = append(rs.srvExtra, tr.a...)
				rs.srvExtra = append(rs.srvExtra, tr.aaaa...)
			}
		}
		rs.srvExtra = clip(rs.srvExtra)
	}
	for rev, t := range b.ptrs {
		rr := &mdns.PTR{Hdr: b.hdr(rev, mdns.TypePTR), Ptr: t.target}
		out.ptrs[rev] = ptrRecord{answer: []mdns.RR{rr}, named: t.named}
	}
	out.ents = emptyNonTerminals(out.names, b.zone)
	return out
}

func (b *builder) rrsetOf(name string, p *pending) *rrset {
	rs := &rrset{}
	slices.SortFunc(p.addrs, netip.Addr.Compare)
	for _, ip := range slices.Compact(p.addrs) {
		if ip.Is4() {
			rs.a = append(rs.a, &mdns.A{Hdr: b.hdr(name, mdns.TypeA), A: ip.AsSlice()})
		} else {
			rs.aaaa = append(rs.aaaa, &mdns.AAAA{Hdr: b.hdr(name, mdns.TypeAAAA), AAAA: ip.AsSlice()})
		}
	}
	slices.SortFunc(p.srvs, func(x, y srvTarget) int {
		return cmp.Or(strings.Compare(x.target, y.target), cmp.Compare(x.port, y.port))
	})
	srvs := slices.Compact(p.srvs)
	// RFC 2782: one priority, weights shared evenly.
	weight := uint16(max(1, 100/max(1, len(srvs))))
	for _, s := range srvs {
		rs.srv = append(rs.srv, &mdns.SRV{Hdr: b.hdr(name, mdns.TypeSRV), Priority: 0, Weight: weight, Port: s.port, Target: s.target})
	}
	if p.cname != "" {
		rs.cname = []mdns.RR{&mdns.CNAME{Hdr: b.hdr(name, mdns.TypeCNAME), Target: p.cname}}
	}
	if len(p.txt) > 0 {
		rs.txt = []mdns.RR{&mdns.TXT{Hdr: b.hdr(name, mdns.TypeTXT), Txt: p.txt}}
	}
	rs.a, rs.aaaa, rs.srv = clip(rs.a), clip(rs.aaaa), clip(rs.srv)
	return rs
}

func (b *builder) hdr(name string, t uint16) mdns.RR_Header {
	return mdns.RR_Header{Name: name, Rrtype: t, Class: mdns.ClassINET, Ttl: b.ttl}
}

// emptyNonTerminals lists the names between each name and the apex that
// are not names themselves.
func emptyNonTerminals(names map[string]*rrset, zone string) []string {
	seen := map[string]bool{}
	for n := range names {
		for {
			i := strings.IndexByte(n, '.')
			if i < 0 || len(n)-i-1 <= len(zone) {
				break
			}
			n = n[i+1:]
			if _, real := names[n]; !real {
				seen[n] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// clip makes a shared slice copy-on-append.
func clip(rrs []mdns.RR) []mdns.RR {
	if len(rrs) == 0 {
		return nil
	}
	return rrs[:len(rrs):len(rrs)]
}

// zoneRecords are the zone's own names: SOA and NS at the apex,
// dns-version, and ns.dns.<zone>, which has the server's addresses when
// it listens on specific ones. It also returns the SOA that negative
// answers carry.
func zoneRecords(zone string, ttl, serial uint32, nsAddrs []netip.Addr) (*svcRecords, *mdns.SOA) {
	b := newBuilder(zone, ttl)
	b.name("dns-version." + zone).txt = []string{SchemaVersion}
	return b.apex(serial, nsAddrs)
}

// apex adds the names of the builder's zone apex (SOA, NS and
// ns.dns.<zone> with nsAddrs) to what b has, and returns the records
// and the SOA.
func (b *builder) apex(serial uint32, nsAddrs []netip.Addr) (*svcRecords, *mdns.SOA) {
	zone := b.zone
	nsName := "ns.dns." + zone
	b.name(zone)
	b.name(nsName).addrs = append([]netip.Addr(nil), nsAddrs...)
	out := b.finish()
	soa := &mdns.SOA{
		Hdr: b.hdr(zone, mdns.TypeSOA), Ns: nsName, Mbox: "hostmaster." + zone,
		Serial: serial, Refresh: 7200, Retry: 1800, Expire: 86400, Minttl: b.ttl,
	}
	apex := out.names[zone]
	apex.soa = []mdns.RR{soa}
	apex.ns = []mdns.RR{&mdns.NS{Hdr: b.hdr(zone, mdns.TypeNS), Ns: nsName}}
	ns := out.names[nsName]
	apex.nsExtra = clip(slices.Concat(ns.a, ns.aaaa))
	return out, soa
}

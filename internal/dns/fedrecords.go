package dns

import (
	"net/netip"
	"strings"

	mdns "github.com/miekg/dns"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// Owner keys of federated records in the index. A service's owner is
// "ns/name" and the zone's is "": the colon, which no namespace has,
// keeps these apart.
func federatedOwner(key string) string { return "federated:" + key }
func memberOwner(key string) string    { return "member:" + key }
func domainOwner(domain string) string { return "domain:" + domain }

// federatedNames are the names of one federated service s in namespace
// n of federation f, under domain d.
type federatedNames struct {
	prefix string // "s.n.f.svc."
	domain string // d, lowercase, fully qualified
}

// global is s.n.f.svc.d.
func (n federatedNames) global() string { return n.prefix + n.domain }

// region is s.n.f.svc.r.d.
func (n federatedNames) region(r string) string { return n.prefix + r + "." + n.domain }

// zone is s.n.f.svc.z.r.d.
func (n federatedNames) zone(z, r string) string { return n.prefix + z + "." + r + "." + n.domain }

// namesOf returns the names of a federated service; false when its spec
// does not make valid names (validation makes that unlikely).
func namesOf(spec *v1.FederatedEndpointsSpec) (federatedNames, bool) {
	d, ok := domainName(spec.Domain)
	if !ok {
		return federatedNames{}, false
	}
	prefix := ""
	for _, l := range []string{spec.Service, spec.Namespace, spec.Federation} {
		label, ok := dnsLabel(l)
		if !ok {
			return federatedNames{}, false
		}
		prefix += label + "."
	}
	return federatedNames{prefix: prefix + "svc.", domain: d}, true
}

// buildFederated computes the names of a federated service in its
// domain (SPECS.md §3), which it also returns; nil when the spec makes
// no valid names.
//
// The zone and region names of a place exist when some shard is there,
// healthy or not. A name answers the addresses of the healthy shards
// it covers; with none, the zone name is a CNAME to its region's name
// and the region name a CNAME to the global one, which then has no
// records (NODATA). A pet's name answers where the pet is listed, from
// any shard: pets are ready endpoints. If a pet is listed by several
// shards while it moves, the healthy shards' entries win.
func buildFederated(spec *v1.FederatedEndpointsSpec, ttl uint32) (string, *svcRecords) {
	n, ok := namesOf(spec)
	if !ok {
		return "", nil
	}
	b := newBuilder(n.domain, ttl)
	global := b.name(n.global())
	// fallback maps each zone and region name to its CNAME target.
	fallback := map[string]string{}
	for _, sh := range spec.Shards {
		addrs := shardAddrs(sh)
		global.addrs = append(global.addrs, addrs...)
		r, ok := dnsLabel(sh.Region)
		if !ok {
			continue
		}
		rn := n.region(r)
		b.name(rn).addrs = append(b.name(rn).addrs, addrs...)
		fallback[rn] = n.global()
		z, ok := dnsLabel(sh.Zone)
		if !ok {
			continue
		}
		zn := n.zone(z, r)
		b.name(zn).addrs = append(b.name(zn).addrs, addrs...)
		fallback[zn] = rn
	}
	for name, target := range fallback {
		if p := b.names[name]; len(p.addrs) == 0 {
			p.cname = target
		}
	}
	b.pets(n.global(), spec.Shards)
	return n.domain, b.finish()
}

// shardAddrs are what a shard answers: its ready endpoints when it is
// healthy, nothing otherwise.
func shardAddrs(sh v1.ServiceShard) []netip.Addr {
	if !sh.Healthy {
		return nil
	}
	out := make([]netip.Addr, 0, len(sh.Addresses))
	for _, a := range sh.Addresses {
		if ip, err := netip.ParseAddr(a); err == nil {
			out = append(out, ip.Unmap())
		}
	}
	return out
}

// pets publishes <pet>.<global> for every pet of the shards.
func (b *builder) pets(global string, shards []v1.ServiceShard) {
	all, healthy := map[string][]netip.Addr{}, map[string][]netip.Addr{}
	for _, sh := range shards {
		for _, p := range sh.Pets {
			host, ok := dnsLabel(p.Hostname)
			ip, err := netip.ParseAddr(p.IP)
			if !ok || err != nil {
				continue
			}
			all[host] = append(all[host], ip.Unmap())
			if sh.Healthy {
				healthy[host] = append(healthy[host], ip.Unmap())
			}
		}
	}
	for host, ips := range all {
		if h := healthy[host]; len(h) > 0 {
			ips = h
		}
		b.name(host + "." + global).addrs = ips
	}
}

// membership is what a member knows of its federation, from the
// ConfigMap v1.MembershipConfigMap: lowercase labels, the domain fully
// qualified. Zone is set only with Region.
type membership struct {
	federation, domain, region, zone string
}

// membershipOf reads a membership ConfigMap; false when there is none
// or it does not name a federation and a domain.
func membershipOf(cm *v1.ConfigMap) (membership, bool) {
	if cm == nil {
		return membership{}, false
	}
	f, ok := dnsLabel(cm.Data[v1.MembershipFederation])
	d, dok := domainName(cm.Data[v1.MembershipDomain])
	if !ok || !dok {
		return membership{}, false
	}
	m := membership{federation: f, domain: d}
	if r, ok := dnsLabel(cm.Data[v1.MembershipRegion]); ok {
		m.region = r
		if z, ok := dnsLabel(cm.Data[v1.MembershipZone]); ok {
			m.zone = z
		}
	}
	return m, true
}

// serves reports whether the names n of spec are of m's federation.
func (m membership) serves(spec *v1.FederatedEndpointsSpec, n federatedNames) bool {
	return strings.EqualFold(spec.Federation, m.federation) && n.domain == m.domain
}

// remote is the federated name a member's alias of n points to when
// the service has no ready endpoint in the member: the member's zone
// name (its region's or the global name when it does not know them).
func (m membership) remote(n federatedNames) string {
	switch {
	case m.zone != "":
		return n.zone(m.zone, m.region)
	case m.region != "":
		return n.region(m.region)
	}
	return n.global()
}

// buildMember publishes alias, in the cluster zone, as a CNAME to
// target.
func buildMember(zone string, ttl uint32, alias, target string) *svcRecords {
	b := newBuilder(zone, ttl)
	b.name(alias).cname = target
	return b.finish()
}

// dnsLabel returns s lowercased if it is one DNS label (RFC 1123:
// letters, digits and inner hyphens, at most 63).
func dnsLabel(s string) (string, bool) {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20 // ASCII lowercase; digits and '-' keep their bit
		if !(c >= 'a' && c <= 'z' || s[i] >= '0' && s[i] <= '9' || s[i] == '-') {
			return "", false
		}
	}
	return strings.ToLower(s), true
}

// domainName returns s as a lowercase fully qualified name if it is a
// domain name other than the root.
func domainName(s string) (string, bool) {
	d := strings.ToLower(strings.TrimSuffix(s, "."))
	if _, ok := mdns.IsDomainName(d); !ok || d == "" || strings.HasPrefix(d, ".") || strings.Contains(d, "..") {
		return "", false
	}
	return mdns.Fqdn(d), true
}

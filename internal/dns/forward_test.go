package dns

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// deadUpstream is an address where nothing answers DNS.
func deadUpstream(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

// TestForward checks that names outside the zone go to the upstreams, in
// order, over the client's transport, and what the client gets when none
// answers or forwarding is off.
func TestForward(t *testing.T) {
	e := newEnv(t)
	dead := deadUpstream(t)
	fallback := e.start(t, func(c *Config) { c.Forward = []string{dead, e.up.addr}; c.ForwardTimeout = time.Second })
	failing := e.start(t, func(c *Config) { c.Forward = []string{dead}; c.ForwardTimeout = 500 * time.Millisecond })
	off := e.start(t, func(c *Config) { c.DisableForward = true })

	t.Run("next upstream answers", func(t *testing.T) {
		for _, proto := range []string{"udp", "tcp"} {
			m := query(t, fallback, proto, "Example.ORG.", mdns.TypeA, 0)
			if m.Rcode != mdns.RcodeSuccess || !slices.Equal(rrTexts(m.Answer), []string{"example.org. A 192.0.2.10"}) {
				t.Errorf("%s: %s %v", proto, mdns.RcodeToString[m.Rcode], rrTexts(m.Answer))
			}
			if m.Authoritative || m.Question[0].Name != "Example.ORG." {
				t.Errorf("%s: AA %v question %q: want a forwarded answer to the asked question", proto, m.Authoritative, m.Question[0].Name)
			}
			if !e.up.asked("example.org. A " + proto) {
				t.Errorf("upstream was not asked over %s", proto)
			}
		}
	})
	t.Run("truncated upstream answer, then TCP", func(t *testing.T) {
		m := query(t, fallback, "udp", "big.example.org.", mdns.TypeTXT, 0)
		if !m.Truncated {
			t.Errorf("UDP: TC not set, %d answers", len(m.Answer))
		}
		m = query(t, fallback, "tcp", "big.example.org.", mdns.TypeTXT, 0)
		if m.Truncated || len(m.Answer) != 40 {
			t.Errorf("TCP: TC %v, %d answers; want all 40", m.Truncated, len(m.Answer))
		}
	})
	t.Run("edns passes through", func(t *testing.T) {
		m := query(t, fallback, "udp", "big.example.org.", mdns.TypeTXT, 4096)
		if m.Truncated || len(m.Answer) != 40 || m.IsEdns0() == nil {
			t.Errorf("TC %v, %d answers, OPT %v; want all 40 with OPT", m.Truncated, len(m.Answer), m.IsEdns0() != nil)
		}
	})
	t.Run("all upstreams fail", func(t *testing.T) {
		for _, proto := range []string{"udp", "tcp"} {
			m := query(t, failing, proto, "example.org.", mdns.TypeA, 1232)
			if m.Rcode != mdns.RcodeServerFailure || m.IsEdns0() == nil {
				t.Errorf("%s: rcode %s OPT %v, want SERVFAIL with OPT", proto, mdns.RcodeToString[m.Rcode], m.IsEdns0() != nil)
			}
		}
	})
	t.Run("forwarding off", func(t *testing.T) {
		m := query(t, off, "udp", "example.org.", mdns.TypeA, 0)
		if m.Rcode != mdns.RcodeRefused || m.RecursionAvailable {
			t.Errorf("rcode %s RA %v, want REFUSED without RA", mdns.RcodeToString[m.Rcode], m.RecursionAvailable)
		}
		m = query(t, off, "udp", "1.2.3.4.in-addr.arpa.", mdns.TypePTR, 0)
		if m.Rcode != mdns.RcodeRefused {
			t.Errorf("unknown reverse name: rcode %s, want REFUSED", mdns.RcodeToString[m.Rcode])
		}
		m = query(t, off, "udp", "dns-version.cluster.local.", mdns.TypeTXT, 0)
		if m.Rcode != mdns.RcodeSuccess || len(m.Answer) != 1 {
			t.Errorf("the zone still answers: %s %v", mdns.RcodeToString[m.Rcode], m.Answer)
		}
	})
}

func TestUpstreams(t *testing.T) {
	dir := t.TempDir()
	rc := filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(rc, []byte("search example.com\nnameserver 192.0.2.1\nnameserver 2001:db8::1\noptions ndots:2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"resolv.conf", Config{ResolvConf: rc}, []string{"192.0.2.1:53", "[2001:db8::1]:53"}},
		{"no resolv.conf", Config{ResolvConf: filepath.Join(dir, "missing")}, nil},
		{"forward wins", Config{ResolvConf: rc, Forward: []string{"192.0.2.9", "192.0.2.8:5300", "[::1]:53"}},
			[]string{"192.0.2.9:53", "192.0.2.8:5300", "[::1]:53"}},
		{"disabled", Config{ResolvConf: rc, Forward: []string{"192.0.2.9"}, DisableForward: true}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := upstreams(&c.cfg)
			if err != nil || !slices.Equal(got, c.want) {
				t.Errorf("upstreams = %v, %v; want %v", got, err, c.want)
			}
		})
	}
}

func TestWithoutSelf(t *testing.T) {
	self := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5353}
	kept, dropped := withoutSelf([]string{"127.0.0.1:5353", "127.0.0.1:53", "192.0.2.1:5353"}, self)
	if !slices.Equal(kept, []string{"127.0.0.1:53", "192.0.2.1:5353"}) || !slices.Equal(dropped, []string{"127.0.0.1:5353"}) {
		t.Errorf("kept %v dropped %v", kept, dropped)
	}
	any := &net.UDPAddr{IP: net.IPv4zero, Port: 53}
	kept, dropped = withoutSelf([]string{"127.0.0.53:53", "192.0.2.1:53"}, any)
	if !slices.Equal(kept, []string{"192.0.2.1:53"}) || !slices.Equal(dropped, []string{"127.0.0.53:53"}) {
		t.Errorf("wildcard: kept %v dropped %v", kept, dropped)
	}
}

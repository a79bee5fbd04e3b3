package dns

import (
	"net"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/kennel-dev/kennel/client"
)

func TestValidate(t *testing.T) {
	c := &client.Client{}
	cases := []struct {
		name string
		cfg  Config
		want string // "" for valid
	}{
		{"defaults", Config{Client: c}, ""},
		{"everything", Config{Client: c, Addr: ":0", Zone: "Kennel.Test.", TTL: time.Minute, FederationTTL: time.Hour, Forward: []string{"192.0.2.1", "[2001:db8::1]:53"}}, ""},
		{"no client", Config{}, "dns: config.Client: required"},
		{"bad addr", Config{Client: c, Addr: "5353"}, "dns: config.Addr:"},
		{"bad zone", Config{Client: c, Zone: "a..b"}, "dns: config.Zone:"},
		{"root zone", Config{Client: c, Zone: "."}, "dns: config.Zone:"},
		{"negative ttl", Config{Client: c, TTL: -time.Second}, "dns: config.TTL:"},
		{"negative federation ttl", Config{Client: c, FederationTTL: -time.Second}, "dns: config.FederationTTL:"},
		{"negative timeout", Config{Client: c, ForwardTimeout: -1}, "dns: config.ForwardTimeout:"},
		{"bad upstream", Config{Client: c, Forward: []string{"dns.example:53"}}, "dns: config.Forward[0]:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
				t.Errorf("Validate() = %v, want %q…", err, tc.want)
			}
		})
	}
}

// TestLifecycle covers what the embedding command relies on: one port for
// UDP and TCP, a failed start that leaves nothing bound, Err when a
// listener dies, an idempotent Close, a configured zone and TTL.
func TestLifecycle(t *testing.T) {
	e := newEnv(t)
	t.Run("port 0 gives one port", func(t *testing.T) {
		srv := e.start(t, nil)
		if srv.UDPAddr().Port == 0 || srv.UDPAddr().Port != srv.TCPAddr().Port {
			t.Errorf("udp %v tcp %v, want one non-zero port", srv.UDPAddr(), srv.TCPAddr())
		}
	})
	t.Run("address in use", func(t *testing.T) { checkAddressInUse(t, e) })
	t.Run("zone and ttl", func(t *testing.T) { checkZoneAndTTL(t, e) })
	t.Run("err and close", func(t *testing.T) { checkErrAndClose(t, e) })
}

func checkAddressInUse(t *testing.T, e *env) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	srv, err := Start(e.ctx, Config{Client: e.tc.Admin, Addr: addr, DisableForward: true})
	if err == nil {
		srv.Close()
		t.Fatal("Start on a TCP port in use succeeded")
	}
	if !strings.HasPrefix(err.Error(), "dns: config.Addr:") {
		t.Errorf("error %q, want it to name config.Addr", err)
	}
	// The UDP socket bound before TCP failed has been released.
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("UDP port still held after a failed start: %v", err)
	}
	pc.Close()
}

func checkZoneAndTTL(t *testing.T, e *env) {
	srv := e.start(t, func(c *Config) { c.Zone = "Kennel.Test."; c.TTL = 30 * time.Second })
	m := query(t, srv, "udp", "dns-version.kennel.test.", mdns.TypeTXT, 0)
	if m.Rcode != mdns.RcodeSuccess || len(m.Answer) != 1 || m.Answer[0].Header().Ttl != 30 {
		t.Errorf("dns-version: %s %v", mdns.RcodeToString[m.Rcode], m.Answer)
	}
	m = query(t, srv, "udp", "nothing.kennel.test.", mdns.TypeA, 0)
	if m.Rcode != mdns.RcodeNameError || len(m.Ns) != 1 || m.Ns[0].(*mdns.SOA).Minttl != 30 || m.Ns[0].Header().Name != "kennel.test." {
		t.Errorf("negative answer: %s %v", mdns.RcodeToString[m.Rcode], m.Ns)
	}
	// cluster.local is now outside the zone: forwarded.
	m = query(t, srv, "udp", "dns-version.cluster.local.", mdns.TypeTXT, 0)
	if m.Rcode != mdns.RcodeNameError || m.Authoritative || !e.up.asked("dns-version.cluster.local. TXT udp") {
		t.Errorf("cluster.local: %s AA %v, want forwarded", mdns.RcodeToString[m.Rcode], m.Authoritative)
	}
}

func checkErrAndClose(t *testing.T, e *env) {
	srv := e.start(t, nil)
	srv.pcs[0].Close() // a UDP listener dies under the server
	select {
	case err := <-srv.Err():
		if !strings.HasPrefix(err.Error(), "dns: serve udp:") {
			t.Errorf("Err() = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no error reported for a dead listener")
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if c, err := net.DialTimeout("tcp", srv.TCPAddr().String(), time.Second); err == nil {
		c.Close()
		t.Error("TCP still accepts after Close")
	}
}

// TestUDPSocketsShareThePortWithNoOneElse: the server reads UDP on one
// socket per CPU sharing its port (SO_REUSEPORT), yet a second server on
// the same address is refused rather than silently given part of the
// queries.
func TestUDPSocketsShareThePortWithNoOneElse(t *testing.T) {
	pcs, ln, err := listen("127.0.0.1:0", 3)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, pc := range pcs {
		defer pc.Close()
	}
	if len(pcs) != 3 {
		t.Fatalf("%d UDP sockets, want 3", len(pcs))
	}
	addr := pcs[0].LocalAddr().String()
	for _, pc := range pcs[1:] {
		if pc.LocalAddr().String() != addr {
			t.Fatalf("socket on %s, want the shared %s", pc.LocalAddr(), addr)
		}
	}
	if pcs2, ln2, err := listen(addr, 2); err == nil {
		ln2.Close()
		for _, pc := range pcs2 {
			pc.Close()
		}
		t.Fatalf("a second server bound %s too", addr)
	}
}

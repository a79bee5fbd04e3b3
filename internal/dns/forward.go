package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	mdns "github.com/miekg/dns"
)

// forwarder sends queries for names outside the zone to upstream
// resolvers, in order, each with a timeout.
type forwarder struct {
	upstreams []string
	udp, tcp  *mdns.Client
	timeout   time.Duration
}

func newForwarder(upstreams []string, timeout time.Duration) *forwarder {
	if len(upstreams) == 0 {
		return nil
	}
	return &forwarder{
		upstreams: upstreams,
		udp:       &mdns.Client{Net: "udp", Timeout: timeout},
		tcp:       &mdns.Client{Net: "tcp", Timeout: timeout},
		timeout:   timeout,
	}
}

// exchange asks the upstreams in turn over the client's transport (a
// truncated UDP answer is passed on; the client retries over TCP). An
// upstream that fails, or answers SERVFAIL or REFUSED, hands over to the
// next; the error says why each failed.
func (f *forwarder) exchange(q *mdns.Msg, tcp bool) (*mdns.Msg, error) {
	c := f.udp
	if tcp {
		c = f.tcp
	}
	var errs []error
	var last *mdns.Msg
	for _, up := range f.upstreams {
		ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
		reply, _, err := c.ExchangeContext(ctx, q, up)
		cancel()
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", up, err))
		case reply.Rcode == mdns.RcodeServerFailure || reply.Rcode == mdns.RcodeRefused:
			last = reply
			errs = append(errs, fmt.Errorf("%s: %s", up, mdns.RcodeToString[reply.Rcode]))
		default:
			return reply, nil
		}
	}
	if last != nil {
		return last, nil
	}
	return nil, fmt.Errorf("dns: forward: %w", errors.Join(errs...))
}

// withoutSelf drops upstreams that are this server's own address, which
// would loop (a resolv.conf that already points at Kennel DNS).
func withoutSelf(upstreams []string, self *net.UDPAddr) (kept, dropped []string) {
	for _, up := range upstreams {
		host, port, _ := net.SplitHostPort(up)
		ip := net.ParseIP(host)
		same := port == fmt.Sprint(self.Port) && ip != nil &&
			(ip.Equal(self.IP) || (self.IP.IsUnspecified() && (ip.IsLoopback() || isLocal(ip))))
		if same {
			dropped = append(dropped, up)
		} else {
			kept = append(kept, up)
		}
	}
	return kept, dropped
}

// isLocal reports whether ip is an address of this host.
func isLocal(ip net.IP) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}

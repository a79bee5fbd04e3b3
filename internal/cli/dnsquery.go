package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
	"github.com/spf13/cobra"
)

// defaultDNSServer is where "kennel up" serves the cluster DNS by default
// (its --dns-addr).
const defaultDNSServer = "127.0.0.1:5353"

// dnsBufferSize is the UDP payload size the query advertises with EDNS0,
// as dig does.
const dnsBufferSize = 4096

type dnsQueryOptions struct {
	server  string
	tcp     bool
	timeout time.Duration
}

func newDNSCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dns",
		Short: "Debug the cluster DNS",
		Long: `Commands to debug the cluster DNS server that "kennel up" and "kennel server"
start (--dns-addr, default 127.0.0.1:5353).`,
		Example: `  # Where does pet db-0 live?
  kennel dns query db-0.db.default.svc.cluster.local`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newDNSQueryCommand(g))
	return cmd
}

func newDNSQueryCommand(g *globalOptions) *cobra.Command {
	o := &dnsQueryOptions{}
	cmd := &cobra.Command{
		Use:   "query NAME [TYPE]",
		Short: "Send one DNS query to the cluster DNS and print the answer",
		Long: `Send one DNS query to the cluster DNS and print the answer as dig does: the
response code, the flags (aa: the server is authoritative for the name; tc:
the answer was truncated), then every record of the answer, authority and
additional sections.

TYPE is A (the default), AAAA, SRV, PTR, TXT, CNAME, SOA, NS or ANY; any other
type name DNS knows is sent as is (names outside the cluster zone are
forwarded to the host's resolvers). For PTR, NAME may be an IP address: it is
turned into its reverse name (5.0.3.127.in-addr.arpa.). An IP address with
no TYPE is a PTR query.

NAME is queried as given: a relative name gets no search path, unlike in a
pod, so write the full name (db-0.db.default.svc.cluster.local).

The query goes over UDP with EDNS0 (4096-byte answers); a truncated answer
is asked again over TCP, as resolvers do; --tcp asks over TCP at once.
NXDOMAIN (no such name) and an empty answer (the name exists, not with this
type) are answers: they are printed and the command succeeds. It fails only
when the server cannot be reached or does not answer in --timeout.`,
		Example: `  # The address of pet db-0 of the PetSet db (headless service db)
  kennel dns query db-0.db.default.svc.cluster.local

  # The pets behind service db, with their ports, as SRV records
  kennel dns query _peer._tcp.db.default.svc.cluster.local SRV

  # Which pet has this address?
  kennel dns query 127.3.0.5 PTR

  # Ask a DNS server on another address, over TCP
  kennel dns query db.default.svc.cluster.local --server 127.0.0.10:53 --tcp`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDNSQuery(cmd.Context(), g.streams.Out, o, args)
		},
	}
	f := cmd.Flags()
	// --server shadows the root's --server (the API server): this command
	// talks to the DNS server only.
	f.StringVar(&o.server, "server", defaultDNSServer, "the DNS server, host:port (the --dns-addr of kennel up)")
	f.BoolVar(&o.tcp, "tcp", false, "query over TCP instead of UDP")
	f.DurationVar(&o.timeout, "timeout", 5*time.Second, "how long to wait for the answer")
	return cmd
}

// dnsQuestion turns NAME [TYPE] into a fully qualified name and a type.
func dnsQuestion(args []string) (string, uint16, error) {
	name, typ := args[0], "A"
	ip := net.ParseIP(name)
	if len(args) == 2 {
		typ = strings.ToUpper(args[1])
	} else if ip != nil {
		typ = "PTR"
	}
	qtype, ok := dns.StringToType[typ]
	if !ok {
		return "", 0, fmt.Errorf("dns query: TYPE %q is not a DNS record type: use A, AAAA, SRV, PTR, TXT, CNAME, SOA, NS or ANY", args[1])
	}
	if qtype == dns.TypePTR && ip != nil {
		rev, err := dns.ReverseAddr(name)
		if err != nil {
			return "", 0, fmt.Errorf("dns query: NAME %q: %w", name, err)
		}
		return rev, qtype, nil
	}
	if _, ok := dns.IsDomainName(name); !ok {
		return "", 0, fmt.Errorf("dns query: NAME %q is not a domain name", name)
	}
	return dns.Fqdn(name), qtype, nil
}

func runDNSQuery(ctx context.Context, out io.Writer, o *dnsQueryOptions, args []string) error {
	if o.timeout <= 0 {
		return fmt.Errorf("dns query: --timeout %s: must be positive", o.timeout)
	}
	if _, _, err := net.SplitHostPort(o.server); err != nil {
		return fmt.Errorf("dns query: --server %q: want host:port: %w", o.server, err)
	}
	name, qtype, err := dnsQuestion(args)
	if err != nil {
		return err
	}
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	q.SetEdns0(dnsBufferSize, false)
	network := "udp"
	if o.tcp {
		network = "tcp"
	}
	r, rtt, err := exchangeDNS(ctx, q, network, o)
	if err != nil {
		return err
	}
	retried := false
	if r.Truncated && network == "udp" {
		retried, network = true, "tcp"
		if r, rtt, err = exchangeDNS(ctx, q, network, o); err != nil {
			return err
		}
	}
	printDNSAnswer(out, r, o.server, network, rtt, retried)
	return nil
}

// exchangeDNS sends q once over network.
func exchangeDNS(ctx context.Context, q *dns.Msg, network string, o *dnsQueryOptions) (*dns.Msg, time.Duration, error) {
	c := &dns.Client{Net: network, Timeout: o.timeout, UDPSize: dnsBufferSize}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	r, rtt, err := c.ExchangeContext(ctx, q, o.server)
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return nil, 0, fmt.Errorf("dns query: %s over %s: no answer within %s: %w", o.server, network, o.timeout, err)
	case err != nil:
		return nil, 0, fmt.Errorf("dns query: %s over %s: %w", o.server, network, err)
	}
	return r, rtt, nil
}

// printDNSAnswer writes r as dig does: a header, then each section's
// records one a line (name, TTL, class, type, data). The OPT record is
// shown as the EDNS line, not as a record.
func printDNSAnswer(out io.Writer, r *dns.Msg, server, network string, rtt time.Duration, retried bool) {
	if retried {
		fmt.Fprintf(out, ";; truncated over UDP, retried over TCP\n")
	}
	fmt.Fprintf(out, ";; SERVER: %s (%s), %s\n", server, network, rtt.Round(time.Microsecond))
	fmt.Fprintf(out, ";; status: %s, id: %d\n", dns.RcodeToString[r.Rcode], r.Id)
	fmt.Fprintf(out, ";; flags: %s; QUERY: %d, ANSWER: %d, AUTHORITY: %d, ADDITIONAL: %d\n",
		dnsFlags(r), len(r.Question), len(r.Answer), len(r.Ns), len(additional(r)))
	if opt := r.IsEdns0(); opt != nil {
		fmt.Fprintf(out, ";; EDNS: version %d, udp %d\n", opt.Version(), opt.UDPSize())
	}
	for _, q := range r.Question {
		fmt.Fprintf(out, "\n;; QUESTION SECTION:\n;%s\t\t%s\t%s\n", q.Name, dns.ClassToString[q.Qclass], dns.TypeToString[q.Qtype])
	}
	printRRs(out, "ANSWER", r.Answer)
	printRRs(out, "AUTHORITY", r.Ns)
	printRRs(out, "ADDITIONAL", additional(r))
}

// dnsFlags lists the header flags that are set, in dig's order.
func dnsFlags(r *dns.Msg) string {
	var f []string
	for _, fl := range []struct {
		set  bool
		name string
	}{
		{r.Response, "qr"}, {r.Authoritative, "aa"}, {r.Truncated, "tc"}, {r.RecursionDesired, "rd"},
		{r.RecursionAvailable, "ra"}, {r.AuthenticatedData, "ad"}, {r.CheckingDisabled, "cd"},
	} {
		if fl.set {
			f = append(f, fl.name)
		}
	}
	return strings.Join(f, " ")
}

// additional is the additional section without the OPT pseudo-record.
func additional(r *dns.Msg) []dns.RR {
	var out []dns.RR
	for _, rr := range r.Extra {
		if rr.Header().Rrtype != dns.TypeOPT {
			out = append(out, rr)
		}
	}
	return out
}

func printRRs(out io.Writer, section string, rrs []dns.RR) {
	if len(rrs) == 0 {
		return
	}
	fmt.Fprintf(out, "\n;; %s SECTION:\n", section)
	for _, rr := range rrs {
		fmt.Fprintln(out, rr.String())
	}
}

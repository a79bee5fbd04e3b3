package dns

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/kennel-dev/kennel/client"
)

// Defaults of Config.
const (
	DefaultAddr           = "127.0.0.1:5353"
	DefaultZone           = "cluster.local"
	DefaultTTL            = 5 * time.Second
	DefaultFederationTTL  = 30 * time.Second
	DefaultForwardTimeout = 2 * time.Second
	DefaultResolvConf     = "/etc/resolv.conf"
)

// SchemaVersion is the Kubernetes DNS schema this server implements,
// answered as TXT at dns-version.<zone>.
const SchemaVersion = "1.1.0"

// Config configures a DNS server. The zero value plus Client is valid.
type Config struct {
	// Client reads Services and Endpoints of every namespace, the
	// FederatedEndpoints of v1.NamespaceFederation and the ConfigMap
	// v1.NamespaceSystem/v1.MembershipConfigMap.
	Client *client.Client
	// Addr is the UDP and TCP address to listen on (default
	// DefaultAddr). With port 0 the OS picks one port for both.
	Addr string
	// Zone is the cluster domain (default DefaultZone).
	Zone string
	// TTL of every answer, and of negative answers through the SOA
	// (default DefaultTTL; whole seconds).
	TTL time.Duration
	// FederationTTL is the TTL of federated names (SPECS.md §3): their
	// records, their CNAMEs, the member alias in Zone, and negative
	// answers in a federated domain through its SOA (default
	// DefaultFederationTTL; whole seconds). Shorter means faster
	// failover between members.
	FederationTTL time.Duration
	// Forward lists the upstream resolvers ("ip:port", or "ip" for port
	// 53) that answer names outside the zone. Empty reads the
	// nameservers of ResolvConf when Start runs.
	Forward []string
	// DisableForward refuses names outside the zone (REFUSED) instead of
	// forwarding them.
	DisableForward bool
	// ResolvConf is the file Forward defaults from (default
	// DefaultResolvConf). A missing file or one without nameservers
	// leaves no upstream: outside names are then REFUSED.
	ResolvConf string
	// ForwardTimeout bounds each upstream exchange (default
	// DefaultForwardTimeout).
	ForwardTimeout time.Duration
	// Logger receives the server's logs.
	Logger *slog.Logger
}

// Validate checks the configuration without side effects; errors name
// the field.
func (c *Config) Validate() error {
	var errs []error
	if c.Client == nil {
		errs = append(errs, errors.New("dns: config.Client: required"))
	}
	if c.Addr != "" {
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			errs = append(errs, fmt.Errorf("dns: config.Addr: %q is not host:port", c.Addr))
		}
	}
	if c.Zone != "" {
		z := strings.TrimSuffix(c.Zone, ".")
		if _, ok := mdns.IsDomainName(z); !ok || z == "" || strings.HasPrefix(z, ".") {
			errs = append(errs, fmt.Errorf("dns: config.Zone: %q is not a domain name", c.Zone))
		}
	}
	if c.TTL < 0 || c.TTL > time.Duration(1<<31-1)*time.Second {
		errs = append(errs, fmt.Errorf("dns: config.TTL: %v is out of range", c.TTL))
	}
	if c.FederationTTL < 0 || c.FederationTTL > time.Duration(1<<31-1)*time.Second {
		errs = append(errs, fmt.Errorf("dns: config.FederationTTL: %v is out of range", c.FederationTTL))
	}
	if c.ForwardTimeout < 0 {
		errs = append(errs, fmt.Errorf("dns: config.ForwardTimeout: %v is negative", c.ForwardTimeout))
	}
	for i, f := range c.Forward {
		if _, err := upstreamAddr(f); err != nil {
			errs = append(errs, fmt.Errorf("dns: config.Forward[%d]: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

// withDefaults returns a copy with defaults filled in; the zone becomes a
// lowercase fully qualified name.
func (c *Config) withDefaults() Config {
	out := *c
	if out.Addr == "" {
		out.Addr = DefaultAddr
	}
	if out.Zone == "" {
		out.Zone = DefaultZone
	}
	out.Zone = mdns.Fqdn(strings.ToLower(out.Zone))
	if out.TTL == 0 {
		out.TTL = DefaultTTL
	}
	if out.FederationTTL == 0 {
		out.FederationTTL = DefaultFederationTTL
	}
	if out.ForwardTimeout == 0 {
		out.ForwardTimeout = DefaultForwardTimeout
	}
	if out.ResolvConf == "" {
		out.ResolvConf = DefaultResolvConf
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	return out
}

// upstreamAddr normalizes "ip" or "ip:port" to "ip:port".
func upstreamAddr(s string) (string, error) {
	if ip := net.ParseIP(strings.Trim(s, "[]")); ip != nil {
		return net.JoinHostPort(ip.String(), "53"), nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil || net.ParseIP(host) == nil || port == "" {
		return "", fmt.Errorf("%q is not ip or ip:port", s)
	}
	return net.JoinHostPort(host, port), nil
}

// upstreams resolves the forwarding targets: cfg.Forward, else the
// nameservers of cfg.ResolvConf.
func upstreams(cfg *Config) ([]string, error) {
	if cfg.DisableForward {
		return nil, nil
	}
	if len(cfg.Forward) > 0 {
		out := make([]string, 0, len(cfg.Forward))
		for _, f := range cfg.Forward {
			a, err := upstreamAddr(f)
			if err != nil {
				return nil, fmt.Errorf("dns: config.Forward: %w", err)
			}
			out = append(out, a)
		}
		return out, nil
	}
	if _, err := os.Stat(cfg.ResolvConf); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	rc, err := mdns.ClientConfigFromFile(cfg.ResolvConf)
	if err != nil {
		return nil, fmt.Errorf("dns: config.ResolvConf: %w", err)
	}
	out := make([]string, 0, len(rc.Servers))
	for _, s := range rc.Servers {
		// A scoped IPv6 address (fe80::1%eth0) keeps its zone.
		out = append(out, net.JoinHostPort(s, rc.Port))
	}
	return out, nil
}

package controlplane

import (
	"context"
	"fmt"

	"github.com/kennel-dev/kennel/internal/dns"
)

// startDNS serves the cluster's names (SPECS.md §2) on each of
// DNSAddrs. Every control plane serves DNS, leader or not: the answers
// come from its own watches.
func (cp *ControlPlane) startDNS(ctx context.Context) error {
	if len(cp.cfg.DNSAddrs) == 0 {
		return nil
	}
	c, err := cp.Client()
	if err != nil {
		return err
	}
	for _, addr := range cp.cfg.DNSAddrs {
		s, err := dns.Start(ctx, dns.Config{Client: c, Addr: addr, Zone: cp.cfg.ClusterDomain, TTL: cp.cfg.DNSTTL, FederationTTL: cp.cfg.FederationDNSTTL,
			Forward: cp.cfg.DNSForward, Logger: cp.cfg.Logger.With("component", "dns")})
		if err != nil {
			return fmt.Errorf("controlplane: dns on %s: %w", addr, err)
		}
		cp.dns = append(cp.dns, s)
		cp.wg.Go(func() {
			select {
			case err := <-s.Err():
				select {
				case cp.errc <- fmt.Errorf("controlplane: dns on %s: %w", addr, err):
				default: // another component's failure is being reported
				}
			case <-ctx.Done():
			}
		})
	}
	return nil
}

// DNSAddrs are the addresses the cluster DNS serves on (UDP and TCP),
// with the ports actually bound.
func (cp *ControlPlane) DNSAddrs() []string {
	out := make([]string, len(cp.dns))
	for i, s := range cp.dns {
		out[i] = s.UDPAddr().String()
	}
	return out
}

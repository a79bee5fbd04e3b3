package agent

import (
	"fmt"
	"net/netip"
	"sync"
)

// ipam hands out pod addresses from the node's range, never the network
// address and never .0 or .255 in the last byte.
type ipam struct {
	mu     sync.Mutex
	prefix netip.Prefix
	used   map[netip.Addr]string // address → pod uid
	next   netip.Addr
}

func podRange(cidr string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() || p.Bits() > 24 {
		return netip.Prefix{}, fmt.Errorf("agent: pod CIDR %q: want an IPv4 range of /24 or larger such as 127.1.0.0/16", cidr)
	}
	return p.Masked(), nil
}

func newIPAM(cidr string) (*ipam, error) {
	p, err := podRange(cidr)
	if err != nil {
		return nil, err
	}
	return &ipam{prefix: p, used: map[netip.Addr]string{}, next: p.Addr()}, nil
}

// reserve records an address already in use (a pod found after a restart).
func (m *ipam) reserve(ip, uid string) {
	a, err := netip.ParseAddr(ip)
	if err != nil || !m.prefix.Contains(a) {
		return
	}
	m.mu.Lock()
	m.used[a] = uid
	m.mu.Unlock()
}

// allocate returns the pod's address, a new one if it has none yet.
func (m *ipam) allocate(uid string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for a, u := range m.used {
		if u == uid {
			return a.String(), nil
		}
	}
	a := m.next
	for range 1 << (32 - m.prefix.Bits()) {
		a = a.Next()
		if !m.prefix.Contains(a) {
			a = m.prefix.Addr()
			continue
		}
		b := a.As4()
		if b[3] == 0 || b[3] == 255 {
			continue
		}
		if _, taken := m.used[a]; !taken {
			m.used[a], m.next = uid, a
			return a.String(), nil
		}
	}
	return "", fmt.Errorf("agent: pod range %s is full", m.prefix)
}

func (m *ipam) release(uid string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for a, u := range m.used {
		if u == uid {
			delete(m.used, a)
		}
	}
}

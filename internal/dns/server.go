package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	mdns "github.com/miekg/dns"
	"golang.org/x/sys/unix"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// Server is a running DNS server.
type Server struct {
	cfg    Config
	log    *slog.Logger
	ttl    uint32
	fedTTL uint32
	ix     *index
	h      *handler
	pcs    []net.PacketConn // one UDP socket per CPU, sharing the port
	ln     net.Listener
	udps   []*mdns.Server
	tcp    *mdns.Server
	errc   chan error

	svcs *client.Informer[*v1.Service]
	eps  *client.Informer[*v1.Endpoints]
	fed  federation
	// buildMu makes reading a service's objects from the caches and
	// publishing its records one step, so a slower rebuild never
	// overwrites a newer one. It guards fed's maps.
	buildMu sync.Mutex

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closed    atomic.Bool
	closeOnce sync.Once
}

// Start binds the listeners, fills the index from the API server and
// serves UDP and TCP. It returns once the informers have synced and both
// listeners serve; ctx bounds that wait (an unreachable API server blocks
// until ctx ends). On error nothing is left running.
func Start(ctx context.Context, cfg Config) (s *Server, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := cfg.withDefaults()
	s = &Server{cfg: c, log: c.Logger.With("component", "dns"), ttl: uint32(c.TTL / time.Second),
		fedTTL: uint32(c.FederationTTL / time.Second), ix: newIndex(), errc: make(chan error, 2)}
	defer func() {
		if err != nil {
			s.Close()
			s = nil
		}
	}()
	ups, err := upstreams(&c)
	if err != nil {
		return s, err
	}
	if s.pcs, s.ln, err = listen(c.Addr, runtime.GOMAXPROCS(0)); err != nil {
		return s, err
	}
	ups, dropped := withoutSelf(ups, s.UDPAddr())
	if len(dropped) > 0 {
		s.log.Warn("upstreams dropped: they are this server", "upstreams", dropped)
	}
	if len(ups) == 0 && !c.DisableForward {
		s.log.Warn("no upstream resolvers: names outside the zone are refused", "zone", c.Zone)
	}
	zone, soa := zoneRecords(c.Zone, s.ttl, uint32(time.Now().Unix()), s.nsAddrs())
	s.ix.replace(zoneOwner, zone)
	s.h = newHandler(c.Zone, s.ix, soa, newForwarder(ups, c.ForwardTimeout), s.log)
	if err := s.startInformers(ctx); err != nil {
		return s, err
	}
	if err := s.serve(ctx, s.h); err != nil {
		return s, err
	}
	s.log.Info("serving", "udp", s.UDPAddr().String(), "tcp", s.TCPAddr().String(),
		"zone", c.Zone, "federatedDomains", len(*s.h.zones.Load())-1, "upstreams", ups, "names", s.ix.size())
	return s, nil
}

// listen binds UDP and TCP on one port: with port 0, the port the OS gave
// UDP, trying again if TCP has it taken. The port's first UDP socket and
// the TCP listener are bound without SO_REUSEPORT, so a port in use by
// anything else (another Kennel included) is refused; then udpSockets-1
// more UDP sockets join it with SO_REUSEPORT (the first is switched to
// it once bound), so that the kernel spreads queries over one reader per
// CPU.
func listen(addr string, udpSockets int) ([]net.PacketConn, net.Listener, error) {
	_, port, _ := net.SplitHostPort(addr)
	var lastErr error
	for range 10 {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("dns: config.Addr: %w", err)
		}
		ua := pc.LocalAddr().(*net.UDPAddr)
		bound := net.JoinHostPort(ua.IP.String(), strconv.Itoa(ua.Port))
		ln, err := net.Listen("tcp", bound)
		if err != nil {
			pc.Close()
			lastErr = err
			if port != "0" {
				break
			}
			continue
		}
		pcs, err := moreUDPSockets(pc, bound, udpSockets-1)
		if err != nil {
			ln.Close()
			return nil, nil, fmt.Errorf("dns: config.Addr: udp: %w", err)
		}
		return pcs, ln, nil
	}
	return nil, nil, fmt.Errorf("dns: config.Addr: tcp: %w", lastErr)
}

// moreUDPSockets returns first and n more sockets bound to addr with
// SO_REUSEPORT; when the option cannot be set, first alone.
func moreUDPSockets(first net.PacketConn, addr string, n int) ([]net.PacketConn, error) {
	pcs := []net.PacketConn{first}
	if n <= 0 {
		return pcs, nil
	}
	if err := setReusePort(first); err != nil {
		return pcs, nil // one socket, as without the option
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
	for range n {
		pc, err := lc.ListenPacket(context.Background(), "udp", addr)
		if err != nil {
			for _, p := range pcs {
				p.Close()
			}
			return nil, err
		}
		pcs = append(pcs, pc)
	}
	return pcs, nil
}

// setReusePort lets other sockets of this process join pc's port.
func setReusePort(pc net.PacketConn) error {
	sc, ok := pc.(syscall.Conn)
	if !ok {
		return errors.New("not a socket")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	}); err != nil {
		return err
	}
	return serr
}

// nsAddrs is the address ns.dns.<zone> answers: the listening IP when it
// is a specific one.
func (s *Server) nsAddrs() []netip.Addr {
	ip, ok := netip.AddrFromSlice(s.UDPAddr().IP)
	if !ok || ip.IsUnspecified() {
		return nil
	}
	return []netip.Addr{ip.Unmap()}
}

// informer is what startInformers needs of a client.Informer.
type informer interface {
	Run(ctx context.Context)
	WaitForSync(ctx context.Context) bool
}

var _ informer = (*client.Informer[*v1.Service])(nil)

// startInformers watches Services and Endpoints of every namespace,
// FederatedEndpoints and the membership ConfigMap, and waits for their
// first lists. A cluster that is in no federation lists none of the
// latter: its answers are those of the cluster zone alone.
func (s *Server) startInformers(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.svcs = client.NewInformer(client.For[*v1.Service](s.cfg.Client, ""), client.ListOptions{}, s.log)
	s.eps = client.NewInformer(client.For[*v1.Endpoints](s.cfg.Client, ""), client.ListOptions{}, s.log)
	s.fed = newFederation(s.cfg.Client, s.log)
	s.svcs.AddHandler(onChange(s.onEvent))
	s.eps.AddHandler(onChange(s.onEvent))
	s.fed.fes.AddHandler(onChange(s.onFederated))
	s.fed.cms.AddHandler(onChange(s.onMembership))
	infs := []informer{s.svcs, s.eps, s.fed.fes, s.fed.cms}
	for _, inf := range infs {
		s.wg.Go(func() { inf.Run(runCtx) })
	}
	for _, inf := range infs {
		if !inf.WaitForSync(ctx) {
			return fmt.Errorf("dns: services, endpoints, federated endpoints and membership not listed: %w", ctx.Err())
		}
	}
	return nil
}

// onChange calls f with the object of every event.
func onChange(f func(obj any)) client.HandlerFuncs {
	return client.HandlerFuncs{AddFunc: f, UpdateFunc: func(_, obj any) { f(obj) }, DeleteFunc: f}
}

// onEvent rebuilds the records of the service an event is about.
func (s *Server) onEvent(obj any) {
	o, ok := obj.(v1.Object)
	if !ok {
		return
	}
	s.rebuild(v1.ObjectKey(o))
}

// rebuild publishes the records of service key ("ns/name") from the
// cached Service and Endpoints, and, in a member, the federated alias
// that points at it while it has addresses.
func (s *Server) rebuild(key string) {
	s.buildMu.Lock()
	defer s.buildMu.Unlock()
	svc, _ := s.svcs.Get(key)
	ep, _ := s.eps.Get(key)
	s.ix.replace(key, buildService(s.cfg.Zone, s.ttl, svc, ep))
	s.republishMembers(key)
}

// serve starts the UDP and TCP servers and waits until both serve.
func (s *Server) serve(ctx context.Context, h mdns.Handler) error {
	started := make(chan struct{}, len(s.pcs)+1)
	notify := func() { started <- struct{}{} }
	servers := map[*mdns.Server]string{}
	for _, pc := range s.pcs {
		u := &mdns.Server{PacketConn: pc, Handler: h, UDPSize: mdns.DefaultMsgSize, NotifyStartedFunc: notify}
		s.udps = append(s.udps, u)
		servers[u] = "udp"
	}
	s.tcp = &mdns.Server{Listener: s.ln, Handler: h, NotifyStartedFunc: notify}
	servers[s.tcp] = "tcp"
	for srv, proto := range servers {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			err := srv.ActivateAndServe()
			if s.closed.Load() {
				return
			}
			if err == nil {
				err = errors.New("stopped")
			}
			select {
			case s.errc <- fmt.Errorf("dns: serve %s: %w", proto, err):
			default:
			}
		}()
	}
	for range servers {
		select {
		case <-started:
		case err := <-s.errc:
			return err
		case <-ctx.Done():
			return fmt.Errorf("dns: serve: %w", ctx.Err())
		}
	}
	return nil
}

// UDPAddr is the address the server answers UDP on.
func (s *Server) UDPAddr() *net.UDPAddr { return s.pcs[0].LocalAddr().(*net.UDPAddr) }

// TCPAddr is the address the server answers TCP on.
func (s *Server) TCPAddr() *net.TCPAddr { return s.ln.Addr().(*net.TCPAddr) }

// Err reports a listener that stopped serving.
func (s *Server) Err() <-chan error { return s.errc }

// Close stops serving and watching. It is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if s.cancel != nil {
			s.cancel()
		}
		for _, srv := range append(slices.Clone(s.udps), s.tcp) {
			if srv != nil {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_ = srv.ShutdownContext(ctx) // not started yet: the listeners are closed below
				cancel()
			}
		}
		for _, pc := range s.pcs {
			pc.Close()
		}
		if s.ln != nil {
			s.ln.Close()
		}
		s.wg.Wait()
	})
	return nil
}

// Package controlplane composes Kennel's control plane from its parts: the
// store (embedded or external etcd), the API server with its PKI and admin
// token, and the controllers under leader election. `kennel up` and
// `kennel server` are thin commands over it.
package controlplane

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	schedconfig "github.com/kennel-dev/kennel/internal/scheduler/config"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/apiserver"
	"github.com/kennel-dev/kennel/internal/atomicfile"
	"github.com/kennel-dev/kennel/internal/dns"
	"github.com/kennel-dev/kennel/internal/pki"
	"github.com/kennel-dev/kennel/internal/store"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Config configures a control plane.
type Config struct {
	// DataDir holds etcd's data (embedded mode), the PKI and the admin token.
	DataDir string
	// Listen is the API server's address; ":0" picks a free port.
	Listen string
	// EtcdEndpoints selects an external etcd; empty runs it embedded.
	EtcdEndpoints []string
	// EtcdCAFile, EtcdCertFile, EtcdKeyFile: TLS to the external etcd.
	EtcdCAFile, EtcdCertFile, EtcdKeyFile string
	// DisableControllers runs the API server alone.
	DisableControllers bool
	// Identity names this control plane in leader election (default: host
	// name and listen address).
	Identity string
	// NodeGracePeriod is how long a node's Lease may go unrenewed before
	// the node is NotReady (default 20 s); PodEvictionTimeout how long
	// cattle pods stay on a NotReady node before they are replaced
	// (default 30 s).
	NodeGracePeriod    time.Duration
	PodEvictionTimeout time.Duration
	// EncryptionKeyFile holds the keys that encrypt Secrets at rest; it
	// must exist. Empty uses DataDir/encryption.keys, generated at the
	// first start.
	EncryptionKeyFile string
	// DNSAddrs are where the cluster DNS serves (UDP and TCP, host:port;
	// none: no DNS server); ClusterDomain its zone (default
	// cluster.local), DNSTTL its records' TTL (default 5 s), DNSForward
	// the resolvers other names go to (default: /etc/resolv.conf's).
	DNSAddrs      []string
	ClusterDomain string
	DNSTTL        time.Duration
	DNSForward    []string
	// Federation, when set, makes this a federation control plane: the
	// federation controllers run instead of the cluster's (no scheduler,
	// no node controllers: a federation has no nodes).
	Federation *Federation
	// FederationDNSTTL is the TTL of federated DNS records (default 30 s).
	FederationDNSTTL time.Duration
	// SchedulerConfig configures the scheduler (its profiles, plugins
	// and extenders); nil runs the built-in default profile.
	SchedulerConfig *schedconfig.Configuration
	// Logger receives the components' logs.
	Logger *slog.Logger
}

// Federation names a federation control plane.
type Federation struct {
	// Name is the federation's name, a DNS label; Domain its DNS domain
	// (federated names are <service>.<namespace>.<Name>.svc.<Domain>).
	Name, Domain string
	// ClusterGracePeriod is how long a member's membership Lease may go
	// unrenewed before it is NotReady (default 20 s).
	ClusterGracePeriod time.Duration
	// DriftMargin is added to a Placement's fencing period before a
	// silent member's pets are given to others (default 5 s);
	// MaxFailedShare stops automatic failover when more than that share
	// of the members failed at once (default 0.5).
	DriftMargin    time.Duration
	MaxFailedShare float64
	// AutomaticFailover enables failover policy Automatic (opt-in).
	AutomaticFailover bool
}

// Validate checks the configuration without side effects.
func (c *Config) Validate() error {
	var errs []error
	if f := c.Federation; f != nil {
		if msgs := validation.IsDNS1123Label(f.Name); f.Name == "" || len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("controlplane: config.Federation.Name: %q is not a DNS label (lower-case letters, digits and '-')", f.Name))
		}
		if msgs := validation.IsDNS1123Subdomain(f.Domain); f.Domain == "" || len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("controlplane: config.Federation.Domain: %q is not a DNS domain", f.Domain))
		}
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("controlplane: config.DataDir: required"))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("controlplane: config.Listen: %q is not host:port", c.Listen))
	}
	sc := store.Config{DataDir: c.DataDir, Endpoints: c.EtcdEndpoints, CAFile: c.EtcdCAFile, CertFile: c.EtcdCertFile, KeyFile: c.EtcdKeyFile}
	if err := sc.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ControlPlane is a running control plane.
type ControlPlane struct {
	cfg        Config
	lock       *os.File
	store      *store.Store
	server     *apiserver.Server
	ca         []byte
	adminToken string
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	closeOnce  sync.Once
	errc       chan error
	dns        []*dns.Server
}

// Start brings the control plane up. On error, whatever had started is
// stopped again.
func Start(ctx context.Context, cfg Config) (cp *ControlPlane, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cp = &ControlPlane{cfg: cfg, errc: make(chan error, 2)}
	defer func() {
		if err != nil {
			cp.Close()
			cp = nil
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return cp, fmt.Errorf("controlplane: data dir: %w", err)
	}
	if cp.lock, err = lockDataDir(cfg.DataDir); err != nil {
		return cp, err
	}
	cp.store, err = store.Start(ctx, store.Config{
		DataDir: filepath.Join(cfg.DataDir, "etcd"), Endpoints: cfg.EtcdEndpoints,
		CAFile: cfg.EtcdCAFile, CertFile: cfg.EtcdCertFile, KeyFile: cfg.EtcdKeyFile,
		Logger: cfg.Logger,
	})
	if err != nil {
		return cp, err
	}
	if err := cp.startServer(ctx); err != nil {
		return cp, err
	}
	if cp.adminToken, err = cp.ensureAdminToken(ctx); err != nil {
		return cp, err
	}
	if cfg.Federation != nil {
		if err := cp.ensureFederation(ctx); err != nil {
			return cp, err
		}
	}
	runCtx, cancel := context.WithCancel(context.Background())
	cp.cancel = cancel
	if !cfg.DisableControllers {
		if err := cp.startControllers(runCtx); err != nil {
			return cp, err
		}
	}
	if err := cp.startDNS(runCtx); err != nil {
		return cp, err
	}
	return cp, nil
}

func (cp *ControlPlane) startServer(ctx context.Context) error {
	files := pki.Files{Dir: filepath.Join(cp.cfg.DataDir, "pki")}
	ca, err := pki.EnsureCA(files)
	if err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(cp.cfg.Listen)
	cert, err := pki.EnsureServerCert(files, ca, pki.DefaultHosts(host))
	if err != nil {
		return err
	}
	cp.ca = ca.CertPEM
	agentCert, err := agentClientCert(ca)
	if err != nil {
		return err
	}
	keyFile := cp.cfg.EncryptionKeyFile
	if keyFile == "" {
		keyFile = filepath.Join(cp.cfg.DataDir, "encryption.keys")
	} else if _, err := os.Stat(keyFile); err != nil {
		return fmt.Errorf("controlplane: config.EncryptionKeyFile: %w", err)
	}
	cp.server, err = apiserver.Start(ctx, apiserver.Config{
		Listen: cp.cfg.Listen, Store: cp.store, TLS: &cert, Logger: cp.cfg.Logger,
		AgentClientCert: &agentCert, EncryptionKeyFile: keyFile,
	})
	return err
}

// agentClientCert issues the certificate the API server presents to node
// agents when it proxies logs and exec. It is issued anew at every start
// (nothing to renew or keep secret on disk); agents trust any certificate
// the cluster CA signed for v1.AgentProxyClientCN.
func agentClientCert(ca *pki.CA) (tls.Certificate, error) {
	certPEM, keyPEM, err := ca.Issue(v1.AgentProxyClientCN, nil, x509.ExtKeyUsageClientAuth)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("controlplane: agent client certificate: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("controlplane: agent client certificate: %w", err)
	}
	return cert, nil
}

// ensureAdminToken reuses the admin token saved in the data dir while it
// is valid, and mints a new one otherwise.
func (cp *ControlPlane) ensureAdminToken(ctx context.Context) (string, error) {
	path := filepath.Join(cp.cfg.DataDir, "admin.token")
	if b, err := os.ReadFile(path); err == nil {
		if tok := strings.TrimSpace(string(b)); cp.server.CheckToken(ctx, tok) {
			return tok, nil
		}
	}
	tok, err := cp.server.CreateToken(ctx, apiserver.RoleAdmin, "", "admin token of "+cp.cfg.DataDir)
	if err != nil {
		return "", err
	}
	if err := atomicfile.Write(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("controlplane: save admin token: %w", err)
	}
	return tok, nil
}

// URL is the API server's URL.
func (cp *ControlPlane) URL() string { return cp.server.URL() }

// CA is the PEM CA that signed the API server's certificate.
func (cp *ControlPlane) CA() []byte { return cp.ca }

// AdminToken is the admin bearer token (also in DataDir/admin.token).
func (cp *ControlPlane) AdminToken() string { return cp.adminToken }

// Store is the control plane's store.
func (cp *ControlPlane) Store() *store.Store { return cp.store }

// Server is the API server.
func (cp *ControlPlane) Server() *apiserver.Server { return cp.server }

// Client returns an admin client of this control plane.
func (cp *ControlPlane) Client() (*client.Client, error) {
	return client.New(client.Config{Server: cp.URL(), CAData: cp.ca, Token: cp.adminToken, UserAgent: "kennel-controlplane"})
}

// Err reports a fatal error of a component.
func (cp *ControlPlane) Err() <-chan error { return cp.errc }

// Wait blocks until ctx ends or a component fails.
func (cp *ControlPlane) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-cp.store.Err():
		return fmt.Errorf("controlplane: store: %w", err)
	case err := <-cp.server.Err():
		return err
	case err := <-cp.errc:
		return err
	}
}

// Close stops everything in reverse order of start. It is idempotent.
func (cp *ControlPlane) Close() error {
	cp.closeOnce.Do(func() {
		if cp.cancel != nil {
			cp.cancel()
		}
		cp.wg.Wait()
		for _, s := range cp.dns {
			s.Close()
		}
		if cp.server != nil {
			cp.server.Close()
		}
		if cp.store != nil {
			cp.store.Close()
		}
		if cp.lock != nil {
			cp.lock.Close()
		}
	})
	return nil
}

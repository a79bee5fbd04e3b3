package store

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Store is an etcd-backed key-value store with revisions. It is safe for
// concurrent use.
type Store struct {
	cfg Config
	cli *clientv3.Client
	// watchCli serves watches; with embedded etcd it is a gRPC connection
	// over the unix socket, otherwise the same as cli.
	watchCli  *clientv3.Client
	clientURL string
	etcd      *embed.Etcd // nil with an external etcd
	closed    sync.Once
	err       error
	stopCh    chan struct{}
	doneCh    chan struct{}
}

// Start connects to etcd, or starts it embedded in cfg.DataDir. It returns
// once the store is ready for requests; on error nothing is left running.
func Start(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg.withDefaults(), stopCh: make(chan struct{}), doneCh: make(chan struct{})}
	var err error
	if len(s.cfg.Endpoints) == 0 {
		err = s.startEmbedded(ctx)
	} else {
		err = s.connect(ctx)
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	if err := s.ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	close(s.doneCh)
	return s, nil
}

func (s *Store) connect(ctx context.Context) error {
	var tlsCfg *tls.Config
	if s.cfg.CAFile != "" || s.cfg.CertFile != "" {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
		if s.cfg.CAFile != "" {
			pem, err := os.ReadFile(s.cfg.CAFile)
			if err != nil {
				return fmt.Errorf("store: config.CAFile: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return errors.New("store: config.CAFile: no certificate found")
			}
			tlsCfg.RootCAs = pool
		}
		if s.cfg.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(s.cfg.CertFile, s.cfg.KeyFile)
			if err != nil {
				return fmt.Errorf("store: config.CertFile/KeyFile: %w", err)
			}
			tlsCfg.Certificates = []tls.Certificate{cert}
		}
	}
	endpoints, user, pass := splitCredentials(s.cfg.Endpoints)
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		Username:    user,
		Password:    pass,
		DialTimeout: s.cfg.DialTimeout,
		TLS:         tlsCfg,
		Context:     context.WithoutCancel(ctx),
		// etcd's client logs endpoints; Kennel reports errors itself.
		Logger: zap.NewNop(),
	})
	if err != nil {
		// clientv3 errors can quote the endpoint; do not wrap the text.
		return errors.New("store: cannot connect to the external etcd (check --etcd-endpoints and the TLS flags)")
	}
	s.cli, s.watchCli = cli, cli
	return nil
}

// splitCredentials takes user:password out of endpoint URLs (etcd's own
// authentication), so that they are sent as credentials and never appear
// in an address that might be logged.
func splitCredentials(endpoints []string) (out []string, user, pass string) {
	for _, e := range endpoints {
		u, err := url.Parse(e)
		if err != nil {
			out = append(out, e)
			continue
		}
		if u.User != nil {
			user = u.User.Username()
			pass, _ = u.User.Password()
			u.User = nil
		}
		out = append(out, u.String())
	}
	return out, user, pass
}

// ping makes one read so that Start fails early when etcd does not answer.
func (s *Store) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.DialTimeout)
	defer cancel()
	if _, err := s.cli.Get(ctx, s.cfg.Prefix+"/", clientv3.WithCountOnly()); err != nil {
		return fmt.Errorf("store: etcd does not answer: %w", redact(err))
	}
	return nil
}

// Client is the underlying etcd client, for benchmarks and tools that
// compare the store with raw etcd. Code that stores objects uses the store.
func (s *Store) Client() *clientv3.Client { return s.cli }

// Prefix is the key prefix of every object.
func (s *Store) Prefix() string { return s.cfg.Prefix }

// Embedded reports whether etcd runs inside this process.
func (s *Store) Embedded() bool { return s.etcd != nil }

// Err reports a fatal error of the embedded etcd; it never closes for an
// external one.
func (s *Store) Err() <-chan error {
	if s.etcd != nil {
		return s.etcd.Err()
	}
	return make(chan error)
}

// Close stops the client and the embedded etcd. It is idempotent.
func (s *Store) Close() error {
	s.closed.Do(func() {
		if s.watchCli != nil && s.watchCli != s.cli {
			s.watchCli.Close()
		}
		if s.cli != nil {
			s.err = s.cli.Close()
		}
		if s.etcd != nil {
			s.etcd.Close()
		}
	})
	return s.err
}

// CurrentRevision is the store's latest revision.
func (s *Store) CurrentRevision(ctx context.Context) (int64, error) {
	resp, err := s.cli.Get(ctx, s.cfg.Prefix+"/", clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("store: revision: %w", redact(err))
	}
	return resp.Header.Revision, nil
}

// redact drops error text that might carry an endpoint URL with credentials.
func redact(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return errRedacted{err}
}

type errRedacted struct{ err error }

func (e errRedacted) Error() string { return scrubURLs(e.err.Error()) }
func (e errRedacted) Unwrap() error { return e.err }

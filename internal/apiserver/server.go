package apiserver

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/store"
	"github.com/kennel-dev/kennel/internal/version"
)

// Config configures an API server.
type Config struct {
	// Listen is the address to serve on; ":0" or "127.0.0.1:0" picks a port.
	Listen string
	// Store keeps the objects. Required.
	Store *store.Store
	// TLS is the serving certificate. Required unless Insecure.
	TLS *tls.Certificate
	// Insecure serves plain HTTP; only for tests of the HTTP layer itself.
	Insecure bool
	// MaxBodyBytes caps a request body (default 1.5 MiB, etcd's own limit).
	MaxBodyBytes int64
	// Logger receives request errors.
	Logger *slog.Logger
	// WatchBufferEvents is how many events a watcher may fall behind before
	// it is cut off and must resume (default 1024).
	WatchBufferEvents int
	// Registry of kinds (default: every built-in kind).
	Registry *v1.Registry
	// Metrics receives the server's Prometheus series (default: a new
	// registry served at /metrics).
	Metrics *prometheus.Registry
	// AgentClientCert is the client certificate (CommonName
	// v1.AgentProxyClientCN, signed by the cluster CA) presented to node
	// agents when pods/log and pods/exec are proxied to them. Without it
	// those requests fail with ServiceUnavailable.
	AgentClientCert *tls.Certificate
	// EncryptionKeyFile holds the keys that encrypt Secrets at rest (see
	// secretkeys.go for its format); it is created with a new key when it
	// does not exist. Empty keeps a new key in memory only, so Secrets
	// written then cannot be read by a later server: for tests.
	EncryptionKeyFile string
}

// Validate checks the configuration; errors name the field.
func (c *Config) Validate() error {
	var errs []error
	if c.Store == nil {
		errs = append(errs, errors.New("apiserver: config.Store: required"))
	}
	if c.TLS == nil && !c.Insecure {
		errs = append(errs, errors.New("apiserver: config.TLS: required (or set Insecure)"))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("apiserver: config.Listen: %q: %v", c.Listen, err))
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, errors.New("apiserver: config.MaxBodyBytes: must not be negative"))
	}
	return errors.Join(errs...)
}

// Server is a running API server.
type Server struct {
	cfg    Config
	reg    *v1.Registry
	st     *store.Store
	tokens *tokens
	// recent caches the objects last written, for updates.
	recent *recent
	// watchCaches fan etcd watches out to API watches.
	watchCaches *watchCaches
	// namespaces caches namespace state for creates.
	namespaces *nsCache
	// secrets encrypts Secrets at rest.
	secrets *secretCrypt
	metrics *metrics
	log     *slog.Logger
	http    *http.Server
	ln      net.Listener
	url     string

	stopCtx  context.Context
	stop     context.CancelFunc
	done     chan struct{}
	err      chan error
	closeOne sync.Once
	wg       sync.WaitGroup
}

// Start serves the API. It returns once the listener is bound and the
// built-in namespaces exist; on error nothing is left running.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 3 << 19
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.WatchBufferEvents <= 0 {
		cfg.WatchBufferEvents = 1024
	}
	if cfg.Registry == nil {
		cfg.Registry = v1.NewRegistry()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = prometheus.NewRegistry()
		cfg.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	s := &Server{
		cfg: cfg, reg: cfg.Registry, st: cfg.Store, log: cfg.Logger.With("component", "apiserver"),
		tokens:      newTokens(cfg.Store),
		recent:      newRecent(8192, 32<<20),
		watchCaches: &watchCaches{st: cfg.Store, log: cfg.Logger, buffer: cfg.WatchBufferEvents, m: map[string]*watchCache{}}, metrics: newMetrics(cfg.Metrics, resourceNames(cfg.Registry)),
		done: make(chan struct{}), err: make(chan error, 1),
	}
	secretsKind, ok := s.reg.ByResource("secrets")
	if !ok {
		return nil, errors.New("apiserver: registry has no secrets")
	}
	var err error
	if s.secrets, err = newSecretCrypt(cfg.EncryptionKeyFile, s.listPrefix(secretsKind, "")); err != nil {
		return nil, err
	}
	if err := s.secrets.verify(ctx, s.st); err != nil {
		return nil, err
	}
	s.stopCtx, s.stop = context.WithCancel(context.Background())
	if err := s.bootstrap(ctx); err != nil {
		return nil, err
	}
	nsKind, _ := s.reg.ByResource("namespaces")
	s.namespaces = newNSCache(s.st, s.listPrefix(nsKind, ""), s.log)
	s.wg.Go(func() { s.namespaces.run(s.stopCtx) })
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		s.stop()
		s.wg.Wait()
		return nil, fmt.Errorf("apiserver: listen on %s: %w", cfg.Listen, err)
	}
	s.ln = ln
	scheme := "https"
	if cfg.Insecure {
		scheme = "http"
	}
	s.url = scheme + "://" + ln.Addr().String()
	s.http = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       5 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return s.stopCtx },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	if !cfg.Insecure {
		s.http.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cfg.TLS}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
		ln = tls.NewListener(ln, s.http.TLSConfig)
	}
	go func() {
		defer close(s.done)
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.err <- fmt.Errorf("apiserver: serve: %w", err)
		}
	}()
	return s, nil
}

func resourceNames(reg *v1.Registry) []string {
	var out []string
	for _, k := range reg.All() {
		out = append(out, k.Resource)
	}
	return out
}

// URL is the server's base URL (https://host:port).
func (s *Server) URL() string { return s.url }

// Addr is the bound listen address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Err reports a fatal serving error.
func (s *Server) Err() <-chan error { return s.err }

// Close stops serving: watches end, in-flight requests get a few seconds.
// It is idempotent.
func (s *Server) Close() error {
	s.closeOne.Do(func() {
		s.stop()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.http.Shutdown(ctx); err != nil {
			s.http.Close()
		}
		<-s.done
		s.wg.Wait()
	})
	return nil
}

// CreateToken mints a token; its plain text is returned once.
func (s *Server) CreateToken(ctx context.Context, role Role, node, description string) (string, error) {
	tok, _, err := s.tokens.create(ctx, TokenInfo{Role: role, Node: node, Description: description})
	return tok, err
}

// CheckToken reports whether token is valid (for reusing a saved admin
// token across restarts).
func (s *Server) CheckToken(ctx context.Context, token string) bool {
	_, err := s.tokens.authenticate(ctx, token)
	return err == nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", s.healthz)
	mux.HandleFunc("/livez", s.healthz)
	mux.HandleFunc("/readyz", s.readyz)
	mux.Handle("/metrics", s.authenticated(func(w http.ResponseWriter, r *http.Request, id *Identity) {
		promhttp.HandlerFor(s.cfg.Metrics, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	}))
	mux.Handle("/api/v1", s.authenticated(s.discovery))
	mux.Handle("/api/v1/", s.authenticated(s.serveResource))
	mux.Handle("/kennel/v1/tokens", s.authenticated(s.serveTokens))
	mux.Handle("/kennel/v1/tokens/", s.authenticated(s.serveTokens))
	mux.Handle(RotateKeyPath, s.authenticated(s.serveRotateKey))
	mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"version": version.Get()})
	})
	return mux
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.st.CurrentRevision(ctx); err != nil {
		http.Error(w, "store: not ready\n", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Write([]byte("ok\n"))
}

type identityHandler func(http.ResponseWriter, *http.Request, *Identity)

// authenticated requires a valid bearer token.
func (s *Server) authenticated(h identityHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			// A bug must not cost the caller its connection without a word.
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				writeError(w, v1.NewError(v1.ReasonInternal, "internal error serving %s %s (logged by the server)", r.Method, r.URL.Path))
			}
		}()
		auth := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || tok == "" {
			writeError(w, v1.NewError(v1.ReasonUnauthorized, "authentication required: send a bearer token (kennel token create)"))
			return
		}
		id, err := s.tokens.authenticate(r.Context(), strings.TrimSpace(tok))
		if err != nil {
			writeError(w, v1.NewError(v1.ReasonUnauthorized, "authentication failed: %v", err))
			return
		}
		h(w, r, id)
	})
}

// discovery lists the served kinds.
func (s *Server) discovery(w http.ResponseWriter, r *http.Request, _ *Identity) {
	type resource struct {
		Name       string   `json:"name"`
		Kind       string   `json:"kind"`
		Namespaced bool     `json:"namespaced"`
		ShortNames []string `json:"shortNames,omitempty"`
		Verbs      []string `json:"verbs"`
	}
	var out []resource
	for _, k := range s.reg.All() {
		out = append(out, resource{Name: k.Resource, Kind: k.Kind, Namespaced: k.Namespaced, ShortNames: k.ShortNames,
			Verbs: []string{verbCreate, verbDelete, verbGet, verbList, verbPatch, verbUpdate, verbWatch}})
	}
	writeJSON(w, http.StatusOK, map[string]any{"kind": "APIResourceList", "groupVersion": "v1", "resources": out})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, v1.NewError(v1.ReasonInternal, "encode response: %v", err))
		return
	}
	writeRaw(w, code, b)
}

func writeRaw(w http.ResponseWriter, code int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(b)
	w.Write([]byte{'\n'})
}

// writeError writes err as a Status body; errors that are not API errors
// become InternalError.
func writeError(w http.ResponseWriter, err error) int {
	var e *v1.Error
	if !errors.As(err, &e) {
		e = v1.NewError(v1.ReasonInternal, "%v", err)
	}
	b, _ := json.Marshal(e.Status)
	writeRaw(w, e.Status.Code, b)
	return e.Status.Code
}

package member_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// proxy forwards HTTPS requests to an API server until it is cut: then
// it ends every request in flight (watches included) and answers new
// ones 503, as if the server could not be reached, until it is
// restored. It can also hold back the watches of Works alone, so that
// the informer of an agent lags behind the server.
type proxy struct {
	srv *httptest.Server
	// CA is the PEM certificate clients of the proxy must trust.
	CA []byte

	mu         sync.Mutex
	cut        bool
	holdWatch  bool
	inFlight   map[int]context.CancelFunc
	nextFlight int
}

// newProxy forwards to the server at serverURL, which serverCA signed.
func newProxy(t *testing.T, serverURL string, serverCA []byte) *proxy {
	t.Helper()
	target, err := url.Parse(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(serverCA) {
		t.Fatal("proxy: no CA certificate")
	}
	upstream := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true}
	t.Cleanup(upstream.CloseIdleConnections)
	rp := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport:     upstream,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, "proxy: "+err.Error(), http.StatusBadGateway)
		},
	}
	p := &proxy{inFlight: map[int]context.CancelFunc{}}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, done, ok := p.admit(r)
		if !ok {
			http.Error(w, "proxy: cut", http.StatusServiceUnavailable)
			return
		}
		defer done()
		rp.ServeHTTP(w, r.WithContext(ctx))
	}))
	p.srv.EnableHTTP2 = true
	p.srv.StartTLS()
	p.CA = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.srv.Certificate().Raw})
	t.Cleanup(func() {
		p.setCut(true)
		p.srv.Close()
	})
	return p
}

// URL is the proxy's https URL.
func (p *proxy) URL() string { return p.srv.URL }

// admit lets r through unless the proxy is cut (or r watches Works
// while those are held back); done must be called when r ends.
func (p *proxy) admit(r *http.Request) (ctx context.Context, done func(), ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	watchesWorks := r.URL.Query().Get("watch") != "" && strings.HasSuffix(r.URL.Path, "/works")
	if p.cut || (p.holdWatch && watchesWorks) {
		return nil, nil, false
	}
	ctx, cancel := context.WithCancel(r.Context())
	id := p.nextFlight
	p.nextFlight++
	p.inFlight[id] = cancel
	return ctx, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		delete(p.inFlight, id)
		cancel()
	}, true
}

// setCut cuts (true) or restores (false) the way to the server.
func (p *proxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for id, cancel := range p.inFlight {
			cancel()
			delete(p.inFlight, id)
		}
	}
}

// holdWorkWatches refuses (true) or lets through (false) watches of
// Works.
func (p *proxy) holdWorkWatches(hold bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.holdWatch = hold
}

package store

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.uber.org/zap"
)

// startEmbedded runs a single-member etcd in the data dir. Its client and
// peer listeners bind loopback ports the OS picks; Kennel itself talks to it
// in process, without a socket.
func (s *Store) startEmbedded(ctx context.Context) error {
	if err := os.MkdirAll(s.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("store: data dir: %w", err)
	}
	cfg := embed.NewConfig()
	cfg.Name = "kennel"
	cfg.Dir = s.cfg.DataDir
	cfg.UnsafeNoFsync = s.cfg.NoFsync
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{filepath.Join(s.cfg.DataDir, "etcd.log")}
	sock, err := socketPath(s.cfg.DataDir)
	if err != nil {
		return err
	}
	// Clients reach the embedded etcd only through a unix socket in the
	// private data dir: no TCP port serves it unauthenticated.
	clientURL := url.URL{Scheme: "unix", Path: sock}
	cfg.ListenClientUrls = []url.URL{clientURL}
	// etcd insists on host:port for the advertised URL, which only goes
	// into the member list; nothing connects to it.
	cfg.AdvertiseClientUrls = []url.URL{{Scheme: "http", Host: "localhost:0"}}
	// A single member still needs a peer listener; it binds a loopback
	// port the OS picks and accepts only this cluster's raft traffic.
	loop, _ := url.Parse("http://127.0.0.1:0")
	cfg.ListenPeerUrls = []url.URL{*loop}
	cfg.AdvertisePeerUrls = []url.URL{*loop}
	cfg.InitialCluster = cfg.Name + "=" + loop.String()
	cfg.QuotaBackendBytes = s.cfg.QuotaBackendBytes
	if s.cfg.CompactionInterval > 0 {
		cfg.AutoCompactionMode = embed.CompactorModePeriodic
		cfg.AutoCompactionRetention = s.cfg.CompactionInterval.String()
	}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return fmt.Errorf("store: start embedded etcd in %s: %w", s.cfg.DataDir, err)
	}
	s.etcd = e
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		return fmt.Errorf("store: embedded etcd failed: %w", err)
	case <-ctx.Done():
		return fmt.Errorf("store: waiting for embedded etcd: %w", ctx.Err())
	}
	// Requests go in process, without a socket. Watches use a real gRPC
	// connection: the in-process adapter's unbuffered streams can deadlock
	// when many watches are cancelled while events flow.
	s.cli = v3client.New(e.Server)
	s.clientURL = clientURL.String()
	wc, err := clientv3.New(clientv3.Config{Endpoints: []string{s.clientURL}, DialTimeout: s.cfg.DialTimeout, Logger: zap.NewNop()})
	if err != nil {
		return fmt.Errorf("store: connect watch client to embedded etcd: %w", err)
	}
	s.watchCli = wc
	return nil
}

// socketPath is where the embedded etcd's client socket lives: in the data
// dir, or, when that path is too long for a unix socket, in a private
// temporary directory.
func socketPath(dataDir string) (string, error) {
	abs, err := filepath.Abs(filepath.Join(dataDir, "etcd.sock"))
	if err != nil {
		return "", fmt.Errorf("store: data dir: %w", err)
	}
	os.Remove(abs) // a stale socket of a killed process
	if len(abs) < 100 {
		return abs, nil
	}
	dir, err := os.MkdirTemp("", "kennel-etcd-")
	if err != nil {
		return "", fmt.Errorf("store: socket dir: %w", err)
	}
	return filepath.Join(dir, "etcd.sock"), nil
}

// ClientURL is the embedded etcd's client URL, a unix socket in the data
// dir (for tools and benchmarks that talk to etcd directly); empty with an
// external etcd.
func (s *Store) ClientURL() string { return s.clientURL }

var urlPattern = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"']+`)

// scrubURLs replaces every URL in s with a placeholder.
func scrubURLs(s string) string { return urlPattern.ReplaceAllString(s, "<etcd endpoint>") }

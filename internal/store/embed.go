package store

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"

	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
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
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{filepath.Join(s.cfg.DataDir, "etcd.log")}
	loop, _ := url.Parse("http://127.0.0.1:0")
	cfg.ListenClientUrls = []url.URL{*loop}
	cfg.AdvertiseClientUrls = []url.URL{*loop}
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
	s.cli = v3client.New(e.Server)
	return nil
}

// ClientURL is the embedded etcd's client URL on loopback (for tools such
// as etcdctl in tests); empty with an external etcd.
func (s *Store) ClientURL() string {
	if s.etcd == nil || len(s.etcd.Clients) == 0 {
		return ""
	}
	return "http://" + s.etcd.Clients[0].Addr().String()
}

var urlPattern = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"']+`)

// scrubURLs replaces every URL in s with a placeholder.
func scrubURLs(s string) string { return urlPattern.ReplaceAllString(s, "<etcd endpoint>") }

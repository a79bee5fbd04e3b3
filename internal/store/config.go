package store

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// Config configures a Store. The zero value plus DataDir runs etcd embedded.
type Config struct {
	// DataDir holds the embedded etcd's data. Required unless Endpoints is set.
	DataDir string
	// Endpoints of an external etcd cluster. Empty means embedded etcd.
	Endpoints []string
	// CAFile, CertFile and KeyFile configure TLS to an external etcd.
	CAFile, CertFile, KeyFile string
	// Prefix is the key prefix under which every object is kept.
	Prefix string
	// CompactionInterval is how often the embedded etcd compacts history
	// older than the interval. Zero means one hour; negative disables.
	CompactionInterval time.Duration
	// QuotaBackendBytes caps the embedded etcd database size (0: etcd's default).
	QuotaBackendBytes int64
	// NoFsync makes the embedded etcd skip fsync: a power cut then loses
	// data. For tests only, whose data need not survive one and which a
	// slow shared disk would otherwise stall.
	NoFsync bool
	// DialTimeout bounds connecting to an external etcd.
	DialTimeout time.Duration
	// Logger receives the store's own messages.
	Logger *slog.Logger
}

// DefaultPrefix is the key prefix of Kennel's objects in etcd.
const DefaultPrefix = "/kennel"

func (c *Config) withDefaults() Config {
	out := *c
	if out.Prefix == "" {
		out.Prefix = DefaultPrefix
	}
	out.Prefix = strings.TrimSuffix(out.Prefix, "/")
	if out.CompactionInterval == 0 {
		out.CompactionInterval = time.Hour
	}
	if out.DialTimeout == 0 {
		out.DialTimeout = 10 * time.Second
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	return out
}

// Validate checks the configuration without side effects; errors name the
// field.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Endpoints) == 0 && c.DataDir == "" {
		errs = append(errs, errors.New("store: config.DataDir: required for embedded etcd"))
	}
	for i, e := range c.Endpoints {
		u, err := url.Parse(e)
		ok := err == nil && ((u.Host != "" && (u.Scheme == "http" || u.Scheme == "https")) ||
			(u.Host+u.Path != "" && (u.Scheme == "unix" || u.Scheme == "unixs")))
		if !ok {
			// The endpoint itself is not printed: it may carry credentials.
			errs = append(errs, fmt.Errorf("store: config.Endpoints[%d]: want http(s)://host:port or unix:///path", i))
		}
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		errs = append(errs, errors.New("store: config.CertFile and config.KeyFile: set both or neither"))
	}
	if c.Prefix != "" && !strings.HasPrefix(c.Prefix, "/") {
		errs = append(errs, fmt.Errorf("store: config.Prefix: %q must start with /", c.Prefix))
	}
	return errors.Join(errs...)
}

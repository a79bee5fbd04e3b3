package member

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller/clock"
)

// Defaults of Config's timings.
const (
	DefaultRenewInterval  = 5 * time.Second
	DefaultLeaseDuration  = 30 * time.Second
	DefaultStatusInterval = 10 * time.Second
	DefaultResync         = 5 * time.Minute
	DefaultStopMargin     = 5 * time.Second
)

// Config configures the federation agent of one member cluster.
type Config struct {
	// Federation is the federation's API, authenticated as this member
	// (a token of the cluster role). Required.
	Federation *client.Client
	// Member is an admin client of the member's own API. Required.
	Member *client.Client
	// Cluster is the member's name in the federation (a DNS label).
	// Required.
	Cluster string
	// Labels are the Cluster's labels, which Placements select on.
	Labels map[string]string
	// Region (required) and Zones (the first is the zone of federated
	// DNS names) locate the member; both are DNS labels.
	Region string
	Zones  []string
	// APIEndpoint is the member's API URL, for information only.
	APIEndpoint string
	// RenewInterval is how often the membership Lease is renewed; zero
	// means DefaultRenewInterval.
	RenewInterval time.Duration
	// LeaseDuration is written into the Lease (leaseDurationSeconds):
	// how long the federation waits after the last renewal before it
	// declares the member not Ready. Zero means DefaultLeaseDuration.
	LeaseDuration time.Duration
	// StatusInterval is how often the Cluster's status is reported; zero
	// means DefaultStatusInterval.
	StatusInterval time.Duration
	// Resync is how often every Work is applied again and the member is
	// swept of objects whose Work is gone; zero means DefaultResync.
	Resync time.Duration
	// StopMargin is how long before a fenceable workload's deadline (the
	// last renewal published in the fence ConfigMap plus its fencing
	// period) the agent stops its pods gracefully, ahead of the node
	// agents' hard stop at the deadline. It is at most half the fencing
	// period. Zero means DefaultStopMargin.
	StopMargin time.Duration
	// Clock is the agent's time for renewals and fencing deadlines; nil
	// is the system clock. Retries and intervals use real time.
	Clock clock.Clock
	// Logger receives the agent's logs; nil discards them.
	Logger *slog.Logger
}

// Validate checks the configuration without side effects; each error
// names its field.
func (c Config) Validate() error {
	var errs []error
	if c.Federation == nil {
		errs = append(errs, errors.New("member: Config.Federation: required"))
	}
	if c.Member == nil {
		errs = append(errs, errors.New("member: Config.Member: required"))
	}
	errs = append(errs, dnsLabel("Cluster", c.Cluster, true))
	errs = append(errs, dnsLabel("Region", c.Region, true))
	for i, z := range c.Zones {
		errs = append(errs, dnsLabel(fmt.Sprintf("Zones[%d]", i), z, true))
	}
	for k, v := range c.Labels {
		for _, msg := range validation.IsQualifiedName(k) {
			errs = append(errs, fmt.Errorf("member: Config.Labels: key %q: %s", k, msg))
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			errs = append(errs, fmt.Errorf("member: Config.Labels[%q]: %s", k, msg))
		}
	}
	if c.APIEndpoint != "" {
		u, err := url.Parse(c.APIEndpoint)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("member: Config.APIEndpoint: %q is not an http or https URL", c.APIEndpoint))
		}
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"RenewInterval", c.RenewInterval}, {"LeaseDuration", c.LeaseDuration}, {"StatusInterval", c.StatusInterval}, {"Resync", c.Resync},
		{"StopMargin", c.StopMargin}} {
		if f.d < 0 {
			errs = append(errs, fmt.Errorf("member: Config.%s: must not be negative, got %s", f.name, f.d))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	d := c.withDefaults()
	if d.LeaseDuration < time.Second || d.LeaseDuration <= d.RenewInterval {
		return fmt.Errorf("member: Config.LeaseDuration: must be at least 1s and longer than RenewInterval (%s), got %s", d.RenewInterval, d.LeaseDuration)
	}
	return nil
}

func dnsLabel(field, v string, required bool) error {
	if v == "" {
		if required {
			return fmt.Errorf("member: Config.%s: required", field)
		}
		return nil
	}
	if msgs := validation.IsDNS1123Label(v); len(msgs) > 0 {
		return fmt.Errorf("member: Config.%s: %q: %s", field, v, msgs[0])
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.RenewInterval == 0 {
		c.RenewInterval = DefaultRenewInterval
	}
	if c.LeaseDuration == 0 {
		c.LeaseDuration = DefaultLeaseDuration
	}
	if c.StatusInterval == 0 {
		c.StatusInterval = DefaultStatusInterval
	}
	if c.Resync == 0 {
		c.Resync = DefaultResync
	}
	if c.StopMargin == 0 {
		c.StopMargin = DefaultStopMargin
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// zone is the member's first zone, the one federated DNS names use.
func (c Config) zone() string {
	if len(c.Zones) == 0 {
		return ""
	}
	return c.Zones[0]
}

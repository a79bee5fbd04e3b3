package leaderelection

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/controller/clock"
)

// LeaseClient reads and writes Lease objects of one namespace. Errors follow
// api/v1: v1.IsNotFound, v1.IsAlreadyExists, v1.IsConflict (stale
// resourceVersion). Update must fail with a conflict when the Lease's
// metadata.resourceVersion is not the stored one. The elector retries every
// failed call on its next attempt; it never modifies the objects it is given
// or returned.
type LeaseClient interface {
	Get(ctx context.Context, name string) (*v1.Lease, error)
	Create(ctx context.Context, l *v1.Lease) (*v1.Lease, error)
	Update(ctx context.Context, l *v1.Lease) (*v1.Lease, error)
}

// Defaults of Config's timings, as in client-go.
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// Config configures an election.
type Config struct {
	// Lock reads and writes the Lease. Required.
	Lock LeaseClient
	// Name is the Lease's name. Required.
	Name string
	// Identity names this candidate in the Lease's holderIdentity; it must
	// be unique among candidates. Required.
	Identity string
	// LeaseDuration is how long others wait, after they last saw the Lease
	// change, before taking it over. Zero means DefaultLeaseDuration.
	LeaseDuration time.Duration
	// RenewDeadline is how long the leader keeps trying to renew before it
	// stops leading; less than LeaseDuration. Zero means DefaultRenewDeadline.
	RenewDeadline time.Duration
	// RetryPeriod is the wait between attempts to acquire or renew; less
	// than RenewDeadline. Zero means DefaultRetryPeriod.
	RetryPeriod time.Duration
	// ReleaseOnCancel makes Run give the Lease up when its context ends, so
	// another candidate takes over at once instead of after LeaseDuration.
	ReleaseOnCancel bool
	// Clock is the time source; nil means the system clock.
	Clock clock.Clock
	// Logger receives the election's logs; nil discards them.
	Logger *slog.Logger
}

// Callbacks are called by Run, from its goroutine unless noted.
type Callbacks struct {
	// OnStartedLeading is called in its own goroutine once the Lease is
	// acquired. ctx is cancelled when leadership ends; Run waits for
	// OnStartedLeading to return before it releases the Lease or returns.
	// Required.
	OnStartedLeading func(ctx context.Context)
	// OnStoppedLeading is called after leadership ends and OnStartedLeading
	// has returned. Not called if this candidate never led. Optional.
	OnStoppedLeading func()
	// OnNewLeader is called whenever a different holder is observed,
	// including this candidate. It must not block. Optional.
	OnNewLeader func(identity string)
}

// Validate checks the configuration without side effects; zero timings are
// checked as their defaults. Each error names its field.
func (c Config) Validate() error {
	var errs []error
	if c.Lock == nil {
		errs = append(errs, errors.New("leaderelection: Lock is required"))
	}
	if c.Name == "" {
		errs = append(errs, errors.New("leaderelection: Name is required"))
	}
	if c.Identity == "" {
		errs = append(errs, errors.New("leaderelection: Identity is required"))
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"LeaseDuration", c.LeaseDuration}, {"RenewDeadline", c.RenewDeadline}, {"RetryPeriod", c.RetryPeriod}} {
		if f.d < 0 {
			errs = append(errs, fmt.Errorf("leaderelection: %s: must not be negative, got %s", f.name, f.d))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	d := c.withDefaults()
	if d.RenewDeadline >= d.LeaseDuration {
		errs = append(errs, fmt.Errorf("leaderelection: RenewDeadline: must be less than LeaseDuration (%s), got %s", d.LeaseDuration, d.RenewDeadline))
	}
	if d.RetryPeriod >= d.RenewDeadline {
		errs = append(errs, fmt.Errorf("leaderelection: RetryPeriod: must be less than RenewDeadline (%s), got %s", d.RenewDeadline, d.RetryPeriod))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.LeaseDuration == 0 {
		c.LeaseDuration = DefaultLeaseDuration
	}
	if c.RenewDeadline == 0 {
		c.RenewDeadline = DefaultRenewDeadline
	}
	if c.RetryPeriod == 0 {
		c.RetryPeriod = DefaultRetryPeriod
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

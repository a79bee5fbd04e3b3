package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kennel-dev/kennel/internal/controller/clock"
)

// SyncFunc converges the object named by key. See the package comment for
// what its result means.
type SyncFunc func(ctx context.Context, key string) error

// Options configure a Controller. The zero value is usable.
type Options struct {
	// Workers is the number of keys synced in parallel; zero means 1.
	Workers int
	// Backoff sets how long a failing key waits before it is retried.
	Backoff Backoff
	// Logger is the controller's logger; nil means the logger carried by
	// Run's context (see WithLogger), else slog.Default().
	Logger *slog.Logger
	// Metrics, if set, receives the controller's metrics (syncs, errors,
	// requeues, queue depth, sync duration), labelled by controller name.
	Metrics prometheus.Registerer
	// Clock times back-off and requeue delays; nil means the system clock.
	Clock clock.Clock
}

// Controller runs a sync function over the keys of a work queue.
type Controller struct {
	name    string
	sync    SyncFunc
	workers int
	clock   clock.Clock
	queue   *Queue
	metrics *metrics
	ownLog  bool // Options.Logger was set
	log     *slog.Logger
	logMu   sync.RWMutex
	started atomic.Bool
}

// New returns a controller named name (the "controller" attribute of its
// logs and label of its metrics) that calls sync for each queued key once
// Run is called. Keys may be enqueued before Run.
func New(name string, sync SyncFunc, opts Options) (*Controller, error) {
	switch {
	case name == "":
		return nil, errors.New("controller: name is required")
	case sync == nil:
		return nil, fmt.Errorf("controller: %s: sync function is required", name)
	case opts.Workers < 0:
		return nil, fmt.Errorf("controller: %s: Workers: must not be negative, got %d", name, opts.Workers)
	}
	m, err := newMetrics(opts.Metrics, name)
	if err != nil {
		return nil, fmt.Errorf("controller: %s: %w", name, err)
	}
	if opts.Workers == 0 {
		opts.Workers = 1
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	c := &Controller{
		name:    name,
		sync:    sync,
		workers: opts.Workers,
		clock:   opts.Clock,
		metrics: m,
		ownLog:  opts.Logger != nil,
		log:     log.With("controller", name),
	}
	c.queue = newQueue(QueueConfig{Backoff: opts.Backoff, Clock: opts.Clock}, func(n int) { m.depth.Set(float64(n)) })
	return c, nil
}

// Name is the controller's name.
func (c *Controller) Name() string { return c.name }

// Queue is the controller's work queue, for callers that need more than
// Enqueue and EnqueueAfter.
func (c *Controller) Queue() *Queue { return c.queue }

// Enqueue asks for key to be synced.
func (c *Controller) Enqueue(key string) { c.queue.Add(key) }

// EnqueueAfter asks for key to be synced once d has passed.
func (c *Controller) EnqueueAfter(key string, d time.Duration) { c.queue.AddAfter(key, d) }

// Run starts the workers and blocks until ctx is done; then it shuts the
// queue down and waits for the syncs in progress to return. Keys still
// queued are dropped: being level-triggered, the next run finds the same
// work from its caches. A controller runs once; a second Run is an error.
func (c *Controller) Run(ctx context.Context) error {
	if !c.started.CompareAndSwap(false, true) {
		return fmt.Errorf("controller: %s: Run called twice", c.name)
	}
	log := c.logger()
	if !c.ownLog {
		if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok && l != nil {
			log = l.With("controller", c.name)
			c.setLogger(log)
		}
	}
	ctx = WithLogger(ctx, log)
	log.Info("starting controller", "workers", c.workers)

	var wg sync.WaitGroup
	for range c.workers {
		wg.Go(func() {
			for c.processNext(ctx) {
			}
		})
	}
	<-ctx.Done()
	log.Info("stopping controller")
	c.queue.ShutDown()
	wg.Wait()
	log.Info("controller stopped")
	return nil
}

func (c *Controller) logger() *slog.Logger {
	c.logMu.RLock()
	defer c.logMu.RUnlock()
	return c.log
}

func (c *Controller) setLogger(l *slog.Logger) {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	c.log = l
}

package controller

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// processNext syncs one key. It reports false when the worker should stop:
// the queue is shut down or ctx is done.
func (c *Controller) processNext(ctx context.Context) bool {
	key, shutdown := c.queue.Get()
	if shutdown {
		return false
	}
	defer c.queue.Done(key)
	if ctx.Err() != nil {
		// Run is stopping; the key will be found again on the next start.
		return false
	}
	log := LoggerFrom(ctx).With("key", key)
	start := c.clock.Now()
	err := c.callSync(WithLogger(ctx, log), key)
	c.metrics.duration.Observe(c.clock.Now().Sub(start).Seconds())
	c.metrics.syncs.Inc()
	c.handleResult(ctx, key, err)
	return true
}

// panicError is a panic in a sync function, turned into an error so that the
// key is retried with back-off and the worker survives.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string {
	return fmt.Sprintf("controller: panic in sync: %v", p.value)
}

// callSync calls the sync function and recovers a panic into a *panicError.
func (c *Controller) callSync(ctx context.Context, key string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{value: r, stack: debug.Stack()}
		}
	}()
	return c.sync(ctx, key)
}

// handleResult decides what happens to key after a sync: forget its back-off
// on success, requeue it after the asked delay on Requeue, and retry it with
// back-off on any other error. It is the one place sync errors are logged.
func (c *Controller) handleResult(ctx context.Context, key string, err error) {
	log := LoggerFrom(ctx).With("key", key)
	var rq Requeue
	var pe *panicError
	switch {
	case err == nil:
		c.queue.Forget(key)
	case errors.As(err, &rq):
		c.queue.Forget(key)
		c.metrics.requeues.Inc()
		log.Debug("requeue requested", "after", rq.After)
		c.queue.AddAfter(key, rq.After)
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		// Stopping: the sync was cut short, not failed.
		log.Debug("sync interrupted by shutdown", "error", err)
	default:
		c.metrics.errors.Inc()
		c.metrics.requeues.Inc()
		retries := c.queue.NumRequeues(key)
		switch {
		case errors.As(err, &pe):
			log.Error("sync panicked", "error", err, "retries", retries, "stack", string(pe.stack))
		case v1.IsConflict(err):
			// Another writer got there first: the retry reads its
			// version. Routine, so not an error in the logs.
			log.Info("sync met a newer version; retrying", "error", err, "retries", retries)
		default:
			log.Error("sync failed", "error", err, "retries", retries)
		}
		c.queue.AddRateLimited(key)
	}
}

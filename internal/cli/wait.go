package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// Waiting for deletion: polls back off from pollMin to pollMax; progress
// is reported after progressAfter, then every progressEvery.
const (
	pollMin       = 50 * time.Millisecond
	pollMax       = time.Second
	progressAfter = 2 * time.Second
	progressEvery = 10 * time.Second
)

// deletionWaiter waits for deleted objects to disappear and tells the user
// why when that takes a while.
type deletionWaiter struct {
	c          *client.Client
	errOut     io.Writer
	timeout    time.Duration
	start      time.Time
	nextReport time.Time
}

// waitDeleted waits until every target is gone, or the timeout passes.
func waitDeleted(ctx context.Context, g *globalOptions, c *client.Client, ts []target, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	now := time.Now()
	w := &deletionWaiter{c: c, errOut: g.streams.Err, timeout: timeout, start: now, nextReport: now.Add(progressAfter)}
	for _, t := range ts {
		if err := w.waitOne(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// waitOne polls until t is gone: not found, or replaced by a namesake
// with another uid.
func (w *deletionWaiter) waitOne(ctx context.Context, t target) error {
	res := client.ForKind(w.c, t.kind, t.ns)
	var last v1.Object
	for wait := pollMin; ; wait = min(wait*2, pollMax) {
		obj, err := res.Get(ctx, t.name)
		switch {
		case v1.IsNotFound(err):
			return nil
		case err == nil && t.uid != "" && obj.GetObjectMeta().UID != t.uid:
			return nil
		case err == nil:
			last = obj
		case ctx.Err() == nil:
			return fmt.Errorf("waiting for %s to be deleted: %w", t.ref(), err)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("timed out after %s waiting for %s to be deleted%s", w.timeout, t.ref(), holdingBack(last))
		}
		if now := time.Now(); now.After(w.nextReport) {
			fmt.Fprintf(w.errOut, "waiting for %s to be deleted (%s so far)%s\n",
				t.ref(), now.Sub(w.start).Round(time.Second), holdingBack(last))
			w.nextReport = now.Add(progressEvery)
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// holdingBack says what keeps an object: its finalizers.
func holdingBack(obj v1.Object) string {
	if obj == nil {
		return ""
	}
	if f := obj.GetObjectMeta().Finalizers; len(f) > 0 {
		return ": finalizers " + strings.Join(f, ", ")
	}
	return ""
}

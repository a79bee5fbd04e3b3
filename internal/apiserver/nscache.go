package apiserver

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/kennel-dev/kennel/internal/store"
)

// nsCache mirrors which namespaces exist and which are terminating, fed
// by a watch, so that a create does not read its namespace from etcd. A
// namespace missing from the cache is read from the store, so a namespace
// created a moment ago is never refused.
type nsCache struct {
	st     *store.Store
	prefix string
	log    *slog.Logger

	mu    sync.RWMutex
	state map[string]bool // name → terminating
	ready bool
}

func newNSCache(st *store.Store, prefix string, log *slog.Logger) *nsCache {
	return &nsCache{st: st, prefix: prefix, log: log, state: map[string]bool{}}
}

// run keeps the cache in sync until ctx ends.
func (c *nsCache) run(ctx context.Context) {
	for ctx.Err() == nil {
		res, err := c.st.List(ctx, c.prefix, store.ListOptions{})
		if err != nil {
			c.log.Warn("namespace cache: list failed", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		state := map[string]bool{}
		for _, kv := range res.KVs {
			state[strings.TrimPrefix(kv.Key, c.prefix)] = terminating(kv.Value)
		}
		c.mu.Lock()
		c.state, c.ready = state, true
		c.mu.Unlock()
		for ev := range c.st.Watch(ctx, c.prefix, res.Revision+1) {
			if ev.Err != nil {
				break // relist
			}
			name := strings.TrimPrefix(ev.KV.Key, c.prefix)
			c.mu.Lock()
			if ev.Type == store.Deleted {
				delete(c.state, name)
			} else {
				c.state[name] = terminating(ev.KV.Value)
			}
			c.mu.Unlock()
		}
	}
}

// lookup reports whether the namespace exists and whether it is
// terminating, as far as the cache knows; known is false on a miss.
func (c *nsCache) lookup(name string) (exists, term, known bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.ready {
		return false, false, false
	}
	t, ok := c.state[name]
	return ok, t, ok
}

func terminating(b []byte) bool { return bytes.Contains(b, []byte(`"deletionTimestamp"`)) }

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

package store

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// EventType says what happened to a key.
type EventType int

// Event types.
const (
	Put EventType = iota + 1
	Deleted
)

// Event is one change seen by a watch. For Put, KV is the new value and
// PrevKV the old one (nil on create); for Deleted, KV holds the key and the
// delete's revision and PrevKV the last value.
type Event struct {
	Type   EventType
	KV     *KV
	PrevKV *KV
	// Err ends the stream: ErrCompacted when the start revision was
	// compacted, or the reason the watch failed. It is the last event.
	Err error
}

// IsCreate reports whether a Put event created the key.
func (e Event) IsCreate() bool { return e.Type == Put && e.KV.CreateRevision == e.KV.Revision }

// Watch streams every change under prefix from revision fromRev on
// (inclusive; 0 means from now). The channel closes when ctx ends or after
// an event with Err set. Events arrive in revision order, each exactly once.
func (s *Store) Watch(ctx context.Context, prefix string, fromRev int64) <-chan Event {
	out := make(chan Event, 100)
	ops := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithPrevKV()}
	if fromRev > 0 {
		ops = append(ops, clientv3.WithRev(fromRev))
	}
	ctx, cancel := context.WithCancel(ctx)
	wch := s.watchCli.Watch(clientv3.WithRequireLeader(ctx), prefix, ops...)
	go func() {
		defer close(out)
		defer cancel()
		for resp := range wch {
			if resp.CompactRevision != 0 {
				send(ctx, out, Event{Err: ErrCompacted})
				return
			}
			if err := resp.Err(); err != nil {
				send(ctx, out, Event{Err: mapErr(err)})
				return
			}
			for _, ev := range resp.Events {
				e := Event{Type: Put, KV: fromEtcd(ev.Kv), PrevKV: fromEtcd(ev.PrevKv)}
				if ev.Type == clientv3.EventTypeDelete {
					e.Type = Deleted
				}
				if !send(ctx, out, e) {
					return
				}
			}
		}
		if ctx.Err() == nil {
			send(ctx, out, Event{Err: ErrWatchClosed})
		}
	}()
	return out
}

func send(ctx context.Context, ch chan<- Event, e Event) bool {
	select {
	case ch <- e:
		return true
	case <-ctx.Done():
		return false
	}
}

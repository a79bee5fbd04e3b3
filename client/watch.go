package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// EventType is the type of a watch event.
type EventType string

// Watch event types, as Kubernetes names them.
const (
	Added    EventType = "ADDED"
	Modified EventType = "MODIFIED"
	Deleted  EventType = "DELETED"
	Error    EventType = "ERROR"
)

// Event is one change. For Error, Err holds the server's error (v1.IsGone
// when the watch's resourceVersion was compacted) and Object is zero.
type Event[T v1.Object] struct {
	Type   EventType
	Object T
	Err    error
}

// Watch is an open watch stream.
type Watch[T v1.Object] struct {
	ch     chan Event[T]
	cancel context.CancelFunc
}

// Events delivers the stream; it closes when the stream ends, after an
// Error event, or after Stop.
func (w *Watch[T]) Events() <-chan Event[T] { return w.ch }

// Stop ends the stream.
func (w *Watch[T]) Stop() { w.cancel() }

type wireEvent struct {
	Type   EventType       `json:"type"`
	Object json.RawMessage `json:"object"`
}

// Watch opens a stream of changes. With opts.ResourceVersion N it delivers
// every change after N, in order, exactly once.
func (r *Resource[T]) Watch(ctx context.Context, opts ListOptions) (*Watch[T], error) {
	q := opts.query()
	q.Set("watch", "1")
	ctx, cancel := context.WithCancel(ctx)
	resp, err := r.c.send(ctx, r.c.watchHC, http.MethodGet, r.path("", "")+"?"+q.Encode(), nil, "")
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer cancel()
		defer resp.Body.Close()
		var buf [64 << 10]byte
		n, _ := resp.Body.Read(buf[:])
		return nil, decodeError(resp.StatusCode, buf[:n])
	}
	w := &Watch[T]{ch: make(chan Event[T], 64), cancel: cancel}
	go func() {
		defer close(w.ch)
		defer cancel()
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			ev := r.decodeEvent(sc.Bytes())
			select {
			case w.ch <- ev:
			case <-ctx.Done():
				return
			}
			if ev.Type == Error {
				return
			}
		}
	}()
	return w, nil
}

func (r *Resource[T]) decodeEvent(line []byte) Event[T] {
	var we wireEvent
	if err := json.Unmarshal(line, &we); err != nil {
		return Event[T]{Type: Error, Err: fmt.Errorf("client: decode watch event: %w", err)}
	}
	if we.Type == Error {
		var st v1.Status
		if err := json.Unmarshal(we.Object, &st); err != nil {
			return Event[T]{Type: Error, Err: fmt.Errorf("client: decode watch error: %w", err)}
		}
		return Event[T]{Type: Error, Err: &v1.Error{Status: st}}
	}
	obj, err := r.decode(we.Object)
	if err != nil {
		return Event[T]{Type: Error, Err: err}
	}
	return Event[T]{Type: we.Type, Object: obj}
}

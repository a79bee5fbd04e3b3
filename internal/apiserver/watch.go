package apiserver

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/store"
)

// Watch event types, as Kubernetes names them.
const (
	eventAdded    = "ADDED"
	eventModified = "MODIFIED"
	eventDeleted  = "DELETED"
	eventError    = "ERROR"
)

// watch streams one JSON event per line. With resourceVersion N it sends
// every change after N; without one it first sends the current objects as
// ADDED, then the changes. A compacted N ends the stream with an ERROR
// event carrying a 410 Status, after which the client lists again.
func (s *Server) watch(w http.ResponseWriter, r *http.Request, id *Identity, info *requestInfo) error {
	q := r.URL.Query()
	sel, err := parseSelectors(q.Get("labelSelector"), q.Get("fieldSelector"), info.Kind)
	if err != nil {
		return err
	}
	rev, err := parseRV(q.Get("resourceVersion"))
	if err != nil {
		return err
	}
	ctx := r.Context()
	if t := q.Get("timeoutSeconds"); t != "" {
		secs, err := strconv.Atoi(t)
		if err != nil || secs < 0 {
			return v1.NewError(v1.ReasonBadRequest, "timeoutSeconds %q must be a non-negative integer", t)
		}
		if secs > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, time.Duration(secs)*time.Second)
			defer cancel()
		}
	}
	if info.Name != "" {
		sel.fields = mergeName(sel.fields, info.Name)
	}
	prefix := s.listPrefix(info.Kind, info.Namespace)
	var initial []*store.KV
	if rev == 0 {
		res, err := s.st.List(ctx, prefix, store.ListOptions{})
		if err != nil {
			return err
		}
		initial, rev = res.KVs, res.Revision
	}
	events, stop := s.watchFrom(ctx, info.Kind, prefix, rev+1)
	defer stop()

	s.metrics.watchers.WithLabelValues(info.Kind.Resource).Inc()
	defer s.metrics.watchers.WithLabelValues(info.Kind.Resource).Dec()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	ew := &eventWriter{w: w, flusher: flusher}
	for _, kv := range initial {
		if kv, err = s.reveal(id, kv); err != nil {
			ew.writeError(err)
			return nil
		}
		if ok, _ := sel.matches(kv.Value); ok {
			ew.write(eventAdded, withRV(kv.Value, kv.Revision))
		}
	}
	ew.flush()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			if ev.Err != nil {
				ew.writeError(storeError(ev.Err, info))
				return nil
			}
			if ev, err = s.revealEvent(id, ev); err != nil {
				ew.writeError(err)
				return nil
			}
			if typ, obj := translate(ev, sel); typ != "" {
				ew.write(typ, obj)
			}
			if len(events) == 0 {
				if ew.flush() != nil {
					return nil
				}
			}
		}
	}
}

// watchFrom streams the events under prefix from revision from on: from
// the resource's watch cache when from is recent enough, else from etcd.
func (s *Server) watchFrom(ctx context.Context, kind *v1.Kind, prefix string, from int64) (<-chan store.Event, func()) {
	c := s.watchCaches.get(s.listPrefix(kind, ""))
	if events, cancel, ok := c.subscribe(ctx, s.stopCtx, prefix, from); ok {
		return events, cancel
	}
	return s.st.Watch(ctx, prefix, from), func() {}
}

func mergeName(f map[string]fieldReq, name string) map[string]fieldReq {
	if f == nil {
		f = map[string]fieldReq{}
	}
	f["metadata.name"] = fieldReq{value: name}
	return f
}

// translate turns a store event into a watch event for a filtered view: an
// object that starts to match is ADDED, one that stops matching is
// DELETED, as Kubernetes does.
func translate(ev store.Event, sel *selector) (string, []byte) {
	if ev.Type == store.Deleted {
		if ev.PrevKV == nil {
			return "", nil
		}
		if ok, _ := sel.matches(ev.PrevKV.Value); !ok {
			return "", nil
		}
		return eventDeleted, withRV(ev.PrevKV.Value, ev.KV.Revision)
	}
	obj := withRV(ev.KV.Value, ev.KV.Revision)
	if sel.empty() {
		if ev.PrevKV == nil {
			return eventAdded, obj
		}
		return eventModified, obj
	}
	now, _ := sel.matches(ev.KV.Value)
	was := false
	if ev.PrevKV != nil {
		was, _ = sel.matches(ev.PrevKV.Value)
	}
	switch {
	case now && was:
		return eventModified, obj
	case now:
		return eventAdded, obj
	case was:
		return eventDeleted, obj
	}
	return "", nil
}

type eventWriter struct {
	w       http.ResponseWriter
	flusher http.Flusher
	buf     bytes.Buffer
	err     error
}

func (e *eventWriter) write(typ string, obj []byte) {
	e.buf.WriteString(`{"type":"`)
	e.buf.WriteString(typ)
	e.buf.WriteString(`","object":`)
	e.buf.Write(obj)
	e.buf.WriteString("}\n")
	if e.buf.Len() > 64<<10 {
		e.flush()
	}
}

func (e *eventWriter) writeError(err error) {
	var apiErr *v1.Error
	if !errors.As(err, &apiErr) {
		apiErr = v1.NewError(v1.ReasonInternal, "%v", err)
	}
	b, _ := jsonMarshal(apiErr.Status)
	e.write(eventError, b)
	e.flush()
}

func (e *eventWriter) flush() error {
	if e.err != nil {
		return e.err
	}
	if e.buf.Len() > 0 {
		_, e.err = e.w.Write(e.buf.Bytes())
		e.buf.Reset()
	}
	if e.flusher != nil {
		e.flusher.Flush()
	}
	return e.err
}

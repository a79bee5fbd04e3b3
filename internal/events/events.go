// Package events records Events about objects for users to read in
// `kennel describe`. Repeats of one event (same object, type, reason and
// message) go to one Event object whose count and lastTimestamp grow, as
// Kubernetes' event correlator does, so a pod retried for hours leaves one
// line, not thousands. Events are advisory: failures to write them are
// logged, never returned.
package events

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller/clock"
)

// Recorder writes events on behalf of one component.
type Recorder struct {
	Client *client.Client
	// Component is who reports ("scheduler", "agent"); Instance which one
	// of them (a host or node name).
	Component string
	Instance  string
	Clock     clock.Clock
	Logger    *slog.Logger
}

// attempts bounds the writes of one event that meet a concurrent update
// of the same Event object.
const attempts = 3

// Record records an event about obj, whose kind (and apiVersion) the
// caller names, since objects decoded from the API do not always carry
// them.
func (r *Recorder) Record(ctx context.Context, obj v1.Object, kind, apiVersion, eventType, reason, msg string) {
	m := obj.GetObjectMeta()
	ref := v1.ObjectReference{Kind: kind, APIVersion: apiVersion, Namespace: m.Namespace, Name: m.Name,
		UID: m.UID, ResourceVersion: m.ResourceVersion}
	ns := m.Namespace
	if ns == "" {
		ns = v1.NamespaceDefault
	}
	evs := client.For[*v1.Event](r.Client, ns)
	name := Name(m, eventType, reason, msg)
	var err error
	for range attempts {
		if err = r.write(ctx, evs, ns, name, ref, eventType, reason, msg); !v1.IsConflict(err) && !v1.IsAlreadyExists(err) {
			break
		}
	}
	if err != nil && ctx.Err() == nil && r.Logger != nil {
		r.Logger.Warn("cannot record event", "object", kind+"/"+v1.ObjectKey(obj), "reason", reason, "err", err)
	}
}

func (r *Recorder) write(ctx context.Context, evs *client.Resource[*v1.Event], ns, name string, ref v1.ObjectReference, eventType, reason, msg string) error {
	now := v1.NewTime(r.clock().Now())
	ev, err := evs.Get(ctx, name)
	if v1.IsNotFound(err) {
		_, err = evs.Create(ctx, &v1.Event{
			ObjectMeta:     v1.ObjectMeta{Name: name, Namespace: ns},
			InvolvedObject: ref, Reason: reason, Message: msg, Type: eventType,
			Source:         v1.EventSource{Component: r.Component, Host: r.Instance},
			FirstTimestamp: now, LastTimestamp: now, Count: 1,
			ReportingComponent: truncate(r.Component, 128), ReportingInstance: truncate(r.Instance, 128),
		})
		return err
	}
	if err != nil {
		return err
	}
	ev.Count++
	ev.LastTimestamp = now
	_, err = evs.Update(ctx, ev)
	return err
}

func (r *Recorder) clock() clock.Clock {
	if r.Clock == nil {
		return clock.Real{}
	}
	return r.Clock
}

// Name is the same for repeats of one event: the object's name and a hash
// of what the event says about it (by UID, so a namesake starts afresh).
func Name(m *v1.ObjectMeta, eventType, reason, msg string) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s", m.UID, eventType, reason, msg)
	// 253 is the longest name; keep the hash and a clean end of the
	// object's name, which must not end in '-' or '.' before ours.
	prefix := strings.TrimRight(truncate(m.Name, 253-17), "-.")
	return fmt.Sprintf("%s.%016x", prefix, h.Sum64())
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

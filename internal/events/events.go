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

// Recorder writes events on behalf of one component. It is safe for
// concurrent use once its fields are set.
type Recorder struct {
	Client *client.Client
	// Component is who reports ("scheduler", "agent"); Instance which one
	// of them (a host or node name).
	Component string
	Instance  string
	// OffNode is set for a component that runs on no node (the
	// scheduler, the controllers): its Events name no source host.
	// Otherwise Instance is the node, which `kennel describe` prints
	// beside Component.
	OffNode bool
	// Action is what the component does when its events happen
	// ("Scheduling"); empty says nothing.
	Action string
	// Clock stamps events; nil is the system clock.
	Clock clock.Clock
	// Logger receives the events that cannot be written; nil drops them.
	Logger *slog.Logger
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

// Recordf is Record with the message formatted from format and args.
func (r *Recorder) Recordf(ctx context.Context, obj v1.Object, kind, apiVersion, eventType, reason, format string, args ...any) {
	r.Record(ctx, obj, kind, apiVersion, eventType, reason, fmt.Sprintf(format, args...))
}

// write creates the event, or counts one more occurrence of it.
func (r *Recorder) write(ctx context.Context, evs *client.Resource[*v1.Event], ns, name string, ref v1.ObjectReference, eventType, reason, msg string) error {
	now := v1.NewTime(r.clock().Now())
	ev, err := evs.Get(ctx, name)
	if v1.IsNotFound(err) {
		ev = r.newEvent(ns, name, ref, eventType, reason, msg)
		ev.FirstTimestamp, ev.LastTimestamp = now, now
		_, err = evs.Create(ctx, ev)
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

// newEvent is the first occurrence of an event, but for its timestamps.
func (r *Recorder) newEvent(ns, name string, ref v1.ObjectReference, eventType, reason, msg string) *v1.Event {
	host := r.Instance
	if r.OffNode {
		host = ""
	}
	return &v1.Event{
		ObjectMeta:         v1.ObjectMeta{Name: name, Namespace: ns},
		InvolvedObject:     ref,
		Reason:             reason,
		Message:            msg,
		Type:               eventType,
		Source:             v1.EventSource{Component: r.Component, Host: host},
		Count:              1,
		Action:             r.Action,
		ReportingComponent: truncate(r.Component, 128),
		ReportingInstance:  truncate(r.Instance, 128),
	}
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

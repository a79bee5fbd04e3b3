package scheduler

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

// ReasonFailedScheduling is the reason of the Warning event emitted each
// time a pod fits no node.
const ReasonFailedScheduling = "FailedScheduling"

// recorder writes events about pods. Repeats of one event (same pod,
// reason and message) go to one Event object whose count and
// lastTimestamp grow, as Kubernetes' event correlator does, so a pod
// retried for hours leaves one line in `kennel describe`, not thousands.
type recorder struct {
	c         *client.Client
	component string
	instance  string
	clock     clock.Clock
	log       *slog.Logger
}

// eventAttempts bounds the writes of one event that meet a concurrent
// update of the same Event object.
const eventAttempts = 3

// warn records a Warning event. Events are advisory: a failure to write
// one is logged, never returned.
func (r *recorder) warn(ctx context.Context, pod *v1.Pod, reason, msg string) {
	evs := client.For[*v1.Event](r.c, pod.Namespace)
	name := eventName(pod, reason, msg)
	var err error
	for range eventAttempts {
		if err = r.write(ctx, evs, name, pod, reason, msg); !v1.IsConflict(err) && !v1.IsAlreadyExists(err) {
			break
		}
	}
	if err != nil && ctx.Err() == nil {
		r.log.Warn("cannot record event", "pod", v1.ObjectKey(pod), "reason", reason, "error", err)
	}
}

// write creates the event, or counts one more occurrence of it.
func (r *recorder) write(ctx context.Context, evs *client.Resource[*v1.Event], name string, pod *v1.Pod, reason, msg string) error {
	now := v1.NewTime(r.clock.Now())
	ev, err := evs.Get(ctx, name)
	if v1.IsNotFound(err) {
		_, err = evs.Create(ctx, r.newEvent(name, pod, reason, msg, now))
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

func (r *recorder) newEvent(name string, pod *v1.Pod, reason, msg string, now *v1.Time) *v1.Event {
	return &v1.Event{
		ObjectMeta: v1.ObjectMeta{Name: name, Namespace: pod.Namespace},
		InvolvedObject: v1.ObjectReference{
			Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name,
			UID: pod.UID, ResourceVersion: pod.ResourceVersion,
		},
		Reason:             reason,
		Message:            msg,
		Type:               v1.EventTypeWarning,
		Source:             v1.EventSource{Component: r.component},
		FirstTimestamp:     now,
		LastTimestamp:      now,
		Count:              1,
		Action:             "Scheduling",
		ReportingComponent: truncate(r.component, 128),
		ReportingInstance:  truncate(r.instance, 128),
	}
}

// eventName is the same for repeats of one event: the pod's name and a
// hash of what the event says about this pod (by UID, so a namesake
// starts afresh).
func eventName(pod *v1.Pod, reason, msg string) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s\x00%s", pod.UID, reason, msg)
	// 253 is the longest name; keep the hash and a clean end of the pod's
	// name, which must not end in '-' or '.' before ours.
	prefix := strings.TrimRight(truncate(pod.Name, 253-17), "-.")
	return fmt.Sprintf("%s.%016x", prefix, h.Sum64())
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

package agent

import (
	"context"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// event records an Event about a pod for its owner to read.
func (a *Agent) event(ctx context.Context, pod *v1.Pod, eventType, reason, msg string) {
	a.events.Record(ctx, pod, "Pod", "v1", eventType, reason, msg)
}

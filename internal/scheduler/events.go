package scheduler

import (
	"context"
	"log/slog"
	"os"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/events"
)

// ReasonFailedScheduling is the reason of the Warning event emitted each
// time a pod fits no node.
const ReasonFailedScheduling = "FailedScheduling"

// newRecorder writes the scheduler's events about pods. Repeats of one
// event go to one Event whose count grows, so a pod retried for hours
// leaves one line in `kennel describe`, not thousands.
func newRecorder(c *client.Client, cfg Config, log *slog.Logger) *events.Recorder {
	host, _ := os.Hostname()
	return &events.Recorder{
		Client: c, Component: cfg.Name, Instance: cfg.Name + "-" + host, OffNode: true,
		Action: "Scheduling", Clock: cfg.Clock, Logger: log,
	}
}

// failedScheduling records that pod fits no node, and why.
func (s *Scheduler) failedScheduling(ctx context.Context, pod *v1.Pod, msg string) {
	s.recorder.Record(ctx, pod, "Pod", "v1", v1.EventTypeWarning, ReasonFailedScheduling, msg)
}

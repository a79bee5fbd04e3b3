package deployment

import (
	"context"
	"fmt"
	"log/slog"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller/clock"
)

// Event reasons this controller reports on Deployments.
const (
	// ReasonScalingUp: pods were created.
	ReasonScalingUp = "ScalingUp"
	// ReasonScalingDown: pods were deleted.
	ReasonScalingDown = "ScalingDown"
	// ReasonReplacingFinishedPod: a Failed or Succeeded pod was deleted so
	// that it is replaced.
	ReasonReplacingFinishedPod = "ReplacingFinishedPod"
	// ReasonFailedCreate: a pod could not be created.
	ReasonFailedCreate = "FailedCreate"
	// ReasonFailedDelete: a pod could not be deleted.
	ReasonFailedDelete = "FailedDelete"
)

// component is the source of this controller's events.
const component = "deployment-controller"

// recorder writes Events about deployments. Events are best effort: a
// failure to record one is logged and never fails a sync.
type recorder struct {
	events func(ns string) *client.Resource[*v1.Event]
	kind   *v1.Kind
	clock  clock.Clock
	log    *slog.Logger
}

// eventf records an event of type typ (v1.EventTypeNormal or Warning) on d.
func (r *recorder) eventf(ctx context.Context, d *v1.Deployment, typ, reason, format string, args ...any) {
	now := r.clock.Now()
	msg := fmt.Sprintf(format, args...)
	e := &v1.Event{
		ObjectMeta: v1.ObjectMeta{GenerateName: truncate(d.Name, 200) + ".", Namespace: d.Namespace},
		InvolvedObject: v1.ObjectReference{
			Kind: r.kind.Kind, APIVersion: r.kind.APIVersion(), Namespace: d.Namespace, Name: d.Name,
			UID: d.UID, ResourceVersion: d.ResourceVersion,
		},
		Reason:             reason,
		Message:            msg,
		Type:               typ,
		Source:             v1.EventSource{Component: component},
		FirstTimestamp:     v1.NewTime(now),
		LastTimestamp:      v1.NewTime(now),
		Count:              1,
		ReportingComponent: component,
	}
	if _, err := r.events(d.Namespace).Create(ctx, e); err != nil {
		r.log.Warn("could not record event", "deployment", v1.ObjectKey(d), "reason", reason, "message", msg, "err", err)
	}
}

package deployment

import (
	"context"

	v1 "github.com/kennel-dev/kennel/api/v1"
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

// eventf records an event of type typ (v1.EventTypeNormal or Warning) on
// d; repeats of one are counted on one Event. Events are best effort: a
// failure to record one is logged and never fails a sync.
func (dc *Controller) eventf(ctx context.Context, d *v1.Deployment, typ, reason, format string, args ...any) {
	dc.events.Recordf(ctx, d, dc.kind.Kind, dc.kind.APIVersion(), typ, reason, format, args...)
}

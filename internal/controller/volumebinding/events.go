package volumebinding

import (
	"context"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// Event reasons this controller reports on claims (Kubernetes' where it
// has one).
const (
	// ReasonProvisioningFailed (Warning): the claim's volume cannot be
	// provisioned: no node (or no device of its selected node) has room,
	// its selected node is gone, the class is missing or malformed, the
	// volume cannot be created.
	ReasonProvisioningFailed = "ProvisioningFailed"
	// ReasonProvisioning (Normal): a node and device were chosen for the
	// claim's local volume; the node's agent carves it.
	ReasonProvisioning = "Provisioning"
	// ReasonProvisioningSucceeded (Normal): the claim's volume was made.
	ReasonProvisioningSucceeded = "ProvisioningSucceeded"
	// ReasonWaitForFirstConsumer (Normal): the claim waits for a pod to
	// be scheduled before it is bound.
	ReasonWaitForFirstConsumer = "WaitForFirstConsumer"
	// ReasonExternalProvisioning (Normal): the claim waits for a
	// provisioner outside Kennel.
	ReasonExternalProvisioning = "ExternalProvisioning"
	// ReasonFailedBinding: no volume can be bound to the claim (Normal
	// when it has no class to provision from, or one without a
	// provisioner; Warning when the volume it names is taken).
	ReasonFailedBinding = "FailedBinding"
	// ReasonVolumeMismatch (Warning): the volume the claim names cannot
	// serve it.
	ReasonVolumeMismatch = "VolumeMismatch"
	// ReasonClaimLost (Warning): the claim's bound volume is gone or
	// bound to another claim.
	ReasonClaimLost = "ClaimLost"
)

// report records an Event on a claim, unless it is the last one recorded
// for the claim: a claim that waits is told why once, and again only when
// the reason changes. Events are best effort and never fail a sync.
func (vc *Controller) report(ctx context.Context, claim *v1.PersistentVolumeClaim, typ, reason, msg string) {
	said := typ + "\x00" + reason + "\x00" + msg
	vc.mu.Lock()
	if vc.reported[claim.UID] == said {
		vc.mu.Unlock()
		return
	}
	vc.reported[claim.UID] = said
	vc.mu.Unlock()
	vc.events.Record(ctx, claim, vc.claimKind.Kind, vc.claimKind.APIVersion(), typ, reason, msg)
}

// forgetReported lets the next Event about a claim be recorded even if it
// repeats the last.
func (vc *Controller) forgetReported(uid string) {
	vc.mu.Lock()
	delete(vc.reported, uid)
	vc.mu.Unlock()
}

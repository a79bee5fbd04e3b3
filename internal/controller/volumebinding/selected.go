package volumebinding

import (
	"context"
	"errors"
	"fmt"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/volume"
)

// provisionLocalOn has the local volume of a claim whose node is already
// selected carved there. The node's agent carves it once the claim names
// a device too; a claim without one was meant for a volume made in
// advance on that node, which another claim has taken since, so a device
// of the node is chosen here. A node that is gone is unselected instead.
func (vc *Controller) provisionLocalOn(ctx context.Context, claim *v1.PersistentVolumeClaim, class *v1.StorageClass, nodeName string) error {
	node, err := vc.nodeNamed(ctx, nodeName)
	switch {
	case err != nil:
		return err
	case node == nil:
		return vc.unselectGone(ctx, claim, nodeName)
	case claim.Annotations[v1.AnnotationSelectedDevice] == "":
		return vc.placeOnNode(ctx, claim, class, node)
	}
	return vc.annotate(ctx, claim, map[string]string{v1.AnnotationStorageProvisioner: class.Provisioner})
}

// nodeNamed is the named node from the cache or, when the cache has none,
// from the API server, so that a lagging cache does not unselect a node
// that exists. nil when there is none.
func (vc *Controller) nodeNamed(ctx context.Context, name string) (*v1.Node, error) {
	if n, ok := vc.nodes.Get(name); ok {
		return n, nil
	}
	n, err := vc.nodesAPI.Get(ctx, name)
	switch {
	case v1.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("%s: get node %s: %w", component, name, err)
	}
	return n, nil
}

// placeOnNode chooses the device of node that the claim's local volume is
// carved from, among the devices the class allows, and names it on the
// claim for the node's agent. When none has room the claim is told why
// and the sync fails, to be retried with back-off (and at once when
// nodes or volumes change).
func (vc *Controller) placeOnNode(ctx context.Context, claim *v1.PersistentVolumeClaim, class *v1.StorageClass, node *v1.Node) error {
	req, ok := vc.localRequest(ctx, claim, class)
	if !ok {
		return nil
	}
	vc.placeMu.Lock()
	defer vc.placeMu.Unlock()
	devices, err := vc.ledger().Place(node, []volume.Request{req})
	if err != nil {
		msg := nodeFullMessage(v1.ObjectKey(claim), node.Name, req.Device, err)
		vc.report(ctx, claim, v1.EventTypeWarning, ReasonProvisioningFailed, msg)
		return fmt.Errorf("%s: %s", component, msg)
	}
	at := volume.DeviceKey{Node: node.Name, Device: devices[0]}
	err = vc.annotate(ctx, claim, map[string]string{
		v1.AnnotationSelectedDevice:     at.Device,
		v1.AnnotationStorageProvisioner: class.Provisioner,
	})
	if err != nil {
		return err
	}
	vc.mu.Lock()
	vc.assumed[claim.UID] = assumption{key: v1.ObjectKey(claim), at: at, demand: req.Demand}
	vc.mu.Unlock()
	vc.report(ctx, claim, v1.EventTypeNormal, ReasonProvisioning,
		fmt.Sprintf("selected device %s of node %s; waiting for the node to provision the volume", at.Device, at.Node))
	return nil
}

// nodeFullMessage tells claim why no device of node can hold its local
// volume, naming the claim (the ledger's error names only its index).
func nodeFullMessage(claim, node, device string, err error) string {
	var pe *volume.PlaceError
	switch {
	case !errors.As(err, &pe):
		return fmt.Sprintf("cannot place claim %s on node %s: %v", claim, node, err)
	case pe.Reason == volume.ReasonNoDevice:
		return fmt.Sprintf("node %s, selected for claim %s, %s", node, claim, phrase(pe.Reason, 1, device))
	}
	return fmt.Sprintf("no storage device of node %s, selected for claim %s, can hold it: %s", node, claim, pe.Reason)
}

// unselectGone removes the selected node, which no longer exists, and
// device from a claim, so that the scheduler (or, for an Immediate
// claim, this controller) chooses again. A claim that a pod bound to
// that node uses keeps it: the pod cannot go elsewhere, and choosing
// another node for its claim would strand it for good if the node came
// back.
func (vc *Controller) unselectGone(ctx context.Context, claim *v1.PersistentVolumeClaim, node string) error {
	key := v1.ObjectKey(claim)
	pod, err := vc.podOn(ctx, claim, node)
	if err != nil {
		return err
	}
	if pod != nil {
		vc.report(ctx, claim, v1.EventTypeWarning, ReasonProvisioningFailed, fmt.Sprintf(
			"node %s, selected for claim %s, no longer exists; pod %s is bound to it, so the claim stays selected for it",
			node, key, pod.Name))
		return nil
	}
	claim = v1.Clone(claim)
	delete(claim.Annotations, v1.AnnotationSelectedNode)
	delete(claim.Annotations, v1.AnnotationSelectedDevice)
	if _, err := vc.claimsAPI.Namespace(claim.Namespace).Update(ctx, claim); err != nil {
		return retry(err, "claim %s: unselect node %s", key, node)
	}
	vc.report(ctx, claim, v1.EventTypeWarning, ReasonProvisioningFailed, fmt.Sprintf(
		"node %s, selected for claim %s, no longer exists; unselected it so that a node is chosen again", node, key))
	return nil
}

// podOn is a pod that is not terminal, uses the claim and is bound to
// node, or nil. The cache saying none is checked against the API server,
// as in claimInUse: a pod bound a moment ago may not be cached yet.
func (vc *Controller) podOn(ctx context.Context, claim *v1.PersistentVolumeClaim, node string) (*v1.Pod, error) {
	key := v1.ObjectKey(claim)
	on := func(p *v1.Pod) bool {
		return p.Spec.NodeName == node && !v1.IsPodTerminal(p) && contains(podClaims(p), key)
	}
	for _, p := range vc.pods.ByIndex(indexClaim, key) {
		if on(p) {
			return p, nil
		}
	}
	list, err := vc.podsAPI.Namespace(claim.Namespace).ListAll(ctx, client.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: claim %s: list pods: %w", component, key, err)
	}
	for _, p := range list.Items {
		if on(p) {
			return p, nil
		}
	}
	return nil, nil
}

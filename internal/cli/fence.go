package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// fencedTaintKey marks a node an operator declared dead; its NoExecute
// effect keeps pods off it until "kennel node unfence".
const fencedTaintKey = "node.kennel.io/fenced"

// fenceRounds bounds how many times fence lists the node's pods again, in
// case one was bound to it while the node was being cordoned.
const fenceRounds = 5

// conflictRetries bounds read-modify-write retries on a conflict.
const conflictRetries = 10

type fenceOptions struct {
	force bool
}

func newNodeCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Operate on nodes: declare a dead node fenced, or bring it back",
		Long: `Operate on nodes. "kennel node fence" declares a node dead so that its pets
are recreated elsewhere; "kennel node unfence" lets it run pods again.`,
		Example: `  # Host n2 burned down: let its pets start on other nodes
  kennel node fence n2`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newFenceCommand(g), newUnfenceCommand(g))
	return cmd
}

func newFenceCommand(g *globalOptions) *cobra.Command {
	o := &fenceOptions{}
	cmd := &cobra.Command{
		Use:   "fence NODE",
		Short: "Declare a node dead: remove its pods from the API so their pets move",
		Long: `Declare a node dead — its agent is stopped or its host is gone — so that the
pets (PetSet pods) it ran can be recreated on other nodes.

A pet is never replaced while its pod object exists, and a pod on a node
that stopped reporting is not removed by Kennel, because Kennel cannot tell
a dead node from one it merely cannot reach: a pod it removed might still be
running there. Fencing is the operator saying "that node is dead". It:

  1. marks the node unschedulable,
  2. adds the taint node.kennel.io/fenced=true:NoExecute, which keeps pods
     off the node until "kennel node unfence",
  3. deletes every pod bound to the node at once (grace period 0: nothing
     waits for the node's agent to confirm the processes stopped).

DANGER: a pet must run at most once. If the node is in fact alive — its
agent only cut off from the API server — its processes keep running while
the pet starts again elsewhere: two copies of one identity, writing to the
same data or claiming the same name. Make sure the node is dead (power it
off, or stop its agent and its pods' processes) before fencing it.

A node whose Ready condition is True is refused: its agent is reporting, so
it is alive. --force fences it anyway.

Pets whose volumes are local to the fenced node stay Pending until the node
returns or their claims are deleted.`,
		Example: `  # The host of n2 is gone: let its pets start on other nodes
  kennel node fence n2

  # The agent of n2 still reports Ready, but its disk is lost and you have
  # stopped its processes by hand
  kennel node fence n2 --force

  # n2 was repaired and its agent restarted
  kennel node unfence n2`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeNodeNames(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runFence(cmd.Context(), g, o, args[0])
		},
	}
	cmd.Flags().BoolVar(&o.force, "force", false, "fence the node even if it reports Ready (it may run pets twice)")
	return cmd
}

func newUnfenceCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "unfence NODE",
		Short: "Let a fenced node run pods again",
		Long: `Undo "kennel node fence": remove the node.kennel.io/fenced taint and mark the
node schedulable. Pods that were removed are not moved back; new pods may be
placed on the node once its agent reports Ready.`,
		Example: `  # n2 was repaired and its agent restarted
  kennel node unfence n2`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeNodeNames(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUnfence(cmd.Context(), g, args[0])
		},
	}
}

func runFence(ctx context.Context, g *globalOptions, o *fenceOptions, name string) error {
	c, err := g.Client()
	if err != nil {
		return err
	}
	node, err := client.For[*v1.Node](c, "").Get(ctx, name)
	if err != nil {
		return fmt.Errorf("node fence: node %s: %w", name, err)
	}
	if ready := nodeReadyCondition(node); ready != nil && ready.Status == v1.ConditionTrue && !o.force {
		return fmt.Errorf("node fence: node %s is Ready%s: its agent is reporting, so it is alive, and fencing it "+
			"could run its pets twice; stop the node's agent and its pods' processes first, "+
			"or pass --force if you are sure they are stopped", name, heartbeat(ready))
	}
	if _, err := updateNode(ctx, c, name, fenceNode); err != nil {
		return fmt.Errorf("node fence: node %s: %w", name, err)
	}
	out := g.streams.Out
	fmt.Fprintf(out, "node/%s cordoned and tainted %s=true:%s\n", name, fencedTaintKey, v1.TaintEffectNoExecute)
	removed, held, err := removeNodePods(ctx, g, c, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "node/%s fenced: %d %s removed\n", name, removed, plural(removed, "pod", "pods"))
	if len(held) > 0 {
		return fmt.Errorf("node fence: node %s: %d %s not removed, held by finalizers: %s",
			name, len(held), plural(len(held), "pod", "pods"), strings.Join(held, "; "))
	}
	return nil
}

// fenceNode cordons and taints n; it reports whether it changed n.
func fenceNode(n *v1.Node) bool {
	changed := !n.Spec.Unschedulable
	n.Spec.Unschedulable = true
	for _, t := range n.Spec.Taints {
		if t.Key == fencedTaintKey && t.Effect == v1.TaintEffectNoExecute {
			return changed
		}
	}
	n.Spec.Taints = append(n.Spec.Taints, v1.Taint{Key: fencedTaintKey, Value: "true",
		Effect: v1.TaintEffectNoExecute, TimeAdded: v1.NewTime(time.Now())})
	return true
}

// unfenceNode removes the fence taint and uncordons n; it reports whether
// it changed n.
func unfenceNode(n *v1.Node) bool {
	changed := n.Spec.Unschedulable
	n.Spec.Unschedulable = false
	kept := n.Spec.Taints[:0]
	for _, t := range n.Spec.Taints {
		if t.Key == fencedTaintKey {
			changed = true
			continue
		}
		kept = append(kept, t)
	}
	n.Spec.Taints = kept
	return changed
}

// removeNodePods deletes every pod bound to node with grace period 0, and
// lists again until none is left (or only pods held by finalizers). It
// returns how many were removed and the pods finalizers hold.
func removeNodePods(ctx context.Context, g *globalOptions, c *client.Client, node string) (int, []string, error) {
	removed := 0
	heldBy := map[string]string{}
	for range fenceRounds {
		pods, err := client.For[*v1.Pod](c, "").ListAll(ctx, client.ListOptions{FieldSelector: "spec.nodeName=" + node})
		if err != nil {
			return removed, nil, fmt.Errorf("node fence: list the pods of node %s: %w", node, err)
		}
		progress := false
		for _, p := range pods.Items {
			key := v1.ObjectKey(p)
			if _, ok := heldBy[key]; ok {
				continue
			}
			gone, err := forceDeletePod(ctx, c, p)
			switch {
			case err != nil:
				return removed, nil, err
			case gone:
				removed++
				progress = true
				fmt.Fprintf(g.streams.Out, "pod %s removed\n", key)
			default:
				heldBy[key] = key + " (" + strings.Join(p.Finalizers, ", ") + ")"
				fmt.Fprintf(g.streams.Out, "pod %s marked for deletion, held by finalizers %s\n", key, strings.Join(p.Finalizers, ", "))
			}
		}
		if !progress {
			break
		}
	}
	var held []string
	for _, h := range heldBy {
		held = append(held, h)
	}
	return removed, held, nil
}

// forceDeletePod deletes p with grace period 0 and reports whether its
// object is gone. The API server removes a pod at once on a grace-0
// delete unless finalizers hold it.
func forceDeletePod(ctx context.Context, c *client.Client, p *v1.Pod) (bool, error) {
	zero := int64(0)
	uid := p.UID
	pods := client.For[*v1.Pod](c, p.Namespace)
	_, err := pods.Delete(ctx, p.Name, client.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &client.Preconditions{UID: &uid}})
	switch {
	case v1.IsNotFound(err) || v1.IsConflict(err):
		// Gone already, or replaced by a namesake the next round lists.
		return true, nil
	case err != nil:
		return false, fmt.Errorf("node fence: delete pod %s: %w", v1.ObjectKey(p), err)
	}
	got, err := pods.Get(ctx, p.Name)
	switch {
	case v1.IsNotFound(err):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("node fence: pod %s: %w", v1.ObjectKey(p), err)
	}
	if got.UID != uid {
		return true, nil
	}
	p.Finalizers = got.Finalizers
	return false, nil
}

func runUnfence(ctx context.Context, g *globalOptions, name string) error {
	c, err := g.Client()
	if err != nil {
		return err
	}
	changed, err := updateNode(ctx, c, name, unfenceNode)
	if err != nil {
		return fmt.Errorf("node unfence: node %s: %w", name, err)
	}
	if !changed {
		fmt.Fprintf(g.streams.Out, "node/%s already unfenced\n", name)
		return nil
	}
	fmt.Fprintf(g.streams.Out, "node/%s unfenced: taint %s removed, uncordoned\n", name, fencedTaintKey)
	return nil
}

// updateNode applies mutate to the node and writes it back when it
// changed, reading again on a conflict. It reports whether it wrote.
func updateNode(ctx context.Context, c *client.Client, name string, mutate func(*v1.Node) bool) (bool, error) {
	nodes := client.For[*v1.Node](c, "")
	for range conflictRetries {
		n, err := nodes.Get(ctx, name)
		if err != nil {
			return false, err
		}
		if !mutate(n) {
			return false, nil
		}
		_, err = nodes.Update(ctx, n)
		if !v1.IsConflict(err) {
			return err == nil, err
		}
	}
	return false, errors.New("it kept changing while being updated: try again")
}

// nodeReadyCondition is the node's Ready condition, or nil.
func nodeReadyCondition(n *v1.Node) *v1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == v1.NodeReady {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

// heartbeat says when the agent last reported, if known.
func heartbeat(c *v1.NodeCondition) string {
	if c.LastHeartbeatTime == nil || c.LastHeartbeatTime.IsZero() {
		return ""
	}
	return fmt.Sprintf(" (its agent last reported %s ago)", humanDuration(time.Since(c.LastHeartbeatTime.Time)))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

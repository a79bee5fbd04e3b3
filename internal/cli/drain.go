package cli

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

type drainOptions struct {
	gracePeriod int64
	timeout     time.Duration
	dryRun      bool
}

func newDrainCommand(g *globalOptions) *cobra.Command {
	o := &drainOptions{}
	cmd := &cobra.Command{
		Use:   "drain NODE",
		Short: "Cordon a node and move its pods off, one at a time",
		Long: `Cordon a node, then delete its pods one at a time: each is given its grace
period to stop, and the next is deleted only once it is gone, so that the
controllers that own them recreate them elsewhere one by one.

Order: Deployment pods first, then other pods, then pets (PetSet pods),
highest ordinal first, as a PetSet scales down. Each pod is gone — its
processes stopped — before the next is evicted, so a pet's identity is
never held twice.

The node stays cordoned afterwards; "kennel uncordon" makes it schedulable
again.`,
		Example: `  # Move everything off n2 before maintenance
  kennel drain n2

  # See what would be evicted, and in which order, without doing it
  kennel drain n2 --dry-run

  # Give each pod 10 seconds to stop, and give up after 2 minutes
  kennel drain n2 --grace-period 10 --timeout 2m`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeNodeNames(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDrain(cmd.Context(), g, o, args[0])
		},
	}
	f := cmd.Flags()
	f.Int64Var(&o.gracePeriod, "grace-period", -1, "seconds each pod is given to stop (-1: the pod's own)")
	f.DurationVar(&o.timeout, "timeout", 5*time.Minute, "how long the whole drain may take")
	f.BoolVar(&o.dryRun, "dry-run", false, "print what would be evicted, in order, and change nothing")
	return cmd
}

func runDrain(ctx context.Context, g *globalOptions, o *drainOptions, node string) error {
	if o.timeout <= 0 {
		return fmt.Errorf("--timeout %s: must be positive", o.timeout)
	}
	c, err := g.Client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	out := g.streams.Out
	if o.dryRun {
		if _, err := client.For[*v1.Node](c, "").Get(ctx, node); err != nil {
			return err
		}
		fmt.Fprintf(out, "node/%s cordoned (dry run)\n", node)
	} else if err := setUnschedulable(ctx, g, c, node, true); err != nil {
		return err
	}
	pods, err := client.For[*v1.Pod](c, "").ListAll(ctx, client.ListOptions{FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		return err
	}
	order := evictionOrder(pods.Items)
	for _, p := range order {
		if o.dryRun {
			fmt.Fprintf(out, "evicting pod %s (dry run)\n", v1.ObjectKey(p))
			continue
		}
		if err := evictPod(ctx, g, c, o, p); err != nil {
			return err
		}
	}
	if !o.dryRun {
		fmt.Fprintf(out, "node/%s drained\n", node)
	}
	return nil
}

// evictPod deletes one pod gracefully and waits until it is gone.
// ctx carries the drain's deadline, which also ends the wait.
func evictPod(ctx context.Context, g *globalOptions, c *client.Client, o *drainOptions, p *v1.Pod) error {
	key := v1.ObjectKey(p)
	fmt.Fprintf(g.streams.Out, "evicting pod %s\n", key)
	uid := p.UID
	// No grace period named: the API server gives the pod its own.
	opts := client.DeleteOptions{Preconditions: &client.Preconditions{UID: &uid}}
	if o.gracePeriod >= 0 {
		opts.GracePeriodSeconds = &o.gracePeriod
	}
	pods := client.For[*v1.Pod](c, p.Namespace)
	_, err := pods.Delete(ctx, p.Name, opts)
	switch {
	case v1.IsNotFound(err) || v1.IsConflict(err):
		// Already gone, or replaced by a namesake that is not ours to
		// evict here: it is not on this node's list.
	case err != nil:
		return fmt.Errorf("evict pod %s: %w", key, err)
	default:
		t := target{kind: pods.Kind(), ns: p.Namespace, name: p.Name, word: "pod", uid: uid}
		if err := waitDeleted(ctx, g, c, []target{t}, o.timeout); err != nil {
			return err
		}
	}
	fmt.Fprintf(g.streams.Out, "pod %s evicted\n", key)
	return nil
}

// evictionOrder sorts a node's pods for draining: Deployment pods, then
// other pods, then pets by descending ordinal; ties by namespace/name.
func evictionOrder(pods []*v1.Pod) []*v1.Pod {
	out := append([]*v1.Pod(nil), pods...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if ra, rb := drainRank(a), drainRank(b); ra != rb {
			return ra < rb
		}
		if drainRank(a) == rankPet {
			if oa, ob := ordinal(a.Name), ordinal(b.Name); oa != ob {
				return oa > ob
			}
		}
		return v1.ObjectKey(a) < v1.ObjectKey(b)
	})
	return out
}

// Drain ranks: lower goes first.
const (
	rankDeployment = iota
	rankOther
	rankPet
)

func drainRank(p *v1.Pod) int {
	ref := v1.GetControllerOf(p)
	switch {
	case ref == nil:
		return rankOther
	case ref.Kind == "Deployment" || ref.Kind == "ReplicaSet":
		return rankDeployment
	case ref.Kind == "PetSet" || ref.Kind == "StatefulSet":
		return rankPet
	}
	return rankOther
}

// ordinal is the number after the last '-' of a pet's name, -1 when there
// is none.
func ordinal(name string) int {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return -1
	}
	n, err := strconv.Atoi(name[i+1:])
	if err != nil {
		return -1
	}
	return n
}

package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

func newCordonCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "cordon NODE...",
		Short: "Mark nodes unschedulable: new pods are not placed on them",
		Long: `Mark nodes unschedulable (spec.unschedulable=true). Pods already on a node
keep running; the scheduler places no new ones there. "kennel drain" cordons
a node and then moves its pods off; "kennel uncordon" undoes the cordon.`,
		Example: `  # Keep new pods off n2 before maintenance
  kennel cordon n2

  # Cordoning twice is harmless
  kennel cordon n2 n3`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeNodeNames(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCordon(cmd.Context(), g, args, true)
		},
	}
}

func newUncordonCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "uncordon NODE...",
		Short: "Mark nodes schedulable again",
		Long: `Mark nodes schedulable again (spec.unschedulable=false), after "kennel
cordon" or "kennel drain". Pods that were moved off are not moved back.`,
		Example: `  # Maintenance of n2 is over
  kennel uncordon n2`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeNodeNames(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCordon(cmd.Context(), g, args, false)
		},
	}
}

func runCordon(ctx context.Context, g *globalOptions, nodes []string, unschedulable bool) error {
	c, err := g.Client()
	if err != nil {
		return err
	}
	for _, name := range nodes {
		if err := setUnschedulable(ctx, g, c, name, unschedulable); err != nil {
			return err
		}
	}
	return nil
}

// setUnschedulable cordons (or uncordons) one node and says so; a node
// already in that state is left alone.
func setUnschedulable(ctx context.Context, g *globalOptions, c *client.Client, name string, unschedulable bool) error {
	verb := "uncordoned"
	if unschedulable {
		verb = "cordoned"
	}
	nodes := client.For[*v1.Node](c, "")
	node, err := nodes.Get(ctx, name)
	if err != nil {
		return err
	}
	if node.Spec.Unschedulable == unschedulable {
		fmt.Fprintf(g.streams.Out, "node/%s already %s\n", name, verb)
		return nil
	}
	patch := fmt.Appendf(nil, `{"spec":{"unschedulable":%t}}`, unschedulable)
	if _, err := nodes.Patch(ctx, name, patch); err != nil {
		return err
	}
	fmt.Fprintf(g.streams.Out, "node/%s %s\n", name, verb)
	return nil
}

// completeNodeNames completes node names from the server.
func completeNodeNames(g *globalOptions) cobra.CompletionFunc {
	names := completeKindsAndNames(g)
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return names(cmd, append([]string{"nodes"}, args...), prefix)
	}
}

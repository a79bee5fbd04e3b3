package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kennel-dev/kennel/client"
)

type logsOptions struct {
	container string
	follow    bool
	previous  bool
	tail      int64
}

func newLogsCommand(g *globalOptions) *cobra.Command {
	o := &logsOptions{}
	cmd := &cobra.Command{
		Use:   "logs POD [-c CONTAINER]",
		Short: "Print the log of a container in a pod",
		Long: `Print the log of a container in a pod. The API server reads it from the
agent of the pod's node, so the pod must be bound to a node. A pod with one
container needs no -c; with several, -c names the one to read.

With -f the log is followed: new lines are printed as they are written,
until the container stops or Ctrl-C.`,
		Example: `  # The log of web-0's only container
  kennel logs web-0

  # Follow the db container of db-0 in namespace shop, from its last 100 lines
  kennel logs db-0 -n shop -c db -f --tail 100

  # The log of the run before the container last restarted
  kennel logs web-0 --previous`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completePodNames(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLogs(cmd.Context(), g, o, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.container, "container", "c", "", "container to read (default: the pod's only container)")
	f.BoolVarP(&o.follow, "follow", "f", false, "keep printing new lines until the container stops or Ctrl-C")
	f.BoolVarP(&o.previous, "previous", "p", false, "print the log of the container's previous, terminated run")
	f.Int64Var(&o.tail, "tail", -1, "print only the last N lines (-1: all)")
	return cmd
}

func runLogs(ctx context.Context, g *globalOptions, o *logsOptions, pod string) error {
	if o.tail < -1 {
		return fmt.Errorf("--tail %d: must be -1 (all lines) or a number of lines", o.tail)
	}
	c, err := g.Client()
	if err != nil {
		return err
	}
	opts := client.LogOptions{Container: o.container, Follow: o.follow, Previous: o.previous}
	if o.tail >= 0 {
		opts.TailLines = &o.tail
	}
	// Ctrl-C ends a follow; that is how one is meant to end, not an error.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	rc, err := c.PodLogs(ctx, g.Namespace(), pod, opts)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer rc.Close()
	if _, err := io.Copy(g.streams.Out, rc); err != nil && ctx.Err() == nil {
		return fmt.Errorf("log of pod %q: %w", pod, err)
	}
	return nil
}

// completePodNames completes the first argument with the names of pods in
// the namespace.
func completePodNames(g *globalOptions) cobra.CompletionFunc {
	names := completeKindsAndNames(g)
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return names(cmd, []string{"pods"}, prefix)
	}
}

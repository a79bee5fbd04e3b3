package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/version"
)

// Streams are where commands read input and write output and diagnostics.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// Options configure the command tree.
type Options struct {
	Streams
	// Version is the client version `kennel version` reports; empty means
	// the version of the running binary (version.Get).
	Version string
}

// NewRootCommand builds the `kennel` command with every CLI verb; extra
// commands (up, server) are added to the root as they are.
func NewRootCommand(streams Streams, extra ...*cobra.Command) *cobra.Command {
	return New(Options{Streams: streams}, extra...)
}

// New is NewRootCommand with every option.
func New(opts Options, extra ...*cobra.Command) *cobra.Command {
	if opts.Version == "" {
		opts.Version = version.Get()
	}
	if opts.In == nil {
		opts.In = strings.NewReader("")
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Err == nil {
		opts.Err = io.Discard
	}
	g := &globalOptions{streams: opts.Streams, version: opts.Version}
	root := &cobra.Command{
		Use:   "kennel",
		Short: "Kennel runs stateful services: pets with stable names, DNS and storage",
		Long: `Kennel is an orchestrator for stateful services. The CLI verbs talk to a
Kennel API server found through the client config ($KENNEL_CONFIG, or
$KENNEL_HOME/config, written by "kennel up"), or through --server and --token.`,
		Example: `  # Start a cluster on this machine, then look at it
  kennel up
  kennel get nodes

  # Apply manifests and watch the pets come up in order
  kennel apply -f examples/
  kennel get pods -w`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(opts.In)
	root.SetOut(opts.Out)
	root.SetErr(opts.Err)
	root.CompletionOptions.DisableDefaultCmd = true
	g.addFlags(root)
	root.AddCommand(
		newApplyCommand(g),
		newGetCommand(g),
		newDescribeCommand(g),
		newDeleteCommand(g),
		newLogsCommand(g), newExecCommand(g),
		newCordonCommand(g), newUncordonCommand(g), newDrainCommand(g), newNodeCommand(g),
		newScaleCommand(g), newRolloutCommand(g),
		newDNSCommand(g),
		newSchedulerCommand(g),
		newFederationCommand(g),
		newTokenCommand(g),
		newSecretsCommand(g),
		newVersionCommand(g),
		newCompletionCommand(g, root),
	)
	for _, c := range root.Commands() {
		closeClientAfter(c, g)
	}
	for _, c := range extra {
		if c == nil {
			continue
		}
		parent := root
		if p := c.Annotations[ParentAnnotation]; p != "" {
			for _, sub := range root.Commands() {
				if sub.Name() == p {
					parent = sub
				}
			}
		}
		parent.AddCommand(c)
	}
	return root
}

// ParentAnnotation on a command given to NewRootCommand names the
// command group it goes under ("federation"); without it, it goes under
// the root.
const ParentAnnotation = "kennel.io/parent"

// Execute runs root and returns the process exit code: 0 on success, 1
// after printing "error: <message>" to errOut. An API error prints the
// server's message, which names the offending field. An *ExitError
// returns its code and prints nothing.
func Execute(root *cobra.Command, errOut io.Writer) int {
	return ExecuteContext(context.Background(), root, errOut)
}

// ExecuteContext is Execute with a context that, when cancelled, stops
// long-running commands (get -w, delete --wait).
func ExecuteContext(ctx context.Context, root *cobra.Command, errOut io.Writer) int {
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	if exit := (*ExitError)(nil); errors.As(err, &exit) {
		return exit.Code
	}
	fmt.Fprintf(errOut, "error: %s\n", errorMessage(err))
	return 1
}

// errorMessage is what a user sees after "error: ". A forbidden or
// unauthorized answer says so, because the server's message alone
// ("viewer cannot create pods …") does not name the status.
func errorMessage(err error) string {
	msg := err.Error()
	reason := v1.ReasonOf(err)
	if reason != v1.ReasonForbidden && reason != v1.ReasonUnauthorized {
		return msg
	}
	word := strings.ToLower(string(reason))
	if strings.Contains(strings.ToLower(msg), word) {
		return msg
	}
	return word + ": " + msg
}

// closeClientAfter makes cmd and its subcommands release the client's
// connections when they finish, so that an embedding program (or a test)
// running many commands does not keep idle connections open.
func closeClientAfter(cmd *cobra.Command, g *globalOptions) {
	if run := cmd.RunE; run != nil {
		cmd.RunE = func(c *cobra.Command, args []string) error {
			defer g.closeClient()
			return run(c, args)
		}
	}
	for _, sub := range cmd.Commands() {
		closeClientAfter(sub, g)
	}
}

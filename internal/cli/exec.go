package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kennel-dev/kennel/client"
)

// ExitError ends the kennel process with Code and prints nothing more:
// the command that failed has said why already (exec passes on the exit
// code of the remote command this way).
type ExitError struct {
	Code int
}

// Error says which code the command exited with.
func (e *ExitError) Error() string { return fmt.Sprintf("exit code %d", e.Code) }

// exitInterrupted is the code of a command ended by Ctrl-C, as a shell
// reports it (128 + SIGINT).
const exitInterrupted = 130

type execOptions struct {
	container string
}

func newExecCommand(g *globalOptions) *cobra.Command {
	o := &execOptions{}
	cmd := &cobra.Command{
		Use:   "exec POD [-c CONTAINER] -- COMMAND [ARGS...]",
		Short: "Run a command in a container of a pod",
		Long: `Run a command in a container of a pod and print its output. The API server
passes the command to the agent of the pod's node, which runs it without a
shell, a terminal or standard input. Standard output and standard error are
streamed back as they are written, and kennel exits with the command's exit
code.

A pod with one container needs no -c; with several, -c names the one to run
in. Everything after "--" is the command and its arguments.`,
		Example: `  # List the data directory of web-0's only container
  kennel exec web-0 -- ls -l /data

  # Check the db container of db-0 in namespace shop; kennel exits with its code
  kennel exec db-0 -n shop -c db -- pg_isready -q

  # Use a shell explicitly for pipes and variables
  kennel exec web-0 -- sh -c 'du -sh /data/* | sort -h'`,
		Args:              execArgs,
		ValidArgsFunction: completePodNames(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExec(cmd.Context(), g, o, args[0], args[cmd.ArgsLenAtDash():])
		},
	}
	cmd.Flags().StringVarP(&o.container, "container", "c", "", "container to run in (default: the pod's only container)")
	return cmd
}

// execArgs wants exactly the pod before "--" and a command after it.
func execArgs(cmd *cobra.Command, args []string) error {
	dash := cmd.ArgsLenAtDash()
	switch {
	case dash < 0:
		return errors.New(`exec: put the command after "--": kennel exec POD -- COMMAND [ARGS...]`)
	case dash != 1:
		return fmt.Errorf("exec: want one pod name before \"--\", got %d", dash)
	case len(args) == dash:
		return errors.New(`exec: no command after "--"`)
	}
	return nil
}

func runExec(ctx context.Context, g *globalOptions, o *execOptions, pod string, command []string) error {
	c, err := g.Client()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := c.PodExec(ctx, g.Namespace(), pod, client.ExecOptions{Container: o.container, Command: command}, g.streams.Out, g.streams.Err)
	switch {
	case err != nil && ctx.Err() != nil:
		return &ExitError{Code: exitInterrupted}
	case err != nil:
		return err
	case code != 0:
		return &ExitError{Code: code}
	}
	return nil
}

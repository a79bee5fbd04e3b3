package up

import (
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kennel-dev/kennel/internal/fence"
)

// NewFenceWatchdogCommand builds the hidden `kennel fence-watchdog`, the
// per-node process a node agent starts (detached) to kill fenceable pods
// whose fencing deadline has passed, even after the agent has died.
func NewFenceWatchdogCommand(_, errOut io.Writer) *cobra.Command {
	var dir, logLevel string
	cmd := &cobra.Command{
		Use:    "fence-watchdog --dir DIR",
		Short:  "Kill the fenceable pods of this node whose fencing deadline has passed",
		Hidden: true,
		Long: `Run the fence watchdog of one node: every 100 ms it reads the fence files
the node agent keeps in DIR (<agent data dir>/fence) and SIGKILLs every process
of a pod whose deadline has passed. The node agent starts it; it runs until
SIGTERM, or until DIR is removed. A second watchdog on the same DIR exits at
once with status 0.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return errors.New("fence-watchdog: --dir is required")
			}
			log, err := newLogger(errOut, logLevel)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			err = fence.Watch(ctx, dir, log.With("component", "fence-watchdog"))
			if errors.Is(err, fence.ErrAlreadyRunning) {
				return nil
			}
			return err
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "the node agent's fence directory (<agent data dir>/fence)")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	return cmd
}

// Command kennel is Kennel's one binary: the cluster (up), the control
// plane (server), and the CLI verbs.
package main

import (
	"os"

	"github.com/kennel-dev/kennel/internal/cli"
	"github.com/kennel-dev/kennel/internal/cli/up"
)

func main() {
	streams := cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}
	root := cli.NewRootCommand(streams,
		up.NewUpCommand(os.Stdout, os.Stderr),
		up.NewServerCommand(os.Stdout, os.Stderr),
		up.NewAgentCommand(os.Stdout, os.Stderr),
		up.NewFederationUpCommand(os.Stdout, os.Stderr),
		up.NewFenceWatchdogCommand(os.Stdout, os.Stderr),
	)
	os.Exit(cli.Execute(root, os.Stderr))
}

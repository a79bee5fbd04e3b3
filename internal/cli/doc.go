// Package cli holds Kennel's user-facing commands and the printers that
// turn API objects into tables and descriptions. It talks to the cluster
// only through the public client package. The commands:
//
//	apply, get, describe, delete   objects (get -w watches)
//	logs, exec                     a pod's container, through its node agent
//	cordon, uncordon, drain        node maintenance
//	token                          create, list and delete bearer tokens
//	version, completion            versions; shell completion
//
// The commands that run Kennel's components (up, server, agent) live in
// internal/cli/up and are added to the root command by the caller:
//
//	root := cli.NewRootCommand(streams, up, server, agent)
//	os.Exit(cli.Execute(root, os.Stderr))
//
// Per-kind table columns are one table in printers.go; a new kind adds a
// row there and, if it needs more than its spec and status printed, a
// describer in describe_kinds.go.
package cli

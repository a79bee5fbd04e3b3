// Package cli holds Kennel's user-facing commands — apply, get, describe,
// delete, logs, exec, token, version, completion — and the printers that turn API
// objects into tables and descriptions. It talks to the cluster only
// through the public client package.
//
// The commands that run Kennel's components (up, server) live elsewhere
// and are added to the root command by the caller:
//
//	root := cli.NewRootCommand(streams, up, server)
//	os.Exit(cli.Execute(root, os.Stderr))
//
// Per-kind table columns are one table in printers.go; a new kind adds a
// row there and, if it needs more than its spec and status printed, a
// describer in describe_kinds.go.
package cli

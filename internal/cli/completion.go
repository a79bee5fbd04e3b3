package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kennel-dev/kennel/client"
)

func newCompletionCommand(g *globalOptions, root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print a shell completion script",
		Long: `Print a script that makes the shell complete kennel's commands, flags,
kinds and object names.`,
		Example: `  # bash, for the current shell and for every new one
  source <(kennel completion bash)
  kennel completion bash > /etc/bash_completion.d/kennel

  # zsh
  kennel completion zsh > "${fpath[1]}/_kennel"

  # fish
  kennel completion fish > ~/.config/fish/completions/kennel.fish`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		RunE: func(_ *cobra.Command, args []string) error {
			out := g.streams.Out
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			case "powershell":
				return root.GenPowerShellCompletionWithDesc(out)
			}
			return fmt.Errorf("shell %q is not supported: use bash, zsh, fish or powershell", args[0])
		},
	}
}

// completeKindsAndNames completes the first argument with kind names and
// the next ones with the names of objects of that kind, read from the
// server (quietly nothing when it cannot be reached).
func completeKindsAndNames(g *globalOptions) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) == 0 {
			var kinds []string
			for _, k := range g.registry().All() {
				if strings.HasPrefix(k.Resource, prefix) {
					kinds = append(kinds, k.Resource)
				}
			}
			sort.Strings(kinds)
			return kinds, cobra.ShellCompDirectiveNoFileComp
		}
		k, err := g.lookupKind(args[0])
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		c, err := g.Client()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ns := ""
		if k.Namespaced {
			ns = g.Namespace()
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
		defer cancel()
		l, err := client.ForKind(c, k, ns).List(ctx, client.ListOptions{Limit: 500})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for _, o := range l.Items {
			if n := o.GetObjectMeta().Name; strings.HasPrefix(n, prefix) {
				names = append(names, n)
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

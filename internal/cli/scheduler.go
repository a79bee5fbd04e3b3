package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kennel-dev/kennel/internal/scheduler"
	"github.com/kennel-dev/kennel/internal/scheduler/config"
	"github.com/kennel-dev/kennel/internal/scheduler/extender"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

type schedulerConfigOptions struct {
	defaults bool
	check    string
}

func newSchedulerCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scheduler",
		Short: "Work with the scheduler's configuration file",
		Long: `Commands for the scheduler's configuration file, which "kennel up" and
"kennel server" read with --scheduler-config. It is a Kubernetes
KubeSchedulerConfiguration (apiVersion kubescheduler.config.k8s.io/v1), so a
kube-scheduler configuration with profiles, plugin weights and extenders works
unchanged.`,
		Example: `  # Start from the defaults, edit, check, run
  kennel scheduler config --defaults > scheduler.yaml
  kennel scheduler config --check scheduler.yaml
  kennel up --scheduler-config scheduler.yaml`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newSchedulerConfigCommand(g))
	return cmd
}

func newSchedulerConfigCommand(g *globalOptions) *cobra.Command {
	o := &schedulerConfigOptions{}
	cmd := &cobra.Command{
		Use:   "config (--defaults | --check FILE)",
		Short: "Print the default scheduler configuration, or check a configuration file",
		Long: `--defaults prints the configuration the scheduler runs without a file: one
profile, default-scheduler, that lists its plugins at each extension point
with their score weights. Each point disables "*" first, so the lists are the
whole truth: remove a line to drop a plugin, change a weight, reorder.

--check reads FILE (- for standard input), reports every error with the field
that holds it, prints the plugins each profile runs at each extension point
(merged with the defaults, as Kubernetes merges them) and the extenders, and
warns about what Kennel ignores: Kubernetes settings it has no use for
(leaderElection, clientConnection, …), Kubernetes plugins it does not have
(ImageLocality, NodePorts, …), preScore plugins. It exits non-zero when the
file is not valid.

Kennel's extension points are preFilter, filter, score, reserve, preBind and
bind; multiPoint enables a plugin at all the points it implements. A score
weight is 1 to 100, and 1 when left out. Enabling a default plugin again at a
point gives it the new weight and, as in Kubernetes, runs it first there.`,
		Example: `  # The defaults, ready to edit
  kennel scheduler config --defaults > scheduler.yaml

  # Check a file before running it, and see the plugins it ends up with
  kennel scheduler config --check scheduler.yaml

  # Check a kube-scheduler configuration from a Kubernetes cluster
  kubectl -n kube-system get configmap scheduler-config -o jsonpath='{.data.config\.yaml}' |
    kennel scheduler config --check -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.defaults {
				return printSchedulerDefaults(g.streams.Out)
			}
			return checkSchedulerConfig(g.streams, o.check)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.defaults, "defaults", false, "print the default configuration as YAML")
	f.StringVar(&o.check, "check", "", "check the configuration `FILE` (- for standard input) and print the plugins of each profile")
	cmd.MarkFlagsMutuallyExclusive("defaults", "check")
	cmd.MarkFlagsOneRequired("defaults", "check")
	return cmd
}

// defaultsHeader explains the printed defaults inside the file.
const defaultsHeader = `# Kennel's default scheduler configuration. Each extension point disables
# "*" and enables its plugins, so these lists are all that runs: edit them,
# then use the file with 'kennel up --scheduler-config FILE'.
`

func printSchedulerDefaults(out io.Writer) error {
	y, err := config.Default().YAML()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%s%s", defaultsHeader, y)
	return err
}

// checkSchedulerConfig loads file, resolves its profiles against the
// plugins Kennel has, and prints them; warnings go to the error stream.
func checkSchedulerConfig(s Streams, file string) error {
	if file == "-" {
		file = stdinName
	}
	data, err := readSource(s.In, file)
	if err != nil {
		return err
	}
	c, warnings, err := config.Parse(data)
	if err == nil {
		var w []string
		var profiles []config.ResolvedProfile
		profiles, w, err = c.ResolveProfiles(knownPlugin)
		warnings = append(warnings, w...)
		if err == nil {
			// Build the profiles for real: plugin args and extenders
			// are checked by the plugins and extenders themselves.
			_, err = scheduler.CheckConfiguration(c)
		}
		if err == nil {
			printResolved(s.Out, profiles, c.Extenders)
		}
	}
	for _, w := range warnings {
		fmt.Fprintf(s.Err, "warning: %s\n", w)
	}
	if err != nil {
		return fmt.Errorf("%s is not valid:\n  %s", file, strings.ReplaceAll(err.Error(), "\n", "\n  "))
	}
	return nil
}

// knownPlugin is Resolve's implements function over the plugins Kennel's
// scheduler has.
func knownPlugin(name string) ([]string, bool) {
	points, ok := config.KnownPlugins()[name]
	return points, ok
}

func printResolved(out io.Writer, profiles []config.ResolvedProfile, extenders []extender.Config) {
	for _, p := range profiles {
		pct := fmt.Sprint(p.PercentageOfNodesToScore)
		if p.PercentageOfNodesToScore == 0 {
			pct = "0, adaptive"
		}
		fmt.Fprintf(out, "profile %s (percentageOfNodesToScore: %s)\n", p.SchedulerName, pct)
		(&table{w: out}).print(pluginRows(p.Plugins))
	}
	if len(extenders) == 0 {
		fmt.Fprintln(out, "extenders: none")
		return
	}
	fmt.Fprintln(out, "extenders:")
	rows := make([][]string, 0, len(extenders))
	for _, e := range extenders {
		rows = append(rows, []string{"  " + e.URLPrefix, extenderVerbs(e)})
	}
	(&table{w: out}).print(rows)
}

// pluginRows are a profile's extension points and their plugins.
func pluginRows(set framework.PluginSet) [][]string {
	score := make([]string, len(set.Score))
	for i, w := range set.Score {
		score[i] = fmt.Sprintf("%s (%d)", w.Name, w.Weight)
	}
	list := func(names []string) string {
		if len(names) == 0 {
			return none
		}
		return strings.Join(names, ", ")
	}
	return [][]string{
		{"  " + config.PointPreFilter, list(set.PreFilter)},
		{"  " + config.PointFilter, list(set.Filter)},
		{"  " + config.PointScore, list(score)},
		{"  " + config.PointReserve, list(set.Reserve)},
		{"  " + config.PointPreBind, list(set.PreBind)},
		{"  " + config.PointBind, list(set.Bind)},
	}
}

// extenderVerbs says what an extender is called for.
func extenderVerbs(e extender.Config) string {
	var parts []string
	if e.FilterVerb != "" {
		parts = append(parts, "filter")
	}
	if e.PrioritizeVerb != "" {
		parts = append(parts, fmt.Sprintf("prioritize (weight %d)", e.Weight))
	}
	if e.BindVerb != "" {
		parts = append(parts, "bind")
	}
	if e.Ignorable {
		parts = append(parts, "ignorable")
	}
	if len(parts) == 0 {
		return none
	}
	return strings.Join(parts, ", ")
}

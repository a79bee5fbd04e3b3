package up

import (
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/cli"
)

// NewFederationUpCommand builds `kennel federation up`.
func NewFederationUpCommand(out, errOut io.Writer) *cobra.Command {
	o := &options{writeConfig: true}
	cmd := &cobra.Command{
		Use:   "up --name NAME --domain DOMAIN",
		Short: "Run a federation control plane in this process",
		Long: `Run a federation control plane: a Kennel API server (with its own embedded etcd)
that runs the federation controllers and no nodes. Apply ordinary objects
(PetSet, Service, Deployment, ConfigMap, Secret) and Placements to it; member
clusters that joined it pull their share and run it.

The client configuration is added to $KENNEL_HOME/config as a context named
after the federation, so 'kennel --context NAME …' talks to it. Objects are
kept in the data dir: starting again on it keeps every object and restarts no
pod in any member.`,
		Example: `  # A federation named "fed" whose services are <svc>.<ns>.fed.svc.example.com
  kennel federation up --name fed --domain example.com

  # Then, with the federation's context, make a join token for a member
  kennel --context fed federation token create --cluster eu-1`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{cli.ParentAnnotation: "federation"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.contextName == "" {
				o.contextName = o.federation
			}
			if !cmd.Flags().Changed("data-dir") {
				o.dataDir = filepath.Join(client.Home(), "federations", o.federation)
			}
			return run(cmd.Context(), o, out, errOut)
		},
	}
	addFlags(cmd, o)
	addFederationFlags(cmd, o)
	f := cmd.Flags()
	f.Lookup("listen").DefValue = "127.0.0.1:7443"
	_ = f.Set("listen", "127.0.0.1:7443")
	f.Lookup("dns-addr").DefValue = "127.0.0.1:5354"
	_ = f.Set("dns-addr", "127.0.0.1:5354")
	f.Lookup("data-dir").DefValue = "$KENNEL_HOME/federations/NAME"
	f.Lookup("context-name").DefValue = "the federation's name"
	_ = f.Set("context-name", "")
	f.Lookup("cluster-dns-ip").DefValue = ""
	_ = f.Set("cluster-dns-ip", "")
	_ = cmd.MarkFlagRequired("name")
	_ = cmd.MarkFlagRequired("domain")
	return cmd
}

// addFederationFlags adds the flags that make a control plane a
// federation's.
func addFederationFlags(cmd *cobra.Command, o *options) {
	f := cmd.Flags()
	f.StringVar(&o.federation, "name", "", "the federation's name, a DNS label used in federated names (<svc>.<ns>.<name>.svc.<domain>)")
	f.StringVar(&o.domain, "domain", "", "the federation's DNS domain")
	f.DurationVar(&o.clusterGrace, "cluster-grace-period", 0, "how long a member may go without renewing its membership before it is NotReady (default 20s)")
	f.DurationVar(&o.federationTTL, "federation-dns-ttl", 30*time.Second, "TTL of federated DNS records")
	addFailoverFlags(cmd, o)
}

// addFailoverFlags adds the federation's automatic failover settings.
func addFailoverFlags(cmd *cobra.Command, o *options) {
	f := cmd.Flags()
	f.DurationVar(&o.driftMargin, "failover-drift-margin", 5*time.Second, "added to a Placement's fencing period before a silent member's pets are started elsewhere: covers clock drift and the member's time to stop them")
	f.Float64Var(&o.maxFailedShare, "failover-max-failed-share", 0.5, "no automatic failover while more than this share of the members has failed at once")
	f.BoolVar(&o.automaticFailover, "automatic-failover", false, "enable Placements' failover policy Automatic (opt-in: see docs/federation.md); off, it is treated as Never")
}

package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

func newFederationCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "federation",
		Short: "Run a federation of clusters, join clusters to it, and see its state",
		Long: `A federation is a Kennel control plane with no nodes: objects and Placements
applied to it are placed on its member clusters, which pull their share,
run it and report back. Members keep running what they have when the
federation is unreachable.

  kennel federation up         run a federation control plane
  kennel federation token      make a join token for a member (on the federation)
  kennel federation join       join the current cluster to a federation
  kennel federation unjoin     leave the federation
  kennel federation status     members, their health and capacity, and placements`,
		Example: `  kennel federation up --name fed --domain example.com
  TOKEN=$(kennel --context fed federation token create --cluster eu-1)
  kennel --context eu-1 federation join --url https://127.0.0.1:7443 --token $TOKEN \
    --cluster eu-1 --labels region=eu-west,zone=eu-west-1a,compliance=gdpr
  kennel --context fed federation status`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newFederationTokenCommand(g), newFederationJoinCommand(g), newFederationUnjoinCommand(g), newFederationStatusCommand(g), newFederationMigrateCommand(g))
	return cmd
}

func newFederationTokenCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "token",
		Short:   "Make join tokens for member clusters",
		Example: `  TOKEN=$(kennel --context fed federation token create --cluster eu-1)`,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	var req tokenRequest
	var ttl time.Duration
	create := &cobra.Command{
		Use:   "create [--cluster NAME]",
		Short: "Create a member's join token (on the federation's context) and print it",
		Long: `Create a token of the "cluster" role on the federation and print it alone on
standard output. A member's federation agent uses it to register its Cluster
(the token is then bound to that name), renew its membership, read the work
assigned to it and report its status — nothing else.`,
		Example: `  TOKEN=$(kennel --context fed federation token create --cluster eu-1)`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ttl < 0 {
				return fmt.Errorf("--ttl %s: must not be negative", ttl)
			}
			req.Role = "cluster"
			req.TTLSeconds = int64(ttl.Round(time.Second) / time.Second)
			if req.Description == "" && req.Node != "" {
				req.Description = "member cluster " + req.Node
			}
			return runTokenCreate(cmd.Context(), g, req)
		},
	}
	create.Flags().StringVar(&req.Node, "cluster", "", "bind the token to this member's name (default: the first Cluster it registers)")
	create.Flags().StringVar(&req.Description, "description", "", "what the token is for")
	create.Flags().DurationVar(&ttl, "ttl", 0, "expire the token after this long (0: never)")
	cmd.AddCommand(create)
	return cmd
}

// joinOptions are the flags of `kennel federation join`.
type joinOptions struct {
	url, token, caFile, cluster string
	labels                      map[string]string
	region                      string
	zones                       []string
	wait                        time.Duration
}

func newFederationJoinCommand(g *globalOptions) *cobra.Command {
	o := &joinOptions{}
	cmd := &cobra.Command{
		Use:   "join --url URL --token TOKEN --cluster NAME --labels region=R[,zone=Z,k=v…]",
		Short: "Join the current cluster to a federation",
		Long: `Join the cluster of the current context to a federation: register it as a
Cluster on the federation (with the labels Placements select on), and start
the federation agent in this cluster's control plane. The agent pulls the work
assigned to this cluster, applies it here, reports its status, renews the
membership and mirrors the federation's DNS records. It is kept in this
cluster (Secret kennel-system/kennel-federation-join), so it restarts with the
control plane. The federation never needs to reach this cluster.

The federation's CA comes from --ca-file, or from a context of the config file
whose server is --url. Region and zone come from --region/--zones, else from
the labels region= and zone=.`,
		Example: `  kennel --context eu-1 federation join --url https://fed.example.com:7443 --ca-file fed-ca.crt \
    --token $TOKEN --cluster eu-1 --labels region=eu-west,zone=eu-west-1a,compliance=gdpr,security=high`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runJoin(cmd.Context(), g, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.url, "url", "", "the federation's API server URL")
	f.StringVar(&o.token, "token", "", "a join token (kennel federation token create, on the federation)")
	f.StringVar(&o.caFile, "ca-file", "", "PEM CA of the federation's API server (default: from the context whose server is --url)")
	f.StringVar(&o.cluster, "cluster", "", "this cluster's name in the federation (a DNS label)")
	f.StringToStringVar(&o.labels, "labels", nil, "the Cluster's labels, k=v,… (region=, zone=, compliance=, security=, …)")
	f.StringVar(&o.region, "region", "", "the cluster's region (default: the label region)")
	f.StringSliceVar(&o.zones, "zones", nil, "the cluster's zones (default: the label zone)")
	f.DurationVar(&o.wait, "wait", time.Minute, "how long to wait for the federation to see the member Ready (0: do not wait)")
	for _, n := range []string{"url", "token", "cluster"} {
		_ = cmd.MarkFlagRequired(n)
	}
	return cmd
}

func runJoin(ctx context.Context, g *globalOptions, o *joinOptions) error {
	if o.region == "" {
		o.region = o.labels["region"]
	}
	if len(o.zones) == 0 && o.labels["zone"] != "" {
		o.zones = []string{o.labels["zone"]}
	}
	if o.region == "" {
		return errors.New("--region: required (or give the label region=…)")
	}
	ca, err := g.federationCA(o.url, o.caFile)
	if err != nil {
		return err
	}
	fed, err := client.New(client.Config{Server: o.url, CAData: ca, Token: o.token, UserAgent: "kennel-cli/" + g.version})
	if err != nil {
		return err
	}
	defer fed.Close()
	info, err := client.For[*v1.ConfigMap](fed, v1.NamespaceSystem).Get(ctx, v1.FederationInfoConfigMap)
	if err != nil {
		return fmt.Errorf("federation join: %s does not answer as a federation with this token: %w", o.url, err)
	}
	name := info.Data[v1.FederationInfoName]
	member, err := g.Client()
	if err != nil {
		return err
	}
	labels, _ := json.Marshal(o.labels)
	secret := &v1.Secret{ObjectMeta: v1.ObjectMeta{Name: v1.MembershipSecret, Namespace: v1.NamespaceSystem},
		Data: map[string][]byte{v1.JoinURL: []byte(o.url), v1.JoinCA: ca, v1.JoinToken: []byte(o.token), v1.JoinCluster: []byte(o.cluster),
			v1.JoinLabels: labels, v1.JoinRegion: []byte(o.region), v1.JoinZones: []byte(strings.Join(o.zones, ","))}}
	secrets := client.For[*v1.Secret](member, v1.NamespaceSystem)
	if cur, err := secrets.Get(ctx, v1.MembershipSecret); err == nil {
		if string(cur.Data[v1.JoinURL]) != o.url || string(cur.Data[v1.JoinCluster]) != o.cluster {
			return fmt.Errorf("federation join: this cluster is already member %q of %s: run 'kennel federation unjoin' first", cur.Data[v1.JoinCluster], cur.Data[v1.JoinURL])
		}
		secret.ResourceVersion = cur.ResourceVersion
		if _, err := secrets.Update(ctx, secret); err != nil {
			return fmt.Errorf("federation join: %w", err)
		}
	} else if _, err := secrets.Create(ctx, secret); err != nil {
		return fmt.Errorf("federation join: %w", err)
	}
	fmt.Fprintf(g.streams.Err, "Joining federation %q (domain %s) as cluster %q…\n", name, info.Data[v1.FederationInfoDomain], o.cluster)
	if o.wait == 0 {
		return nil
	}
	if err := waitClusterReady(ctx, fed, o.cluster, o.wait); err != nil {
		return err
	}
	fmt.Fprintf(g.streams.Out, "cluster %q joined federation %q\n", o.cluster, name)
	return nil
}

// federationCA reads --ca-file, or takes the CA of a context whose server
// is url.
func (g *globalOptions) federationCA(url, caFile string) ([]byte, error) {
	if caFile != "" {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		return b, nil
	}
	f, err := client.LoadFile(g.configPath)
	if err != nil {
		return nil, err
	}
	for _, c := range f.Contexts {
		if c.Server == url && len(c.CertificateAuthorityData) > 0 {
			return c.CertificateAuthorityData, nil
		}
	}
	return nil, fmt.Errorf("--ca-file: required: no context of %s has server %s (the federation's CA is <data-dir>/pki/ca.crt on its host)", g.configPath, url)
}

// waitClusterReady waits until the federation sees the member Ready.
func waitClusterReady(ctx context.Context, fed *client.Client, name string, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var last string
	for {
		cl, err := client.For[*v1.Cluster](fed, "").Get(ctx, name)
		if err == nil {
			for _, c := range cl.Status.Conditions {
				if c.Type == v1.ClusterReady && c.Status == v1.ConditionTrue {
					return nil
				}
				if c.Type == v1.ClusterReady {
					last = c.Message
				}
			}
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("federation join: cluster %q is not Ready on the federation after %s (%s); the agent keeps trying: see the member's log", name, d, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func newFederationUnjoinCommand(g *globalOptions) *cobra.Command {
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "unjoin",
		Short: "Leave the federation: remove what it placed here and the Cluster there",
		Long: `Remove the current cluster from its federation: its federation agent stops,
the objects the federation placed in this cluster are deleted (with their
pods), the mirrored DNS records go, and the Cluster and its lease are removed
from the federation (when it is reachable).`,
		Example: `  kennel --context eu-1 federation unjoin`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := g.Client()
			if err != nil {
				return err
			}
			_, err = client.For[*v1.Secret](c, v1.NamespaceSystem).Delete(ctx, v1.MembershipSecret, client.DeleteOptions{})
			if v1.IsNotFound(err) {
				return errors.New("federation unjoin: this cluster is not a member of a federation")
			}
			if err != nil {
				return fmt.Errorf("federation unjoin: %w", err)
			}
			fmt.Fprintln(g.streams.Err, "Leaving the federation…")
			ctx, cancel := context.WithTimeout(ctx, wait)
			defer cancel()
			for {
				_, err := client.For[*v1.ConfigMap](c, v1.NamespaceSystem).Get(ctx, v1.MembershipConfigMap)
				if v1.IsNotFound(err) {
					fmt.Fprintln(g.streams.Out, "left the federation")
					return nil
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("federation unjoin: the agent has not finished cleaning up after %s; it goes on", wait)
				case <-time.After(250 * time.Millisecond):
				}
			}
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", time.Minute, "how long to wait for the clean-up")
	return cmd
}

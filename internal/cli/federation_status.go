package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

func newFederationStatusCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the members (health, last renewal, capacity) and where placements put things",
		Long: `Show, on the federation's context, every member cluster — Ready, when it last
renewed its membership and how long ago, its Kennel version, nodes and free
capacity — then every Placement with its conditions and, per placed object,
each cluster's share (PetSet ordinal ranges) and what the member reports;
then the Migrations that have not succeeded (under way or failed).`,
		Example: `  kennel --context fed federation status`,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return runFederationStatus(cmd.Context(), g) },
	}
}

func runFederationStatus(ctx context.Context, g *globalOptions) error {
	c, err := g.Client()
	if err != nil {
		return err
	}
	info, err := client.For[*v1.ConfigMap](c, v1.NamespaceSystem).Get(ctx, v1.FederationInfoConfigMap)
	if err != nil {
		if v1.IsNotFound(err) {
			return fmt.Errorf("federation status: %s is not a federation (use --context with the federation's context)", c.Server())
		}
		return err
	}
	clusters, err := client.For[*v1.Cluster](c, "").ListAll(ctx, client.ListOptions{})
	if err != nil {
		return err
	}
	// The membership Leases say when each member last renewed; the
	// Cluster's status is written less often.
	renewals := map[string]time.Time{}
	if leases, err := client.For[*v1.Lease](c, v1.NamespaceClusterLeases).ListAll(ctx, client.ListOptions{}); err == nil {
		for _, l := range leases.Items {
			if l.Spec.RenewTime != nil {
				renewals[l.Name] = l.Spec.RenewTime.Time
			}
		}
	}
	now := time.Now()
	out := g.streams.Out
	fmt.Fprintf(out, "Federation %s (domain %s), %d clusters\n\n", info.Data[v1.FederationInfoName], info.Data[v1.FederationInfoDomain], len(clusters.Items))
	rows := [][]string{{"CLUSTER", "READY", "REGION", "ZONES", "LAST RENEWAL", "LAG", "VERSION", "NODES", "FREE CPU", "FREE MEMORY", "FREE IOPS", "LABELS"}}
	for _, cl := range clusters.Items {
		ready, lag, renewed := "Unknown", none, none
		for _, cond := range cl.Status.Conditions {
			if cond.Type == v1.ClusterReady {
				ready = string(cond.Status)
			}
		}
		t, ok := renewals[cl.Name]
		if !ok && cl.Status.LastRenewTime != nil {
			t, ok = cl.Status.LastRenewTime.Time, true
		}
		if ok {
			renewed = t.UTC().Format(time.TimeOnly)
			lag = humanDuration(now.Sub(t))
		}
		rows = append(rows, []string{cl.Name, ready, cl.Spec.Region, joinOrNone(cl.Spec.Zones), renewed, lag,
			orNone(cl.Status.KennelVersion), fmt.Sprintf("%d/%d", cl.Status.ReadyNodes, cl.Status.Nodes),
			quantity(cl.Status.Free, v1.ResourceCPU), quantity(cl.Status.Free, v1.ResourceMemory), quantity(cl.Status.Free, v1.ResourceStorageIOPS),
			labelString(cl.Labels)})
	}
	(&table{w: out}).print(rows)
	placements, err := client.For[*v1.Placement](c, "").ListAll(ctx, client.ListOptions{})
	if err != nil {
		return err
	}
	if len(placements.Items) == 0 {
		return nil
	}
	fmt.Fprintln(out)
	rows = [][]string{{"NAMESPACE", "PLACEMENT", "CLUSTERS", "SCHEDULED", "PROPAGATED", "APPLIED", "OBJECT", "SHARES"}}
	for _, p := range placements.Items {
		conds := map[string]string{}
		for _, cond := range p.Status.Conditions {
			conds[cond.Type] = string(cond.Status)
			if cond.Status != v1.ConditionTrue {
				conds[cond.Type] += " (" + cond.Reason + ")"
			}
		}
		first := []string{p.Namespace, p.Name, joinOrNone(p.Status.Clusters),
			orNone(conds[v1.PlacementScheduled]), orNone(conds[v1.PlacementPropagated]), orNone(conds[v1.PlacementApplied])}
		if len(p.Status.Resources) == 0 {
			rows = append(rows, append(first, none, none))
		}
		for i, r := range p.Status.Resources {
			row := first
			if i > 0 {
				row = []string{"", "", "", "", "", ""}
			}
			rows = append(rows, append(slices.Clone(row), strings.ToLower(r.Kind)+"/"+r.Name, shares(r)))
		}
	}
	(&table{w: out}).print(rows)
	for _, p := range placements.Items {
		for _, cond := range p.Status.Conditions {
			if cond.Status == v1.ConditionFalse && cond.Message != "" {
				fmt.Fprintf(out, "%s/%s %s: %s\n", p.Namespace, p.Name, cond.Type, cond.Message)
			}
		}
	}
	return printMigrations(ctx, c, g)
}

// printMigrations lists the Migrations that have not succeeded.
func printMigrations(ctx context.Context, c *client.Client, g *globalOptions) error {
	migs, err := client.For[*v1.Migration](c, "").ListAll(ctx, client.ListOptions{})
	if err != nil {
		return err
	}
	now := time.Now()
	rows := [][]string{{"NAMESPACE", "MIGRATION", "PET", "FROM", "TO", "PHASE", "PROGRESS", "AGE", "MESSAGE"}}
	for _, m := range migs.Items {
		if m.Status.Phase != v1.MigrationSucceeded {
			rows = append(rows, append([]string{m.Namespace}, migrationRow(m, now)...))
		}
	}
	if len(rows) > 1 {
		fmt.Fprintln(g.streams.Out)
		(&table{w: g.streams.Out}).print(rows)
	}
	return nil
}

// shares is "eu-1 0-1, eu-2 2-3" for a divided PetSet, "eu-1 2, eu-2 1"
// for replicas, "eu-1, eu-2" otherwise.
func shares(r v1.PlacedResource) string {
	var parts []string
	for _, s := range r.Clusters {
		switch {
		case s.OrdinalStart != nil && s.Replicas != nil && *s.Replicas > 0:
			parts = append(parts, fmt.Sprintf("%s %d-%d", s.Name, *s.OrdinalStart, *s.OrdinalStart+*s.Replicas-1))
		case s.Replicas != nil:
			parts = append(parts, fmt.Sprintf("%s %d", s.Name, *s.Replicas))
		default:
			parts = append(parts, s.Name)
		}
	}
	return orNone(strings.Join(parts, ", "))
}

func quantity(l v1.ResourceList, name string) string {
	q, ok := l[name]
	if !ok {
		return none
	}
	if name == v1.ResourceMemory {
		return fmt.Sprintf("%.1fGi", float64(q.Value())/(1<<30))
	}
	return q.String()
}

package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"
)

// tokensPath is the token API; only the admin role may use it.
const tokensPath = "/kennel/v1/tokens"

// The token API's wire types. They mirror the API server's TokenRequest
// and TokenResponse, redeclared here because the CLI reaches the server
// through the client only, never by importing it.
type tokenRequest struct {
	Role        string `json:"role"`
	Node        string `json:"node,omitempty"`
	Description string `json:"description,omitempty"`
	TTLSeconds  int64  `json:"ttlSeconds,omitempty"`
}

type tokenInfo struct {
	ID          string    `json:"id"`
	Role        string    `json:"role"`
	Node        string    `json:"node,omitempty"`
	Description string    `json:"description,omitempty"`
	Created     time.Time `json:"created"`
	Expires     time.Time `json:"expires,omitzero"`
}

type tokenResponse struct {
	tokenInfo
	Token string `json:"token"`
}

func newTokenCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke API tokens",
		Long: `Manage the bearer tokens of the API server; only an admin token may.

Roles: "admin" may do everything; "viewer" may read everything but secret
values; "node" is for a node agent: it may register one Node, renew its Lease,
report the status of the pods bound to it and write events.`,
		Example: `  # A token for a node agent on host n2
  kennel token create --role node --node n2 --description "agent on n2"

  # A read-only token valid for a day
  kennel token create --role viewer --ttl 24h

  kennel token list
  kennel token delete 4fj3k2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newTokenCreateCommand(g), newTokenListCommand(g), newTokenDeleteCommand(g))
	return cmd
}

func newTokenCreateCommand(g *globalOptions) *cobra.Command {
	var req tokenRequest
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "create --role admin|viewer|node",
		Short: "Create a token and print it (only this once)",
		Long: `Create a token and print it on standard output, alone, so that it can be
captured: TOKEN=$(kennel token create --role viewer). The server keeps only a
hash: the token cannot be shown again.`,
		Example: `  TOKEN=$(kennel token create --role viewer --description "dashboard")
  kennel token create --role node --node n2 --ttl 720h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ttl < 0 {
				return fmt.Errorf("--ttl %s: must not be negative", ttl)
			}
			req.TTLSeconds = int64(ttl.Round(time.Second) / time.Second)
			return runTokenCreate(cmd.Context(), g, req)
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Role, "role", "", "role: admin, viewer or node")
	f.StringVar(&req.Node, "node", "", "bind a node token to this node (default: the first Node it registers)")
	f.StringVar(&req.Description, "description", "", "what the token is for")
	f.DurationVar(&ttl, "ttl", 0, "expire the token after this long (0: never)")
	_ = cmd.MarkFlagRequired("role")
	_ = cmd.RegisterFlagCompletionFunc("role", cobra.FixedCompletions([]string{"admin", "viewer", "node"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runTokenCreate(ctx context.Context, g *globalOptions, req tokenRequest) error {
	c, err := g.Client()
	if err != nil {
		return err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	b, err := c.Do(ctx, http.MethodPost, tokensPath, body, "application/json")
	if err != nil {
		return err
	}
	var resp tokenResponse
	if err := json.Unmarshal(b, &resp); err != nil {
		return fmt.Errorf("token create: decode answer: %w", err)
	}
	fmt.Fprintln(g.streams.Out, resp.Token)
	fmt.Fprintf(g.streams.Err, "Created %s token %s. Keep it now: it will not be shown again.\n", resp.Role, resp.ID)
	return nil
}

func newTokenListCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List tokens (never their secrets)",
		Example: `  kennel token list`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTokenList(cmd.Context(), g)
		},
	}
}

func runTokenList(ctx context.Context, g *globalOptions) error {
	c, err := g.Client()
	if err != nil {
		return err
	}
	b, err := c.Do(ctx, http.MethodGet, tokensPath, nil, "")
	if err != nil {
		return err
	}
	var l struct {
		Items []tokenInfo `json:"items"`
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("token list: decode answer: %w", err)
	}
	now := time.Now()
	rows := [][]string{{"ID", "ROLE", "NODE", "CREATED", "EXPIRES", "DESCRIPTION"}}
	for _, t := range l.Items {
		rows = append(rows, []string{t.ID, t.Role, orNone(t.Node), humanDuration(now.Sub(t.Created)) + " ago",
			expires(t.Expires, now), orNone(t.Description)})
	}
	(&table{w: g.streams.Out}).print(rows)
	return nil
}

// expires is the expiry time, "never", or the time with "(expired)".
func expires(t, now time.Time) string {
	switch {
	case t.IsZero():
		return "never"
	case t.Before(now):
		return t.UTC().Format(time.RFC3339) + " (expired)"
	}
	return t.UTC().Format(time.RFC3339)
}

func newTokenDeleteCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "delete ID...",
		Aliases: []string{"revoke", "rm"},
		Short:   "Revoke tokens; requests that send them fail from then on",
		Example: `  kennel token delete 4fj3k2`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.Client()
			if err != nil {
				return err
			}
			for _, id := range args {
				if _, err := c.Do(cmd.Context(), http.MethodDelete, tokensPath+"/"+url.PathEscape(id), nil, ""); err != nil {
					return err
				}
				fmt.Fprintf(g.streams.Out, "token/%s deleted\n", id)
			}
			return nil
		},
	}
}

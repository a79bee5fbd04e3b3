package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/spf13/cobra"
)

func newVersionCommand(g *globalOptions) *cobra.Command {
	var clientOnly bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the client version, and the server's when it is reachable",
		Example: `  kennel version
  kennel version --client`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(g.streams.Out, "Client Version: %s\n", g.version)
			if clientOnly {
				return nil
			}
			v, err := serverVersion(cmd.Context(), g)
			if err != nil {
				// The client version is what was asked; the server is a
				// bonus, so its absence is a note, not a failure.
				fmt.Fprintf(g.streams.Err, "Server Version: unavailable: %v\n", err)
				return nil
			}
			fmt.Fprintf(g.streams.Out, "Server Version: %s\n", v)
			return nil
		},
	}
	cmd.Flags().BoolVar(&clientOnly, "client", false, "print only the client version")
	return cmd
}

func serverVersion(ctx context.Context, g *globalOptions) (string, error) {
	c, err := g.Client()
	if err != nil {
		return "", err
	}
	b, err := c.Do(ctx, http.MethodGet, "/version", nil, "")
	if err != nil {
		return "", err
	}
	var v struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return "", fmt.Errorf("decode /version: %w", err)
	}
	return v.Version, nil
}

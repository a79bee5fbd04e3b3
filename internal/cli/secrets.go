package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/spf13/cobra"
)

// rotateKeyPath is the API server's key rotation endpoint (admin only).
const rotateKeyPath = "/kennel/v1/secrets/rotate-key"

// rotateKeyResponse mirrors the API server's RotateKeyResponse.
type rotateKeyResponse struct {
	Key         string `json:"key"`
	Reencrypted int    `json:"reencrypted"`
	Secrets     int    `json:"secrets"`
}

func newSecretsCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secrets",
		Short: "Manage how Secrets are kept at rest",
		Long: `Secrets are stored encrypted (AES-256-GCM) with the keys of the API server's
key file (<data-dir>/encryption.keys, or --encryption-key-file). Reading etcd
directly shows only ciphertext.`,
		Example: `  kennel secrets rotate-key`,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newRotateKeyCommand(g))
	return cmd
}

func newRotateKeyCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "rotate-key",
		Short: "Encrypt every Secret with a new key, then retire the old keys",
		Long: `Generate a new encryption key, make it the one that encrypts, re-encrypt every
Secret with it, then remove the old keys from the key file. Until the
re-encryption is over the old keys still decrypt, so reads never fail; if the
rotation stops half way, run it again. Only the admin role may rotate.

With several API servers, each has its own key file: copy the new file to
every server after a rotation.`,
		Example: `  kennel secrets rotate-key`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRotateKey(cmd.Context(), g)
		},
	}
}

func runRotateKey(ctx context.Context, g *globalOptions) error {
	c, err := g.Client()
	if err != nil {
		return err
	}
	b, err := c.Do(ctx, http.MethodPost, rotateKeyPath, nil, "")
	if err != nil {
		return err
	}
	var resp rotateKeyResponse
	if err := json.Unmarshal(b, &resp); err != nil {
		return fmt.Errorf("secrets rotate-key: decode answer: %w", err)
	}
	fmt.Fprintf(g.streams.Out, "rotated: %d secrets re-encrypted with key %s\n", resp.Reencrypted, resp.Key)
	return nil
}

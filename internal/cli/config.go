package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// errNoCluster is returned when neither the config file nor the flags say
// where the API server is.
var errNoCluster = errors.New(`no Kennel cluster configured: run "kennel up" first, or pass --server and --token`)

// globalOptions are the root's persistent flags and what is resolved from
// them once per invocation: the client and the default namespace.
type globalOptions struct {
	streams Streams
	version string

	configPath  string
	contextName string
	server      string
	token       string
	caFile      string
	insecure    bool
	namespace   string

	client *client.Client
	ctx    *client.Context
	reg    *v1.Registry
}

func (g *globalOptions) addFlags(root *cobra.Command) {
	f := root.PersistentFlags()
	f.StringVar(&g.configPath, "config", client.DefaultConfigPath(), "client config file ($KENNEL_CONFIG, else $KENNEL_HOME/config)")
	f.StringVar(&g.contextName, "context", "", "context of the config file to use (default: its current context)")
	f.StringVar(&g.server, "server", "", "API server URL, https://host:port (overrides the config)")
	f.StringVar(&g.token, "token", "", "bearer token (overrides the config)")
	f.StringVar(&g.caFile, "certificate-authority", "", "PEM file of the CA that signed the server's certificate")
	f.BoolVar(&g.insecure, "insecure-skip-tls-verify", false, "do not check the server's certificate (unsafe)")
	f.StringVarP(&g.namespace, "namespace", "n", "", `namespace (default: the context's namespace, else "default")`)
}

// registry is the set of kinds the CLI knows; it needs no server.
func (g *globalOptions) registry() *v1.Registry {
	if g.reg == nil {
		g.reg = v1.NewRegistry()
	}
	return g.reg
}

// loadContext reads the context named by --context (or the current one).
// A missing config file yields a nil context and no error.
func (g *globalOptions) loadContext() (*client.Context, error) {
	if g.ctx != nil {
		return g.ctx, nil
	}
	f, err := client.LoadFile(g.configPath)
	if err != nil {
		return nil, err
	}
	if len(f.Contexts) == 0 {
		if g.contextName != "" {
			return nil, fmt.Errorf("context %q is not in the config %s", g.contextName, g.configPath)
		}
		return nil, nil
	}
	c, err := f.Context(g.contextName)
	if err != nil {
		return nil, err
	}
	g.ctx = c
	return c, nil
}

// clientConfig merges the flags over the context. The context's token and
// CA are used with --server only when it names the context's own server,
// so that a token is never sent to another server.
func (g *globalOptions) clientConfig() (client.Config, error) {
	var cfg client.Config
	c, err := g.loadContext()
	if err != nil && g.server == "" {
		return cfg, err
	}
	if c != nil && (g.server == "" || g.server == c.Server) {
		cfg = c.Config()
	}
	if g.server != "" {
		cfg.Server = g.server
	}
	if cfg.Server == "" {
		return cfg, errNoCluster
	}
	if g.token != "" {
		cfg.Token = g.token
	}
	if g.caFile != "" {
		ca, err := os.ReadFile(g.caFile)
		if err != nil {
			return cfg, fmt.Errorf("--certificate-authority: %w", err)
		}
		cfg.CAData = ca
	}
	cfg.InsecureSkipVerify = g.insecure
	cfg.UserAgent = "kennel-cli/" + g.version
	return cfg, nil
}

// Client returns the API client, built on first use.
func (g *globalOptions) Client() (*client.Client, error) {
	if g.client != nil {
		return g.client, nil
	}
	cfg, err := g.clientConfig()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg)
	if err != nil {
		return nil, err
	}
	g.client = c
	return c, nil
}

// closeClient releases the client's idle connections; the next Client
// call builds a new one.
func (g *globalOptions) closeClient() {
	if g.client != nil {
		g.client.Close()
		g.client = nil
	}
}

// Namespace is -n, else the context's namespace, else "default".
func (g *globalOptions) Namespace() string {
	if g.namespace != "" {
		return g.namespace
	}
	if c, err := g.loadContext(); err == nil && c != nil && c.Namespace != "" {
		return c.Namespace
	}
	return v1.NamespaceDefault
}

// lookupKind resolves a kind as a user types it (po, pods, sts, PetSet).
func (g *globalOptions) lookupKind(name string) (*v1.Kind, error) {
	k, ok := g.registry().Lookup(name)
	if !ok {
		return nil, fmt.Errorf("the server doesn't have a resource type %q", name)
	}
	return k, nil
}

package client

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"sigs.k8s.io/yaml"

	"github.com/kennel-dev/kennel/internal/atomicfile"
)

// File is the client configuration file ($KENNEL_HOME/config): named
// contexts, each a server with its CA and token, and the current one.
type File struct {
	CurrentContext string    `json:"currentContext"`
	Contexts       []Context `json:"contexts"`
}

// Context is one cluster (or federation) the CLI can talk to.
type Context struct {
	Name   string `json:"name"`
	Server string `json:"server"`
	// CertificateAuthorityData is the PEM CA (base64 in the file).
	CertificateAuthorityData []byte `json:"certificateAuthorityData,omitempty"`
	Token                    string `json:"token,omitempty"`
	// Namespace is the default namespace (default "default").
	Namespace string `json:"namespace,omitempty"`
}

// Home is $KENNEL_HOME, or ~/.kennel.
func Home() string {
	if h := os.Getenv("KENNEL_HOME"); h != "" {
		return h
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".kennel")
	}
	return ".kennel"
}

// DefaultConfigPath is $KENNEL_CONFIG, or $KENNEL_HOME/config.
func DefaultConfigPath() string {
	if p := os.Getenv("KENNEL_CONFIG"); p != "" {
		return p
	}
	return filepath.Join(Home(), "config")
}

// LoadFile reads a configuration file; a missing file is an empty one.
func LoadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &File{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("client: read config %s: %w", path, err)
	}
	var f File
	if err := yaml.UnmarshalStrict(b, &f); err != nil {
		return nil, fmt.Errorf("client: config %s: %w", path, err)
	}
	return &f, nil
}

// Save writes the file atomically with mode 0600 (it holds tokens).
func (f *File) Save(path string) error {
	b, err := yaml.Marshal(f)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("client: save config: %w", err)
	}
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return fmt.Errorf("client: save config: %w", err)
	}
	return nil
}

// Upsert adds or replaces the context with c's name.
func (f *File) Upsert(c Context) {
	i := slices.IndexFunc(f.Contexts, func(x Context) bool { return x.Name == c.Name })
	if i >= 0 {
		f.Contexts[i] = c
	} else {
		f.Contexts = append(f.Contexts, c)
	}
	if f.CurrentContext == "" {
		f.CurrentContext = c.Name
	}
}

// Context returns the named context, or the current one when name is "".
func (f *File) Context(name string) (*Context, error) {
	if name == "" {
		name = f.CurrentContext
	}
	if name == "" {
		if len(f.Contexts) == 1 {
			return &f.Contexts[0], nil
		}
		return nil, errors.New("no current context: run `kennel up`, or pass --server and --token")
	}
	for i := range f.Contexts {
		if f.Contexts[i].Name == name {
			return &f.Contexts[i], nil
		}
	}
	return nil, fmt.Errorf("context %q is not in the config", name)
}

// Config turns a context into a client Config.
func (c *Context) Config() Config {
	return Config{Server: c.Server, CAData: c.CertificateAuthorityData, Token: c.Token}
}

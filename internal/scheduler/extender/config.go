package extender

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// DefaultHTTPTimeout bounds each call when Config.HTTPTimeout is empty, as
// in Kubernetes.
const DefaultHTTPTimeout = 5 * time.Second

// Config is one entry of a KubeSchedulerConfiguration's extenders list,
// with the same JSON field names, so a Kubernetes configuration decodes
// unchanged.
type Config struct {
	// URLPrefix is where the extender listens; each verb is POSTed to
	// URLPrefix + "/" + verb. It also names the extender.
	URLPrefix string `json:"urlPrefix"`
	// FilterVerb, when set, makes the extender drop nodes.
	FilterVerb string `json:"filterVerb,omitempty"`
	// PreemptVerb is accepted so Kubernetes configurations decode, but
	// unused: Kennel's scheduler does not preempt.
	PreemptVerb string `json:"preemptVerb,omitempty"`
	// PrioritizeVerb, when set, makes the extender score nodes 0..10.
	PrioritizeVerb string `json:"prioritizeVerb,omitempty"`
	// Weight multiplies the extender's scores; required (positive) with
	// PrioritizeVerb.
	Weight int64 `json:"weight,omitempty"`
	// BindVerb, when set, makes the extender bind pods instead of the
	// scheduler. At most one extender may bind.
	BindVerb string `json:"bindVerb,omitempty"`
	// EnableHTTPS states that the extender is reached over TLS; URLPrefix
	// must then be an https URL.
	EnableHTTPS bool `json:"enableHTTPS,omitempty"`
	// TLSConfig configures the TLS client: the CA to trust, a client
	// certificate, the server name to verify.
	TLSConfig *TLSConfig `json:"tlsConfig,omitempty"`
	// HTTPTimeout bounds each call, as a Go duration string such as "5s"
	// or "1m30s" (Kubernetes' metav1.Duration); empty means
	// DefaultHTTPTimeout. It is kept as written so that Validate can name
	// it when it does not parse.
	HTTPTimeout string `json:"httpTimeout,omitempty"`
	// NodeCacheCapable extenders keep their own copy of the nodes and are
	// sent node names only.
	NodeCacheCapable bool `json:"nodeCacheCapable,omitempty"`
	// ManagedResources, when not empty, limits the pods sent to those
	// that request or limit one of these resources.
	ManagedResources []ManagedResource `json:"managedResources,omitempty"`
	// Ignorable extenders that fail are skipped instead of failing the
	// pod's scheduling attempt.
	Ignorable bool `json:"ignorable,omitempty"`
}

// TLSConfig is the TLS client configuration of an extender (Kubernetes'
// ExtenderTLSConfig). The *Data fields hold PEM, base64-encoded in JSON;
// each is an alternative to the matching *File field.
type TLSConfig struct {
	// Insecure skips verifying the extender's certificate (testing only).
	Insecure bool `json:"insecure,omitempty"`
	// ServerName is the name verified in the extender's certificate
	// instead of the URL's host.
	ServerName string `json:"serverName,omitempty"`
	CertFile   string `json:"certFile,omitempty"`
	KeyFile    string `json:"keyFile,omitempty"`
	CAFile     string `json:"caFile,omitempty"`
	CertData   []byte `json:"certData,omitempty"`
	KeyData    []byte `json:"keyData,omitempty"`
	CAData     []byte `json:"caData,omitempty"`
}

// ManagedResource is an extended resource an extender manages.
type ManagedResource struct {
	// Name is the resource's name, such as "example.com/gpu".
	Name string `json:"name"`
	// IgnoredByScheduler makes the scheduler's own resource fit check
	// skip the resource, leaving it to the extender.
	IgnoredByScheduler bool `json:"ignoredByScheduler,omitempty"`
}

// timeout is the parsed HTTPTimeout; Validate has checked it.
func (c Config) timeout() time.Duration {
	if c.HTTPTimeout == "" {
		return DefaultHTTPTimeout
	}
	d, err := time.ParseDuration(c.HTTPTimeout)
	if err != nil || d <= 0 {
		return DefaultHTTPTimeout
	}
	return d
}

// fieldErrors collects validation errors, each naming its field under
// path.
type fieldErrors struct {
	path string
	errs []error
}

func (f *fieldErrors) add(field, format string, args ...any) {
	name := field
	if f.path != "" {
		name = f.path + "." + field
	}
	f.errs = append(f.errs, fmt.Errorf("scheduler: %s: %s", name, fmt.Sprintf(format, args...)))
}

// Validate checks c without side effects (files are read only by New).
// path names c in the errors, such as "extenders[1]"; every problem is
// reported, joined.
func (c Config) Validate(path string) error {
	f := &fieldErrors{path: path}
	c.validateURL(f)
	switch {
	case c.Weight < 0:
		f.add("weight", "must not be negative, got %d", c.Weight)
	case c.PrioritizeVerb != "" && c.Weight == 0:
		f.add("weight", "must be positive when prioritizeVerb is set")
	}
	if c.HTTPTimeout != "" {
		d, err := time.ParseDuration(c.HTTPTimeout)
		switch {
		case err != nil:
			f.add("httpTimeout", "must be a duration such as \"5s\", got %q", c.HTTPTimeout)
		case d <= 0:
			f.add("httpTimeout", "must be positive, got %q", c.HTTPTimeout)
		}
	}
	if c.TLSConfig != nil {
		c.TLSConfig.validate(f)
	}
	seen := map[string]bool{}
	for i, r := range c.ManagedResources {
		field := fmt.Sprintf("managedResources[%d].name", i)
		switch {
		case r.Name == "":
			f.add(field, "required")
		case !strings.Contains(r.Name, "/") || len(validation.IsQualifiedName(r.Name)) > 0:
			f.add(field, "must be a domain-qualified resource name such as \"example.com/gpu\", got %q", r.Name)
		case seen[r.Name]:
			f.add(field, "duplicate %q", r.Name)
		}
		seen[r.Name] = true
	}
	return errors.Join(f.errs...)
}

func (c Config) validateURL(f *fieldErrors) {
	if c.URLPrefix == "" {
		f.add("urlPrefix", "required")
		return
	}
	u, err := url.Parse(c.URLPrefix)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		f.add("urlPrefix", "must be an http or https URL, got %q", c.URLPrefix)
		return
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		f.add("urlPrefix", "must not have user information, a query or a fragment, got %q", u.Redacted())
		return
	}
	if c.EnableHTTPS && u.Scheme != "https" {
		f.add("enableHTTPS", "urlPrefix must be an https URL, got %q", c.URLPrefix)
	}
}

func (t *TLSConfig) validate(f *fieldErrors) {
	pairs := []struct {
		file, data string
		hasFile    bool
		hasData    bool
	}{
		{"certFile", "certData", t.CertFile != "", len(t.CertData) > 0},
		{"keyFile", "keyData", t.KeyFile != "", len(t.KeyData) > 0},
		{"caFile", "caData", t.CAFile != "", len(t.CAData) > 0},
	}
	for _, p := range pairs {
		if p.hasFile && p.hasData {
			f.add("tlsConfig."+p.data, "must not be set with %s", p.file)
		}
	}
	hasCert := t.CertFile != "" || len(t.CertData) > 0
	hasKey := t.KeyFile != "" || len(t.KeyData) > 0
	if hasCert != hasKey {
		f.add("tlsConfig", "a client certificate (certFile or certData) and its key (keyFile or keyData) must be given together")
	}
	if t.Insecure && (t.CAFile != "" || len(t.CAData) > 0) {
		f.add("tlsConfig.insecure", "must not be set with caFile or caData")
	}
}

// ValidateAll validates every extender of a scheduler configuration,
// named extenders[i], and checks that at most one binds.
func ValidateAll(cfgs []Config) error {
	var binders []string
	var all []error
	for i, c := range cfgs {
		path := fmt.Sprintf("extenders[%d]", i)
		if err := c.Validate(path); err != nil {
			all = append(all, err)
		}
		if c.BindVerb != "" {
			binders = append(binders, path)
		}
	}
	if len(binders) > 1 {
		all = append(all, fmt.Errorf("scheduler: extenders: at most one extender may set bindVerb, found %d (%s)",
			len(binders), strings.Join(binders, ", ")))
	}
	return errors.Join(all...)
}

// ManagedResourceIgnored lists the managed resources of cfgs that the
// scheduler's own resource fit check must skip (ignoredByScheduler), for
// NodeResourcesFit.
func ManagedResourceIgnored(cfgs []Config) map[string]bool {
	ignored := map[string]bool{}
	for _, c := range cfgs {
		for _, r := range c.ManagedResources {
			if r.IgnoredByScheduler {
				ignored[r.Name] = true
			}
		}
	}
	return ignored
}

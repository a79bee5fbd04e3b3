package extender

import (
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	ok := Config{URLPrefix: "http://127.0.0.1:8888/scheduler"}
	with := func(f func(c *Config)) Config {
		c := ok
		f(&c)
		return c
	}
	tests := []struct {
		name string
		cfg  Config
		path string
		want string // "" for valid
	}{
		{"minimal", ok, "extenders[0]", ""},
		{"every verb", with(func(c *Config) {
			c.FilterVerb, c.PrioritizeVerb, c.Weight, c.BindVerb, c.PreemptVerb = "filter", "prioritize", 3, "bind", "preempt"
			c.HTTPTimeout, c.NodeCacheCapable, c.Ignorable = "1m30s", true, true
			c.ManagedResources = []ManagedResource{{Name: "example.com/gpu", IgnoredByScheduler: true}, {Name: "kennel.io/storage-iops"}}
		}), "extenders[0]", ""},
		{"https with TLS", Config{URLPrefix: "https://ext.example:8443", EnableHTTPS: true, TLSConfig: &TLSConfig{
			CAData: []byte("x"), CertFile: "c", KeyData: []byte("k"), ServerName: "ext"}}, "extenders[0]", ""},
		{"no urlPrefix", Config{}, "extenders[1]", "scheduler: extenders[1].urlPrefix: required"},
		{"no path", Config{}, "", "scheduler: urlPrefix: required"},
		{"ftp urlPrefix", Config{URLPrefix: "ftp://h/x"}, "extenders[1]",
			`scheduler: extenders[1].urlPrefix: must be an http or https URL, got "ftp://h/x"`},
		{"urlPrefix without host", Config{URLPrefix: "http:///x"}, "extenders[1]",
			`scheduler: extenders[1].urlPrefix: must be an http or https URL, got "http:///x"`},
		{"urlPrefix not a URL", Config{URLPrefix: "127.0.0.1:80"}, "extenders[1]",
			`scheduler: extenders[1].urlPrefix: must be an http or https URL, got "127.0.0.1:80"`},
		{"urlPrefix with query", Config{URLPrefix: "http://h/x?a=b"}, "extenders[1]",
			`scheduler: extenders[1].urlPrefix: must not have user information, a query or a fragment, got "http://h/x?a=b"`},
		{"urlPrefix with password", Config{URLPrefix: "http://u:secret@h/x"}, "extenders[1]",
			`scheduler: extenders[1].urlPrefix: must not have user information, a query or a fragment, got "http://u:xxxxx@h/x"`},
		{"enableHTTPS with http", with(func(c *Config) { c.EnableHTTPS = true }), "extenders[1]",
			`scheduler: extenders[1].enableHTTPS: urlPrefix must be an https URL, got "http://127.0.0.1:8888/scheduler"`},
		{"prioritize without weight", with(func(c *Config) { c.PrioritizeVerb = "prioritize" }), "extenders[1]",
			"scheduler: extenders[1].weight: must be positive when prioritizeVerb is set"},
		{"negative weight", with(func(c *Config) { c.PrioritizeVerb, c.Weight = "prioritize", -2 }), "extenders[1]",
			"scheduler: extenders[1].weight: must not be negative, got -2"},
		{"httpTimeout not a duration", with(func(c *Config) { c.HTTPTimeout = "5 seconds" }), "extenders[0]",
			`scheduler: extenders[0].httpTimeout: must be a duration such as "5s", got "5 seconds"`},
		{"httpTimeout without unit", with(func(c *Config) { c.HTTPTimeout = "5" }), "extenders[0]",
			`scheduler: extenders[0].httpTimeout: must be a duration such as "5s", got "5"`},
		{"httpTimeout zero", with(func(c *Config) { c.HTTPTimeout = "0s" }), "extenders[0]",
			`scheduler: extenders[0].httpTimeout: must be positive, got "0s"`},
		{"certFile and certData", with(func(c *Config) { c.TLSConfig = &TLSConfig{CertFile: "c", CertData: []byte("c"), KeyFile: "k"} }),
			"extenders[0]", "scheduler: extenders[0].tlsConfig.certData: must not be set with certFile"},
		{"caFile and caData", with(func(c *Config) { c.TLSConfig = &TLSConfig{CAFile: "c", CAData: []byte("c")} }),
			"extenders[0]", "scheduler: extenders[0].tlsConfig.caData: must not be set with caFile"},
		{"certificate without key", with(func(c *Config) { c.TLSConfig = &TLSConfig{CertData: []byte("c")} }), "extenders[0]",
			"scheduler: extenders[0].tlsConfig: a client certificate (certFile or certData) and its key (keyFile or keyData) must be given together"},
		{"insecure with CA", with(func(c *Config) { c.TLSConfig = &TLSConfig{Insecure: true, CAFile: "ca"} }), "extenders[0]",
			"scheduler: extenders[0].tlsConfig.insecure: must not be set with caFile or caData"},
		{"managed resource without name", with(func(c *Config) { c.ManagedResources = []ManagedResource{{IgnoredByScheduler: true}} }),
			"extenders[0]", "scheduler: extenders[0].managedResources[0].name: required"},
		{"managed resource not qualified", with(func(c *Config) { c.ManagedResources = []ManagedResource{{Name: "gpu"}} }), "extenders[0]",
			`scheduler: extenders[0].managedResources[0].name: must be a domain-qualified resource name such as "example.com/gpu", got "gpu"`},
		{"managed resource twice", with(func(c *Config) {
			c.ManagedResources = []ManagedResource{{Name: "example.com/gpu"}, {Name: "example.com/gpu"}}
		}), "extenders[0]", `scheduler: extenders[0].managedResources[1].name: duplicate "example.com/gpu"`},
		{"every problem reported", Config{PrioritizeVerb: "p", HTTPTimeout: "-1s"}, "extenders[2]",
			"scheduler: extenders[2].urlPrefix: required\n" +
				"scheduler: extenders[2].weight: must be positive when prioritizeVerb is set\n" +
				`scheduler: extenders[2].httpTimeout: must be positive, got "-1s"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate(tt.path)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Validate(%q) =\n%s\nwant\n%s", tt.path, got, tt.want)
			}
		})
	}
}

func TestValidateAll(t *testing.T) {
	t.Parallel()
	binder := Config{URLPrefix: "http://a/ext", BindVerb: "bind"}
	plain := Config{URLPrefix: "http://b/ext", FilterVerb: "filter"}
	if err := ValidateAll([]Config{plain, binder, plain}); err != nil {
		t.Errorf("ValidateAll with one binder: %v", err)
	}
	if err := ValidateAll(nil); err != nil {
		t.Errorf("ValidateAll(nil): %v", err)
	}
	err := ValidateAll([]Config{binder, {PrioritizeVerb: "p", Weight: 1, BindVerb: "bind"}, binder})
	want := "scheduler: extenders[1].urlPrefix: required\n" +
		"scheduler: extenders: at most one extender may set bindVerb, found 3 (extenders[0], extenders[1], extenders[2])"
	if err == nil || err.Error() != want {
		t.Errorf("ValidateAll =\n%v\nwant\n%s", err, want)
	}
	err = ValidateAll([]Config{binder, plain, binder})
	want = "scheduler: extenders: at most one extender may set bindVerb, found 2 (extenders[0], extenders[2])"
	if err == nil || err.Error() != want {
		t.Errorf("ValidateAll =\n%v\nwant\n%s", err, want)
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	_, err := New(Config{URLPrefix: "http://h/x", PrioritizeVerb: "p"})
	if want := "scheduler: extender.weight: must be positive when prioritizeVerb is set"; err == nil || err.Error() != want {
		t.Errorf("New error = %v, want %s", err, want)
	}
}

// kubeSchedulerConfig is the part of a KubeSchedulerConfiguration that
// holds extenders.
type kubeSchedulerConfig struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Extenders  []Config `json:"extenders"`
}

// A KubeSchedulerConfiguration's extenders decode strictly, every field
// landing where Kubernetes puts it. (Validate would reject this one: it
// sets both the file and the data of each TLS item, to check both.)
const kubeExtenders = `
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
extenders:
- urlPrefix: "https://gpu.example.com:8443/scheduler"
  filterVerb: filter
  preemptVerb: preempt
  prioritizeVerb: prioritize
  weight: 5
  bindVerb: bind
  enableHTTPS: true
  tlsConfig:
    insecure: true
    serverName: gpu.example.com
    certFile: /etc/kennel/extender.crt
    keyFile: /etc/kennel/extender.key
    caFile: /etc/kennel/ca.crt
    certData: Y2VydA==
    keyData: a2V5
    caData: Y2E=
  httpTimeout: 1m30s
  nodeCacheCapable: true
  managedResources:
  - name: example.com/gpu
    ignoredByScheduler: true
  - name: example.com/fpga
  ignorable: true
- urlPrefix: http://127.0.0.1:8888/
  filterVerb: filter
`

func TestDecodeKubernetesExtenderConfig(t *testing.T) {
	t.Parallel()
	var got kubeSchedulerConfig
	if err := yaml.UnmarshalStrict([]byte(kubeExtenders), &got); err != nil {
		t.Fatalf("UnmarshalStrict: %v", err)
	}
	want := []Config{{
		URLPrefix: "https://gpu.example.com:8443/scheduler", FilterVerb: "filter", PreemptVerb: "preempt",
		PrioritizeVerb: "prioritize", Weight: 5, BindVerb: "bind", EnableHTTPS: true,
		TLSConfig: &TLSConfig{
			Insecure: true, ServerName: "gpu.example.com",
			CertFile: "/etc/kennel/extender.crt", KeyFile: "/etc/kennel/extender.key", CAFile: "/etc/kennel/ca.crt",
			CertData: []byte("cert"), KeyData: []byte("key"), CAData: []byte("ca"),
		},
		HTTPTimeout: "1m30s", NodeCacheCapable: true,
		ManagedResources: []ManagedResource{{Name: "example.com/gpu", IgnoredByScheduler: true}, {Name: "example.com/fpga"}},
		Ignorable:        true,
	}, {URLPrefix: "http://127.0.0.1:8888/", FilterVerb: "filter"}}
	if !reflect.DeepEqual(got.Extenders, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", got.Extenders, want)
	}
	if err := ValidateAll(got.Extenders[1:]); err != nil {
		t.Errorf("ValidateAll(second extender): %v", err)
	}

	unknown := strings.Replace(kubeExtenders, "nodeCacheCapable:", "nodeCacheable:", 1)
	if err := yaml.UnmarshalStrict([]byte(unknown), &got); err == nil || !strings.Contains(err.Error(), `unknown field "nodeCacheable"`) {
		t.Errorf("UnmarshalStrict with an unknown field: %v, want an unknown field error", err)
	}
}

func TestManagedResourceIgnored(t *testing.T) {
	t.Parallel()
	got := ManagedResourceIgnored([]Config{
		{ManagedResources: []ManagedResource{{Name: "example.com/gpu", IgnoredByScheduler: true}, {Name: "example.com/fpga"}}},
		{},
		{ManagedResources: []ManagedResource{{Name: "kennel.io/storage-iops", IgnoredByScheduler: true}}},
	})
	want := map[string]bool{"example.com/gpu": true, "kennel.io/storage-iops": true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ManagedResourceIgnored = %v, want %v", got, want)
	}
}

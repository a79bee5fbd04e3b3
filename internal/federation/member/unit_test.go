package member

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

func decoded(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCovers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		have, want string
		covered    bool
	}{
		{"equal", `{"a":1,"b":"x"}`, `{"a":1,"b":"x"}`, true},
		{"defaults filled in", `{"a":1,"b":"x","c":[1]}`, `{"a":1}`, true},
		{"changed scalar", `{"a":2}`, `{"a":1}`, false},
		{"missing key", `{}`, `{"a":1}`, false},
		{"nested defaults", `{"s":{"c":[{"n":"x","pull":"IfNotPresent"}]}}`, `{"s":{"c":[{"n":"x"}]}}`, true},
		{"element removed", `{"c":[{"n":"x"},{"n":"y"}]}`, `{"c":[{"n":"x"}]}`, false},
		{"element added", `{"c":[{"n":"x"}]}`, `{"c":[{"n":"x"},{"n":"y"}]}`, false},
		{"null says nothing", `{"a":1}`, `{"a":null}`, true},
		{"empty object matches absence", `{}`, `{"a":{}}`, true},
		{"object against scalar", `{"a":1}`, `{"a":{"b":1}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := covers(decoded(t, tc.have), decoded(t, tc.want)); got != tc.covered {
				t.Errorf("covers(%s, %s) = %v, want %v", tc.have, tc.want, got, tc.covered)
			}
		})
	}
}

func node(name string, ready, cordoned bool, alloc v1.ResourceList, storage ...v1.NodeStorageDevice) *v1.Node {
	status := v1.ConditionFalse
	if ready {
		status = v1.ConditionTrue
	}
	return &v1.Node{ObjectMeta: v1.ObjectMeta{Name: name}, Spec: v1.NodeSpec{Unschedulable: cordoned},
		Status: v1.NodeStatus{Allocatable: alloc, Storage: storage, Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: status}}}}
}

func pod(nodeName string, phase v1.PodPhase, containers, inits []v1.ResourceList) *v1.Pod {
	p := &v1.Pod{Spec: v1.PodSpec{NodeName: nodeName}, Status: v1.PodStatus{Phase: phase}}
	for _, r := range containers {
		p.Spec.Containers = append(p.Spec.Containers, v1.Container{Resources: v1.ResourceRequirements{Requests: r}})
	}
	for _, r := range inits {
		p.Spec.InitContainers = append(p.Spec.InitContainers, v1.Container{Resources: v1.ResourceRequirements{Requests: r}})
	}
	return p
}

func rl(kv ...string) v1.ResourceList {
	out := v1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = resource.MustParse(kv[i+1])
	}
	return out
}

func TestComputeCapacity(t *testing.T) {
	t.Parallel()
	iops := resource.MustParse("500")
	disk := v1.NodeStorageDevice{Name: "d", Capacity: resource.MustParse("10Gi"), IOPS: &iops,
		Reserved: &v1.StorageReservation{Capacity: resource.MustParse("4Gi"), IOPS: resource.MustParse("200")}}
	nodes := []*v1.Node{
		node("a", true, false, rl("cpu", "2", "memory", "4Gi", "pods", "10"), disk),
		node("b", true, true, rl("cpu", "1")), // cordoned: offers, frees nothing
		node("c", false, false, rl("cpu", "8")),
	}
	pods := []*v1.Pod{
		// 300m + 200m, raised to the 1 cpu of an init container.
		pod("a", v1.PodRunning, []v1.ResourceList{rl("cpu", "300m", "memory", "1Gi"), rl("cpu", "200m")}, []v1.ResourceList{rl("cpu", "1")}),
		pod("a", v1.PodSucceeded, []v1.ResourceList{rl("cpu", "1")}, nil),
		pod("c", v1.PodRunning, []v1.ResourceList{rl("cpu", "1")}, nil),
		// More than the node has: its free amount stops at zero.
		pod("a", v1.PodPending, []v1.ResourceList{rl("memory", "5Gi")}, nil),
	}
	c := computeCapacity(nodes, pods)
	if c.Nodes != 3 || c.ReadyNodes != 2 {
		t.Errorf("nodes = %d ready = %d, want 3 and 2", c.Nodes, c.ReadyNodes)
	}
	check := func(what string, got v1.ResourceList, want map[string]string) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
		for name, w := range want {
			if q, ok := got[name]; !ok || q.Cmp(resource.MustParse(w)) != 0 {
				t.Errorf("%s[%s] = %v, want %s", what, name, got[name], w)
			}
		}
	}
	check("allocatable", c.Allocatable, map[string]string{"cpu": "3", "memory": "4Gi", "storage": "10Gi", v1.ResourceStorageIOPS: "500"})
	check("free", c.Free, map[string]string{"cpu": "1", "memory": "0", "storage": "6Gi", v1.ResourceStorageIOPS: "300"})
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	c, err := client.New(client.Config{Server: "https://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	valid := Config{Federation: c, Member: c, Cluster: "east", Region: "us-east", Zones: []string{"a"}}
	for _, tc := range []struct {
		name   string
		change func(*Config)
		field  string // "" for valid
	}{
		{"valid", func(*Config) {}, ""},
		{"no federation client", func(c *Config) { c.Federation = nil }, "Config.Federation"},
		{"no cluster", func(c *Config) { c.Cluster = "" }, "Config.Cluster"},
		{"cluster not a DNS label", func(c *Config) { c.Cluster = "East_1" }, "Config.Cluster"},
		{"no region", func(c *Config) { c.Region = "" }, "Config.Region"},
		{"bad zone", func(c *Config) { c.Zones = []string{"a", "B!"} }, "Config.Zones[1]"},
		{"bad label", func(c *Config) { c.Labels = map[string]string{"tier": "not ok!"} }, "Config.Labels"},
		{"bad endpoint", func(c *Config) { c.APIEndpoint = "member:6443" }, "Config.APIEndpoint"},
		{"negative interval", func(c *Config) { c.StatusInterval = -time.Second }, "Config.StatusInterval"},
		{"negative stop margin", func(c *Config) { c.StopMargin = -time.Second }, "Config.StopMargin"},
		{"lease shorter than renewal", func(c *Config) { c.RenewInterval, c.LeaseDuration = 10*time.Second, 5*time.Second }, "Config.LeaseDuration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid
			tc.change(&cfg)
			err := cfg.Validate()
			switch {
			case tc.field == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tc.field != "" && (err == nil || !strings.Contains(err.Error(), "member: "+tc.field)):
				t.Errorf("Validate() = %v, want an error about %s", err, tc.field)
			}
		})
	}
}

func TestAgentConfigFromSecret(t *testing.T) {
	t.Parallel()
	c, err := client.New(client.Config{Server: "https://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	s := NewSupervisor(c, nil)
	secret := func(data map[string]string) *v1.Secret {
		out := &v1.Secret{Data: map[string][]byte{}}
		for k, v := range data {
			out.Data[k] = []byte(v)
		}
		return out
	}
	full := map[string]string{v1.JoinURL: "https://fed.example.org:6443", v1.JoinToken: "t", v1.JoinCluster: "east",
		v1.JoinRegion: "us-east", v1.JoinZones: " a, b ,", v1.JoinLabels: `{"tier":"gold"}`}
	cfg, err := s.agentConfig(secret(full))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cluster != "east" || cfg.Region != "us-east" || strings.Join(cfg.Zones, ",") != "a,b" || cfg.Labels["tier"] != "gold" ||
		cfg.Federation.Server() != "https://fed.example.org:6443" || cfg.Member != c {
		t.Errorf("config = %+v", cfg)
	}
	for key, bad := range map[string]string{v1.JoinURL: "", v1.JoinToken: "", v1.JoinRegion: "", v1.JoinLabels: `["x"]`, v1.JoinCluster: "East!"} {
		data := map[string]string{}
		for k, v := range full {
			data[k] = v
		}
		data[key] = bad
		if _, err := s.agentConfig(secret(data)); err == nil {
			t.Errorf("%s = %q: no error", key, bad)
		}
	}
	if fingerprint(secret(full)) != fingerprint(secret(full)) {
		t.Error("the fingerprint of one content differs")
	}
	changed := secret(full)
	changed.Data[v1.JoinLabels] = []byte(`{"tier":"silver"}`)
	if fingerprint(changed) == fingerprint(secret(full)) {
		t.Error("the fingerprint does not see a changed value")
	}
}

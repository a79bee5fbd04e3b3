package placement

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// resources is a ResourceList from name=quantity pairs.
func resources(pairs ...string) v1.ResourceList {
	rl := v1.ResourceList{}
	for i := 0; i < len(pairs); i += 2 {
		rl[pairs[i]] = resource.MustParse(pairs[i+1])
	}
	return rl
}

func TestFitReplicas(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		free, each v1.ResourceList
		want       int64
	}{
		{"cpu in millicores", resources("cpu", "2"), resources("cpu", "300m"), 6},
		{"the scarcest resource limits", resources("cpu", "8", "memory", "3Gi"), resources("cpu", "1", "memory", "1Gi"), 3},
		{"a resource not requested does not limit", resources("cpu", "1", "memory", "0"), resources("cpu", "500m"), 2},
		{"a zero request does not limit", resources("cpu", "1"), resources("cpu", "500m", "memory", "0"), 2},
		{"a requested resource not offered allows none", resources("cpu", "8"), resources("cpu", "1", v1.ResourceStorageIOPS, "100"), 0},
		{"kennel resources", resources(v1.ResourceStorageIOPS, "1000", v1.ResourceNetworkBandwidth, "1G"),
			resources(v1.ResourceStorageIOPS, "300", v1.ResourceNetworkBandwidth, "100M"), 3},
		{"negative free allows none", resources("cpu", "-1"), resources("cpu", "1"), 0},
		{"nothing requested", resources("cpu", "1"), nil, Unlimited},
		{"capped at Unlimited", resources("memory", "1Ei"), resources("memory", "1"), Unlimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := FitReplicas(tt.free, tt.each); got != tt.want {
				t.Errorf("FitReplicas = %d, want %d", got, tt.want)
			}
		})
	}
}

const petSetJSON = `{
  "apiVersion": "apps/v1", "kind": "%s",
  "metadata": {"name": "db"},
  "spec": {
    "replicas": 3,
    "selector": {"matchLabels": {"app": "db"}},
    "template": {"metadata": {"labels": {"app": "db"}}, "spec": {
      "initContainers": [
        {"name": "init", "image": "i", "resources": {"requests": {"cpu": "1", "memory": "64Mi"}}}
      ],
      "containers": [
        {"name": "db", "image": "d", "resources": {"requests": {"cpu": "250m", "memory": "1Gi", "kennel.io/network-bandwidth": "100M"}}},
        {"name": "sidecar", "image": "s", "resources": {"requests": {"cpu": "250m", "memory": "128Mi"}}}
      ]
    }},
    "volumeClaimTemplates": [
      {"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": "10Gi", "kennel.io/storage-iops": "500"}}}},
      {"metadata": {"name": "wal"}, "spec": {"resources": {"requests": {"storage": "2Gi", "kennel.io/storage-iops": "100", "kennel.io/storage-bandwidth": "50M"}}}}
    ]
  }
}`

func TestPerReplica(t *testing.T) {
	t.Parallel()
	pet := resources("cpu", "1", "memory", "1152Mi", v1.ResourceNetworkBandwidth, "100M",
		"storage", "12Gi", v1.ResourceStorageIOPS, "600", v1.ResourceStorageBandwidth, "50M")
	tests := []struct {
		name     string
		manifest string
		want     v1.ResourceList
	}{
		{"PetSet: containers, init containers and claims", strings.Replace(petSetJSON, "%s", "PetSet", 1), pet},
		{"StatefulSet is a PetSet", strings.Replace(petSetJSON, "%s", "StatefulSet", 1), pet},
		{"Deployment", `{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {
			"selector": {"matchLabels": {"app": "web"}},
			"template": {"spec": {"containers": [
				{"name": "a", "image": "a", "resources": {"requests": {"cpu": "100m"}}},
				{"name": "b", "image": "b", "resources": {"requests": {"cpu": "150m", "memory": "1Mi"}}}]}}}}`,
			resources("cpu", "250m", "memory", "1Mi")},
		{"no requests", `{"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{"name": "a"}]}}}}`, v1.ResourceList{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := PerReplica(json.RawMessage(tt.manifest))
			if err != nil {
				t.Fatalf("PerReplica: %v", err)
			}
			if !maps.EqualFunc(got, tt.want, func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 }) {
				t.Errorf("PerReplica = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPerReplicaErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, manifest, want string }{
		{"not JSON", `{`, "placement: decode manifest: unexpected end of JSON input"},
		{"no replicas", `{"kind": "ConfigMap"}`, `placement: kind "ConfigMap": only PetSets, StatefulSets and Deployments have replicas to divide`},
		{"bad quantity", `{"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{"name": "a", "resources": {"requests": {"cpu": "lots"}}}]}}}}`,
			"placement: decode Deployment: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := PerReplica(json.RawMessage(tt.manifest))
			if err == nil || err.Error() != tt.want {
				t.Errorf("PerReplica = %v, %v; want error %q", got, err, tt.want)
			}
		})
	}
}

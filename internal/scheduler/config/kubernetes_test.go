package config_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kennel-dev/kennel/internal/scheduler/config"
	"github.com/kennel-dev/kennel/internal/scheduler/extender"
)

// kubernetesConfig is a kube-scheduler configuration as clusters run it:
// Kubernetes-only settings, a profile that reweighs a default plugin and
// gives plugins args, a profile without scoring, and an extender.
const kubernetesConfig = `
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: /etc/kubernetes/scheduler.conf
leaderElection:
  leaderElect: true
  resourceNamespace: kube-system
  resourceName: kube-scheduler
percentageOfNodesToScore: 50
podInitialBackoffSeconds: 1
podMaxBackoffSeconds: 10
profiles:
- schedulerName: default-scheduler
  plugins:
    queueSort:
      enabled:
      - name: PrioritySort
    preScore:
      disabled:
      - name: '*'
    score:
      disabled:
      - name: ImageLocality
      enabled:
      - name: NodeResourcesFit
        weight: 5
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
        resources:
        - name: cpu
          weight: 1
        - name: memory
          weight: 1
  - name: DefaultPreemption
    args:
      minCandidateNodesPercentage: 10
      minCandidateNodesAbsolute: 100
- schedulerName: no-scoring-scheduler
  percentageOfNodesToScore: 100
  plugins:
    preScore:
      disabled:
      - name: '*'
    score:
      disabled:
      - name: '*'
extenders:
- urlPrefix: "http://127.0.0.1:8888/scheduler"
  filterVerb: filter
  prioritizeVerb: prioritize
  preemptVerb: preempt
  bindVerb: ""
  weight: 1
  enableHTTPS: false
  httpTimeout: 30s
  nodeCacheCapable: false
  managedResources:
  - name: example.com/foo
    ignoredByScheduler: true
  ignorable: true
`

func TestKubernetesConfigLoadsUnchanged(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "kube-scheduler.yaml")
	if err := os.WriteFile(path, []byte(kubernetesConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	c, warnings, err := config.Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	wantWarnings := []string{
		"clientConnection: ignored: the scheduler runs inside the control plane",
		"leaderElection: ignored: the control plane elects its leader itself",
		"podInitialBackoffSeconds: ignored: the scheduler's retry back-off is not configurable",
		"podMaxBackoffSeconds: ignored: the scheduler's retry back-off is not configurable",
	}
	if !reflect.DeepEqual(warnings, wantWarnings) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(warnings, "\n"), strings.Join(wantWarnings, "\n"))
	}
	if c.PercentageOfNodesToScore == nil || *c.PercentageOfNodesToScore != 50 {
		t.Errorf("percentageOfNodesToScore = %v, want 50", c.PercentageOfNodesToScore)
	}
	wantExt := []extender.Config{{
		URLPrefix: "http://127.0.0.1:8888/scheduler", FilterVerb: "filter", PrioritizeVerb: "prioritize",
		PreemptVerb: "preempt", Weight: 1, HTTPTimeout: "30s",
		ManagedResources: []extender.ManagedResource{{Name: "example.com/foo", IgnoredByScheduler: true}},
		Ignorable:        true,
	}}
	if !reflect.DeepEqual(c.Extenders, wantExt) {
		t.Errorf("extenders = %+v\nwant %+v", c.Extenders, wantExt)
	}
	var args struct {
		ScoringStrategy struct {
			Type string `json:"type"`
		} `json:"scoringStrategy"`
	}
	if err := json.Unmarshal(c.Profiles[0].Args("NodeResourcesFit"), &args); err != nil || args.ScoringStrategy.Type != "MostAllocated" {
		t.Errorf("NodeResourcesFit args = %s (%v), want scoringStrategy.type MostAllocated", c.Profiles[0].Args("NodeResourcesFit"), err)
	}
	if got := c.Profiles[0].Args("VolumeBinding"); got != nil {
		t.Errorf("VolumeBinding args = %s, want none", got)
	}

	profiles, warnings, err := c.ResolveProfiles(known)
	if err != nil {
		t.Fatalf("ResolveProfiles: %v", err)
	}
	wantWarnings = []string{
		"profiles[0].plugins.queueSort.enabled[0]: PrioritySort is a Kubernetes plugin and Kennel has no queueSort extension point; ignored",
		`profiles[0].pluginConfig[1]: plugin "DefaultPreemption" does not run in this profile; its args are ignored`,
	}
	if !reflect.DeepEqual(warnings, wantWarnings) {
		t.Errorf("resolve warnings:\n%s\nwant:\n%s", strings.Join(warnings, "\n"), strings.Join(wantWarnings, "\n"))
	}
	wantScore := withScore(func(s []weighted) []weighted {
		return append([]weighted{sw("NodeResourcesFit", 5)}, without(s, "NodeResourcesFit")...)
	})
	if got := profiles[0]; got.SchedulerName != "default-scheduler" || got.PercentageOfNodesToScore != 50 || !reflect.DeepEqual(got.Plugins, wantScore) {
		t.Errorf("profiles[0] = %s %d%%\n%+v\nwant default-scheduler 50%%\n%+v", got.SchedulerName, got.PercentageOfNodesToScore, got.Plugins, wantScore)
	}
	noScore := withScore(func([]weighted) []weighted { return nil })
	if got := profiles[1]; got.SchedulerName != "no-scoring-scheduler" || got.PercentageOfNodesToScore != 100 || !reflect.DeepEqual(got.Plugins, noScore) {
		t.Errorf("profiles[1] = %s %d%%\n%+v\nwant no-scoring-scheduler 100%%\n%+v", got.SchedulerName, got.PercentageOfNodesToScore, got.Plugins, noScore)
	}
}

// kubernetesDefaults is what kube-scheduler v1.30 writes with
// --write-config-to: every default plugin in multiPoint, weight 0 for
// "none", and the default args of its plugins, with apiVersion and kind.
const kubernetesDefaults = `apiVersion: kubescheduler.config.k8s.io/v1
clientConnection:
  acceptContentTypes: ""
  burst: 100
  contentType: application/vnd.kubernetes.protobuf
  kubeconfig: ""
  qps: 50
enableContentionProfiling: true
enableProfiling: true
kind: KubeSchedulerConfiguration
leaderElection:
  leaderElect: true
  leaseDuration: 15s
  renewDeadline: 10s
  resourceLock: leases
  resourceName: kube-scheduler
  resourceNamespace: kube-system
  retryPeriod: 2s
parallelism: 16
percentageOfNodesToScore: 0
podInitialBackoffSeconds: 1
podMaxBackoffSeconds: 10
profiles:
- pluginConfig:
  - args:
      apiVersion: kubescheduler.config.k8s.io/v1
      kind: DefaultPreemptionArgs
      minCandidateNodesAbsolute: 100
      minCandidateNodesPercentage: 10
    name: DefaultPreemption
  - args:
      apiVersion: kubescheduler.config.k8s.io/v1
      hardPodAffinityWeight: 1
      ignorePreferredTermsOfExistingPods: false
      kind: InterPodAffinityArgs
    name: InterPodAffinity
  - args:
      apiVersion: kubescheduler.config.k8s.io/v1
      kind: NodeAffinityArgs
    name: NodeAffinity
  - args:
      apiVersion: kubescheduler.config.k8s.io/v1
      kind: NodeResourcesBalancedAllocationArgs
      resources:
      - name: cpu
        weight: 1
      - name: memory
        weight: 1
    name: NodeResourcesBalancedAllocation
  - args:
      apiVersion: kubescheduler.config.k8s.io/v1
      kind: NodeResourcesFitArgs
      scoringStrategy:
        resources:
        - name: cpu
          weight: 1
        - name: memory
          weight: 1
        type: LeastAllocated
    name: NodeResourcesFit
  - args:
      apiVersion: kubescheduler.config.k8s.io/v1
      defaultingType: System
      kind: PodTopologySpreadArgs
    name: PodTopologySpread
  - args:
      apiVersion: kubescheduler.config.k8s.io/v1
      bindTimeoutSeconds: 600
      kind: VolumeBindingArgs
    name: VolumeBinding
  plugins:
    bind: {}
    filter: {}
    multiPoint:
      enabled:
      - name: SchedulingGates
        weight: 0
      - name: PrioritySort
        weight: 0
      - name: NodeUnschedulable
        weight: 0
      - name: NodeName
        weight: 0
      - name: TaintToleration
        weight: 3
      - name: NodeAffinity
        weight: 2
      - name: NodePorts
        weight: 0
      - name: NodeResourcesFit
        weight: 1
      - name: VolumeRestrictions
        weight: 0
      - name: NodeVolumeLimits
        weight: 0
      - name: VolumeBinding
        weight: 0
      - name: VolumeZone
        weight: 0
      - name: PodTopologySpread
        weight: 2
      - name: InterPodAffinity
        weight: 2
      - name: DefaultPreemption
        weight: 0
      - name: NodeResourcesBalancedAllocation
        weight: 1
      - name: ImageLocality
        weight: 1
      - name: DefaultBinder
        weight: 0
    permit: {}
    postBind: {}
    postFilter: {}
    preBind: {}
    preEnqueue: {}
    preFilter: {}
    preScore: {}
    queueSort: {}
    reserve: {}
    score: {}
  schedulerName: default-scheduler
`

// Kubernetes' own defaults, written out, load and resolve to Kennel's
// defaults: the plugins both have keep their weights, the others are
// skipped with a warning each.
func TestKubernetesDefaultsResolveToKennels(t *testing.T) {
	t.Parallel()
	c, warnings, err := config.Parse([]byte(kubernetesDefaults))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(warnings) != 7 { // clientConnection … podMaxBackoffSeconds
		t.Errorf("%d warnings, want 7 (one per Kubernetes-only field):\n%s", len(warnings), strings.Join(warnings, "\n"))
	}
	set, warnings, err := config.Resolve(c.Profiles[0], known)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if want := config.DefaultPlugins(); !reflect.DeepEqual(set, want) {
		t.Errorf("Resolve =\n%+v\nwant Kennel's defaults\n%+v", set, want)
	}
	var skipped []string
	for _, w := range warnings {
		if name, ok := strings.CutSuffix(w, " is a Kubernetes plugin Kennel does not have; ignored"); ok {
			skipped = append(skipped, name[strings.LastIndex(name, " ")+1:])
		}
	}
	wantSkipped := []string{"SchedulingGates", "PrioritySort", "NodeName", "NodePorts", "VolumeRestrictions", "NodeVolumeLimits", "VolumeZone", "DefaultPreemption", "ImageLocality"}
	if !reflect.DeepEqual(skipped, wantSkipped) {
		t.Errorf("skipped plugins %q, want %q", skipped, wantSkipped)
	}
	want := `pluginConfig[0]: plugin "DefaultPreemption" does not run in this profile; its args are ignored`
	if len(warnings) != len(wantSkipped)+1 || warnings[len(warnings)-1] != want {
		t.Errorf("warnings:\n%s\nwant the skipped plugins, then %s", strings.Join(warnings, "\n"), want)
	}
}

package cli_test

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/kennel-dev/kennel/internal/scheduler/config"
)

// runOffline runs a kennel command that needs no cluster.
func runOffline(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := runCommand(context.Background(), strings.NewReader(stdin), &out, &errOut, args)
	return result{out: out.String(), err: errOut.String(), code: code}
}

func TestSchedulerConfigDefaults(t *testing.T) {
	t.Parallel()
	r := runOffline(t, "", "scheduler", "config", "--defaults")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	wantContains(t, "output", r.out,
		"# Kennel's default scheduler configuration.",
		"apiVersion: kubescheduler.config.k8s.io/v1\n",
		"    filter:\n      disabled:\n      - name: '*'\n      enabled:\n      - name: NodeUnschedulable\n",
		"      - name: TaintToleration\n        weight: 3\n",
		"extenders: []\n")
	c, warnings, err := config.Parse([]byte(r.out))
	if err != nil || len(warnings) > 0 {
		t.Fatalf("the printed defaults do not load: %v %q", err, warnings)
	}
	if !reflect.DeepEqual(c, config.Default()) {
		t.Errorf("the printed defaults load as %+v, want config.Default()", c)
	}

	// --check reads them back, from standard input, without a warning.
	r = runOffline(t, r.out, "scheduler", "config", "--check", "-")
	if r.code != 0 || r.err != "" {
		t.Fatalf("--check of the defaults: exit %d: %s", r.code, r.err)
	}
	wantContains(t, "--check output", r.out, "profile default-scheduler (percentageOfNodesToScore: 0, adaptive)\n",
		"  Bind        DefaultBinder\n")
}

func TestSchedulerConfigCheck(t *testing.T) {
	t.Parallel()
	file := writeFile(t, t.TempDir(), "scheduler.yaml", `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
leaderElection:
  leaderElect: true
profiles:
- schedulerName: default-scheduler
  plugins:
    queueSort:
      enabled:
      - name: PrioritySort
    score:
      disabled:
      - name: '*'
      enabled:
      - name: NodeResourcesFit
        weight: 5
      - name: ImageLocality
        weight: 1
- schedulerName: spread
  percentageOfNodesToScore: 100
  plugins:
    multiPoint:
      disabled:
      - name: '*'
      enabled:
      - name: NodeReady
      - name: PodTopologySpread
        weight: 4
      - name: DefaultBinder
extenders:
- urlPrefix: http://127.0.0.1:8888/scheduler
  filterVerb: filter
  prioritizeVerb: prioritize
  weight: 2
  ignorable: true
`)
	r := runOffline(t, "", "scheduler", "config", "--check", file)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	wantLines(t, "output", r.out,
		"profile default-scheduler (percentageOfNodesToScore: 0, adaptive)",
		"  PreFilter   NodeResourcesFit, VolumeBinding, NetworkBandwidth, InterPodAffinity, PodTopologySpread",
		"  Filter      NodeUnschedulable, NodeReady, NodeAffinity, TaintToleration, NodeRuntime, VolumeBinding, NodeResourcesFit, NetworkBandwidth, InterPodAffinity, PodTopologySpread",
		"  Score       NodeResourcesFit (5)",
		"  Reserve     VolumeBinding",
		"  PreBind     VolumeBinding",
		"  Bind        DefaultBinder",
		"profile spread (percentageOfNodesToScore: 100)",
		"  PreFilter   PodTopologySpread",
		"  Filter      NodeReady, PodTopologySpread",
		"  Score       PodTopologySpread (4)",
		"  Reserve     <none>",
		"  PreBind     <none>",
		"  Bind        DefaultBinder",
		"extenders:",
		"  http://127.0.0.1:8888/scheduler   filter, prioritize (weight 2), ignorable",
	)
	wantLines(t, "warnings", r.err,
		"warning: leaderElection: ignored: the control plane elects its leader itself",
		"warning: profiles[0].plugins.queueSort.enabled[0]: PrioritySort is a Kubernetes plugin and Kennel has no queueSort extension point; ignored",
		"warning: profiles[0].plugins.score.enabled[1]: ImageLocality is a Kubernetes plugin Kennel does not have; ignored",
	)
}

func TestSchedulerConfigCheckInvalid(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name, file string
		wantErr    []string
	}{
		{
			name: "field errors",
			file: `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
parallelism: 8
percentageOfNodesToScore: 150
profiles:
- plugins:
    permit:
      enabled:
      - name: Coscheduling
    score:
      enabled:
      - name: NodeAffinity
        weight: 101
extenders:
- urlPrefix: ""
`,
			wantErr: []string{
				"warning: parallelism: ignored: the scheduler's parallelism is not configurable",
				"error: " + dir + "/bad.yaml is not valid:",
				"  scheduler: percentageOfNodesToScore: must be between 0 and 100, got 150",
				"  scheduler: profiles[0].plugins.score.enabled[0].weight: must be between 1 and 100 (0 means 1), got 101",
				`  scheduler: profiles[0].plugins.permit.enabled[0]: Kennel has no permit extension point (plugin "Coscheduling")`,
				"  scheduler: extenders[0].urlPrefix: required",
			},
		},
		{
			name: "unknown plugin",
			file: "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- plugins:\n    filter:\n      enabled:\n      - name: GPUFit\n",
			wantErr: []string{
				"error: " + dir + "/bad.yaml is not valid:",
				`  scheduler: profiles[0].plugins.filter.enabled[0]: unknown plugin "GPUFit"`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeFile(t, dir, "bad.yaml", tt.file)
			r := runOffline(t, "", "scheduler", "config", "--check", file)
			if r.code != 1 || r.out != "" {
				t.Errorf("exit %d, stdout %q; want 1 and nothing", r.code, r.out)
			}
			wantLines(t, "stderr", r.err, tt.wantErr...)
		})
	}
}

func TestSchedulerConfigFlags(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"scheduler", "config"}, "at least one of the flags in the group [defaults check] is required"},
		{[]string{"scheduler", "config", "--defaults", "--check", "f"}, "if any flags in the group [defaults check] are set none of the others can be"},
		{[]string{"scheduler", "config", "--check", "/nonexistent/scheduler.yaml"}, "/nonexistent/scheduler.yaml"},
	} {
		r := runOffline(t, "", tt.args...)
		if r.code == 0 || !strings.Contains(r.err, tt.want) {
			t.Errorf("kennel %s: exit %d, stderr %q; want failure with %q", strings.Join(tt.args, " "), r.code, r.err, tt.want)
		}
	}
}

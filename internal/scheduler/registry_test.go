package scheduler_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kennel-dev/kennel/internal/scheduler"
	"github.com/kennel-dev/kennel/internal/scheduler/config"
)

// TestBuildProfileChecksPluginArgs: plugin args from a configuration file
// reach each plugin, which accepts Kubernetes' apiVersion and its own
// kind, and refuses another kind or an unknown field, naming it.
func TestBuildProfileChecksPluginArgs(t *testing.T) {
	tests := []struct {
		plugin, args, wantErr string
	}{
		{"NodeResourcesFit", `{"apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "NodeResourcesFitArgs", "scoringStrategy": {"type": "MostAllocated"}}`, ""},
		{"PodTopologySpread", `{"kind": "InterPodAffinityArgs"}`, "PodTopologySpread args: kind"},
		{"VolumeBinding", `{"kind": "VolumeBindingArgs", "bindTimeoutSeconds": 600}`, ""},
		{"VolumeBinding", `{"shape": []}`, `unknown field "shape"`},
		{"NodeReady", `{"kind": "NodeReadyArgs"}`, ""},
		{"NodeReady", `{"ready": true}`, `unknown field "ready"`},
	}
	for _, tt := range tests {
		t.Run(tt.plugin+" "+tt.args, func(t *testing.T) {
			p := config.Default().Profiles[0]
			p.PluginConfig = []config.PluginConfig{{Name: tt.plugin, Args: json.RawMessage(tt.args)}}
			_, _, err := scheduler.BuildProfile(p, 0, nil, scheduler.Handle{})
			if tt.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

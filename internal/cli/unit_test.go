package cli

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// livePod is a pod as the cluster has it: scheduled, running, owned.
func livePod() *v1.Pod {
	yes := true
	owner := []v1.OwnerReference{{APIVersion: "kennel.io/v1", Kind: "PetSet", Name: "db", UID: "u1", Controller: &yes}}
	return &v1.Pod{
		ObjectMeta: v1.ObjectMeta{Name: "db-0", Namespace: "default", UID: "u2", ResourceVersion: "7", Generation: 3,
			Labels: map[string]string{"old": "1"}, Annotations: map[string]string{"a": "live", "b": "live"},
			Finalizers: []string{"f"}, OwnerReferences: owner},
		Spec:   v1.PodSpec{NodeName: "n1"},
		Status: v1.PodStatus{Phase: v1.PodRunning},
	}
}

func TestMergeLive(t *testing.T) {
	live := livePod()
	tests := []struct {
		name        string
		manifest    v1.ObjectMeta
		wantLabels  map[string]string
		wantAnn     map[string]string
		wantFinal   []string
		wantOwners  int
		wantNodeSet bool
	}{
		{
			name:       "manifest without metadata keeps cluster-owned fields",
			manifest:   v1.ObjectMeta{Name: "db-0"},
			wantAnn:    map[string]string{"a": "live", "b": "live"},
			wantFinal:  []string{"f"},
			wantOwners: 1,
		},
		{
			name:       "manifest labels replace, annotations merge over",
			manifest:   v1.ObjectMeta{Name: "db-0", Labels: map[string]string{"new": "2"}, Annotations: map[string]string{"b": "manifest", "c": "manifest"}},
			wantLabels: map[string]string{"new": "2"},
			wantAnn:    map[string]string{"a": "live", "b": "manifest", "c": "manifest"},
			wantFinal:  []string{"f"},
			wantOwners: 1,
		},
		{
			name:       "manifest finalizers and owners win",
			manifest:   v1.ObjectMeta{Name: "db-0", Finalizers: []string{"g"}, OwnerReferences: []v1.OwnerReference{}},
			wantAnn:    map[string]string{"a": "live", "b": "live"},
			wantFinal:  []string{"g"},
			wantOwners: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := &v1.Pod{ObjectMeta: tt.manifest}
			mergeLive(obj, live)
			m := obj.ObjectMeta
			if m.UID != "u2" || m.ResourceVersion != "7" || m.Generation != 3 {
				t.Errorf("system metadata not kept: %+v", m)
			}
			if !maps.Equal(m.Labels, tt.wantLabels) || !maps.Equal(m.Annotations, tt.wantAnn) {
				t.Errorf("labels %v annotations %v; want %v %v", m.Labels, m.Annotations, tt.wantLabels, tt.wantAnn)
			}
			if !slices.Equal(m.Finalizers, tt.wantFinal) || len(m.OwnerReferences) != tt.wantOwners {
				t.Errorf("finalizers %v owners %v", m.Finalizers, m.OwnerReferences)
			}
			if obj.Status.Phase != v1.PodRunning || obj.Spec.NodeName != "n1" {
				t.Errorf("status %q / node %q not kept", obj.Status.Phase, obj.Spec.NodeName)
			}
		})
	}
	if live.Annotations["b"] != "live" {
		t.Errorf("merge changed the live object's annotations: %v", live.Annotations)
	}
}

func TestPodStatus(t *testing.T) {
	waiting := func(r string) v1.ContainerState {
		return v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: r}}
	}
	running := v1.ContainerState{Running: &v1.ContainerStateRunning{}}
	completed := v1.ContainerState{Terminated: &v1.ContainerStateTerminated{Reason: "Completed"}}
	tests := []struct {
		name string
		pod  v1.Pod
		want string
	}{
		{"new", v1.Pod{}, "Pending"},
		{"running", v1.Pod{Status: v1.PodStatus{Phase: v1.PodRunning, ContainerStatuses: []v1.ContainerStatus{{State: running}}}}, "Running"},
		{"crashing", v1.Pod{Status: v1.PodStatus{Phase: v1.PodRunning, ContainerStatuses: []v1.ContainerStatus{{State: waiting("CrashLoopBackOff")}}}}, "CrashLoopBackOff"},
		{"exited", v1.Pod{Status: v1.PodStatus{Phase: v1.PodFailed, ContainerStatuses: []v1.ContainerStatus{{State: v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: 3}}}}}}, "ExitCode:3"},
		{"init", v1.Pod{Spec: v1.PodSpec{InitContainers: []v1.Container{{}, {}}}, Status: v1.PodStatus{InitContainerStatuses: []v1.ContainerStatus{
			{State: v1.ContainerState{Terminated: &v1.ContainerStateTerminated{}}}, {State: running}}}}, "Init:1/2"},
		{"init not started", v1.Pod{Spec: v1.PodSpec{InitContainers: []v1.Container{{}, {}}}, Status: v1.PodStatus{Phase: v1.PodPending,
			InitContainerStatuses: []v1.ContainerStatus{{State: waiting("PodInitializing")}, {State: waiting("PodInitializing")}},
			ContainerStatuses:     []v1.ContainerStatus{{State: waiting("PodInitializing")}}}}, "Init:0/2"},
		{"init first running", v1.Pod{Spec: v1.PodSpec{InitContainers: []v1.Container{{}, {}}}, Status: v1.PodStatus{Phase: v1.PodPending,
			InitContainerStatuses: []v1.ContainerStatus{{State: running}, {State: waiting("PodInitializing")}},
			ContainerStatuses:     []v1.ContainerStatus{{State: waiting("PodInitializing")}}}}, "Init:0/2"},
		{"init crash loop", v1.Pod{Spec: v1.PodSpec{InitContainers: []v1.Container{{}, {}}}, Status: v1.PodStatus{Phase: v1.PodPending,
			InitContainerStatuses: []v1.ContainerStatus{{State: completed}, {State: waiting("CrashLoopBackOff")}},
			ContainerStatuses:     []v1.ContainerStatus{{State: waiting("PodInitializing")}}}}, "Init:CrashLoopBackOff"},
		{"init failed", v1.Pod{Spec: v1.PodSpec{InitContainers: []v1.Container{{}}}, Status: v1.PodStatus{Phase: v1.PodFailed,
			InitContainerStatuses: []v1.ContainerStatus{{State: v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}}},
			ContainerStatuses:     []v1.ContainerStatus{{State: waiting("PodInitializing")}}}}, "Init:Error"},
		{"init killed", v1.Pod{Spec: v1.PodSpec{InitContainers: []v1.Container{{}}}, Status: v1.PodStatus{Phase: v1.PodFailed,
			InitContainerStatuses: []v1.ContainerStatus{{State: v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: 137, Signal: 9}}}}}}, "Init:Signal:9"},
		{"initialized", v1.Pod{Spec: v1.PodSpec{InitContainers: []v1.Container{{}, {}}}, Status: v1.PodStatus{Phase: v1.PodPending,
			InitContainerStatuses: []v1.ContainerStatus{{State: completed}, {State: completed}},
			ContainerStatuses:     []v1.ContainerStatus{{State: waiting("PodInitializing")}}}}, "PodInitializing"},
		{"initialized running", v1.Pod{Spec: v1.PodSpec{InitContainers: []v1.Container{{}}}, Status: v1.PodStatus{Phase: v1.PodRunning,
			InitContainerStatuses: []v1.ContainerStatus{{State: completed}},
			ContainerStatuses:     []v1.ContainerStatus{{State: running}}}}, "Running"},
		{"deleting", v1.Pod{ObjectMeta: v1.ObjectMeta{DeletionTimestamp: v1.Now()}, Status: v1.PodStatus{Phase: v1.PodRunning}}, "Terminating"},
		{"evicted", v1.Pod{Status: v1.PodStatus{Phase: v1.PodFailed, Reason: "Evicted"}}, "Evicted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := podStatus(&tt.pod); got != tt.want {
				t.Errorf("podStatus = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAge(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		ago  time.Duration
		want string
	}{
		{5 * time.Second, "5s"},
		{3 * time.Minute, "3m"},
		{90 * time.Minute, "90m"},
		{51*time.Hour + 10*time.Minute, "2d3h"},
		{-time.Second, "0s"},
	}
	for _, tt := range tests {
		if got := age(v1.NewTime(now.Add(-tt.ago)), now); got != tt.want {
			t.Errorf("age(%v ago) = %q, want %q", tt.ago, got, tt.want)
		}
	}
	if got := age(nil, now); got != "<unknown>" {
		t.Errorf("age(nil) = %q", got)
	}
}

func TestParseGetArgs(t *testing.T) {
	g := &globalOptions{}
	tests := []struct {
		args []string
		want string // kinds and names, or the error
	}{
		{[]string{"po"}, "pods[]"},
		{[]string{"sts", "db"}, "petsets[db]"},
		{[]string{"StatefulSets"}, "petsets[]"},
		{[]string{"svc,ep"}, "services[] endpoints[]"},
		{[]string{"pod/a", "pod/b", "svc/c"}, "pods[a b] services[c]"},
		{[]string{"foo"}, `the server doesn't have a resource type "foo"`},
		{[]string{"pod/a", "b"}, `"b": mix of KIND/NAME and KIND NAME arguments: give every object as KIND/NAME`},
	}
	for _, tt := range tests {
		reqs, err := parseGetArgs(g, tt.args)
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			var parts []string
			for _, r := range reqs {
				parts = append(parts, fmt.Sprintf("%s%v", r.kind.Resource, r.names))
			}
			got = strings.Join(parts, " ")
		}
		if got != tt.want {
			t.Errorf("parseGetArgs(%v) = %s, want %s", tt.args, got, tt.want)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{errors.New("plain"), "plain"},
		{v1.NewError(v1.ReasonForbidden, "viewer cannot create pods"), "forbidden: viewer cannot create pods"},
		{fmt.Errorf("pod/x: %w", v1.NewError(v1.ReasonUnauthorized, "no token")), "unauthorized: pod/x: no token"},
		{v1.NewError(v1.ReasonForbidden, "Forbidden: already said"), "Forbidden: already said"},
		{v1.NewError(v1.ReasonNotFound, `pods "x" not found`), `pods "x" not found`},
	}
	for _, tt := range tests {
		if got := errorMessage(tt.err); got != tt.want {
			t.Errorf("errorMessage(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestTableAlignsLaterRows(t *testing.T) {
	var b strings.Builder
	tab := &table{w: &b}
	tab.print([][]string{{"NAME", "AGE"}, {"a", "1s"}})
	tab.printRow([]string{"b", "2s"})
	want := "NAME   AGE\na      1s\nb      2s\n"
	if b.String() != want {
		t.Errorf("table:\n%q\nwant\n%q", b.String(), want)
	}
}

func TestPodRestartsCountInitContainers(t *testing.T) {
	p := &v1.Pod{Status: v1.PodStatus{
		InitContainerStatuses: []v1.ContainerStatus{{Name: "init", RestartCount: 2}},
		ContainerStatuses:     []v1.ContainerStatus{{Name: "main", RestartCount: 1}},
	}}
	if got := podRestarts(p, time.Now()); got != "3" {
		t.Fatalf("podRestarts = %q, want 3", got)
	}
}

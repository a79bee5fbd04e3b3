package member

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

func fenceable(period string) v1.PodTemplateSpec {
	t := v1.PodTemplateSpec{ObjectMeta: v1.ObjectMeta{Labels: map[string]string{"app": "db", LabelFenced: "true"}}}
	if period != "" {
		t.Annotations = map[string]string{AnnotationFencingPeriod: period}
	}
	return t
}

func TestFencingOf(t *testing.T) {
	t.Parallel()
	plain := v1.PodTemplateSpec{ObjectMeta: v1.ObjectMeta{Labels: map[string]string{"app": "db"}}}
	for _, tc := range []struct {
		name   string
		obj    v1.Object
		period time.Duration
		ok     bool
	}{
		{"PetSet with a period", &v1.PetSet{Spec: v1.PetSetSpec{Template: fenceable("20s")}}, 20 * time.Second, true},
		{"Deployment with a period", &v1.Deployment{Spec: v1.DeploymentSpec{Template: fenceable("1m")}}, time.Minute, true},
		{"no period", &v1.PetSet{Spec: v1.PetSetSpec{Template: fenceable("")}}, v1.DefaultFencingPeriod, true},
		{"not a duration", &v1.PetSet{Spec: v1.PetSetSpec{Template: fenceable("soon")}}, v1.DefaultFencingPeriod, true},
		{"negative", &v1.PetSet{Spec: v1.PetSetSpec{Template: fenceable("-1s")}}, v1.DefaultFencingPeriod, true},
		{"not fenceable", &v1.PetSet{Spec: v1.PetSetSpec{Template: plain}}, 0, false},
		{"not a workload", &v1.ConfigMap{}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			period, ok := fencingOf(tc.obj)
			if period != tc.period || ok != tc.ok {
				t.Errorf("fencingOf = %s, %v; want %s, %v", period, ok, tc.period, tc.ok)
			}
		})
	}
}

func TestStopGraceAndMargin(t *testing.T) {
	t.Parallel()
	grace := func(g *int64) *v1.Pod { return &v1.Pod{Spec: v1.PodSpec{TerminationGracePeriodSeconds: g}} }
	n := func(v int64) *int64 { return &v }
	for _, tc := range []struct {
		pod  *v1.Pod
		want int64
	}{{grace(nil), 5}, {grace(n(30)), 5}, {grace(n(2)), 2}, {grace(n(0)), 1}} {
		if got := stopGrace(tc.pod); got != tc.want {
			t.Errorf("stopGrace(%v) = %d, want %d", tc.pod.Spec.TerminationGracePeriodSeconds, got, tc.want)
		}
	}
	f := &fencing{a: &agent{cfg: Config{StopMargin: 5 * time.Second}}}
	for period, want := range map[time.Duration]time.Duration{15 * time.Second: 5 * time.Second, 4 * time.Second: 2 * time.Second} {
		if got := f.stopMargin(period); got != want {
			t.Errorf("stopMargin(%s) = %s, want %s", period, got, want)
		}
	}
}

func TestZeroReplicas(t *testing.T) {
	t.Parallel()
	for manifest, want := range map[string]bool{
		`{"kind":"PetSet","spec":{"replicas":0}}`: true,
		`{"kind":"PetSet","spec":{"replicas":3}}`: false,
		`{"kind":"PetSet","spec":{}}`:             false,
		`{"kind":"ConfigMap","data":{}}`:          false,
	} {
		if got := zeroReplicas(&v1.Work{Spec: v1.WorkSpec{Manifest: json.RawMessage(manifest)}}); got != want {
			t.Errorf("zeroReplicas(%s) = %v, want %v", manifest, got, want)
		}
	}
}

func TestFencedCondition(t *testing.T) {
	t.Parallel()
	ps := &v1.PetSet{Spec: v1.PetSetSpec{Template: fenceable("15s")}}
	var conds []v1.Condition
	fencedCondition(&conds, ps, 1)
	if len(conds) != 0 {
		t.Fatalf("a workload never fenced got %+v", conds)
	}
	ps.Annotations = map[string]string{AnnotationFencedAt: "2030-01-01T00:00:10Z"}
	fencedCondition(&conds, ps, 1)
	if len(conds) != 1 || conds[0].Status != v1.ConditionTrue || !strings.Contains(conds[0].Message, "2030-01-01T00:00:10Z") {
		t.Fatalf("fenced: %+v", conds)
	}
	ps.Annotations = nil
	fencedCondition(&conds, ps, 2)
	if len(conds) != 1 || conds[0].Status != v1.ConditionFalse || conds[0].Reason != ReasonFenceLifted {
		t.Fatalf("lifted: %+v", conds)
	}
	cm := &v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Annotations: map[string]string{AnnotationFencedAt: "x"}}}
	var none []v1.Condition
	if fencedCondition(&none, cm, 1); len(none) != 0 {
		t.Errorf("a ConfigMap got %+v", none)
	}
}

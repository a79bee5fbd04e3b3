package cli_test

import (
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// podTemplate is a template labelled app=name whose container runs cmd.
func podTemplate(name string, cmd ...string) v1.PodTemplateSpec {
	return v1.PodTemplateSpec{
		ObjectMeta: v1.ObjectMeta{Labels: map[string]string{"app": name}},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "main", Command: cmd}}},
	}
}

// createPetSet creates PetSet name with replicas pets in the default
// namespace.
func (e *env) createPetSet(name string, replicas int32) *v1.PetSet {
	e.t.Helper()
	s := &v1.PetSet{
		ObjectMeta: v1.ObjectMeta{Name: name},
		Spec: v1.PetSetSpec{Replicas: &replicas, ServiceName: name,
			Selector: &v1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: podTemplate(name, "sleep", "1000")},
	}
	s, err := client.For[*v1.PetSet](e.tc.Admin, "default").Create(e.ctx(), s)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// createDeployment creates Deployment name in the default namespace.
func (e *env) createDeployment(name string, replicas int32) *v1.Deployment {
	e.t.Helper()
	d := &v1.Deployment{
		ObjectMeta: v1.ObjectMeta{Name: name},
		Spec: v1.DeploymentSpec{Replicas: &replicas,
			Selector: &v1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: podTemplate(name, "sleep", "1000")},
	}
	d, err := client.For[*v1.Deployment](e.tc.Admin, "default").Create(e.ctx(), d)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func (e *env) petSet(name string) *v1.PetSet {
	e.t.Helper()
	s, err := client.For[*v1.PetSet](e.tc.Admin, "default").Get(e.ctx(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func TestScale(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	gen := e.createPetSet("db", 3).Generation
	e.createDeployment("web", 1)

	steps := []struct {
		args    []string
		want    string
		db      int32
		changed bool
	}{
		{[]string{"scale", "petset", "db", "--replicas", "5"}, "petset.apps/db scaled", 5, true},
		{[]string{"scale", "sts/db", "--replicas", "0"}, "statefulset.apps/db scaled", 0, true},
		{[]string{"scale", "statefulsets", "db", "--replicas", "2"}, "statefulset.apps/db scaled", 2, true},
		{[]string{"scale", "ps/db", "--replicas", "2"}, "petset.apps/db scaled", 2, false},
	}
	for _, s := range steps {
		wantLines(t, "kennel "+s.args[1], e.mustRun(s.args...), s.want)
		got := e.petSet("db")
		if got.Spec.Replicas == nil || *got.Spec.Replicas != s.db {
			t.Errorf("after %v: spec.replicas = %v, want %d", s.args, got.Spec.Replicas, s.db)
		}
		if s.changed && got.Generation <= gen {
			t.Errorf("after %v: generation %d not bumped (was %d): the controller would not see the change", s.args, got.Generation, gen)
		}
		gen = got.Generation
	}

	wantLines(t, "scale deployment", e.mustRun("scale", "deployment", "web", "--replicas", "3"), "deployment.apps/web scaled")
	d, err := client.For[*v1.Deployment](e.tc.Admin, "default").Get(e.ctx(), "web")
	if err != nil || d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
		t.Errorf("deployment web: %v, err %v; want 3 replicas", d.Spec.Replicas, err)
	}

	failures := []struct {
		args  []string
		wants []string
	}{
		{[]string{"petset", "nope", "--replicas", "1"}, []string{"petset.apps/nope", "namespace default", "not found"}},
		{[]string{"pods", "x", "--replicas", "1"}, []string{`pods "x": only petsets and deployments`}},
		{[]string{"petset", "db"}, []string{"--replicas is required"}},
		{[]string{"petset", "db", "--replicas", "-1"}, []string{"--replicas -1"}},
		{[]string{"petset", "--replicas", "1"}, []string{"name the object"}},
		{[]string{"sts/db", "db", "--replicas", "1"}, []string{"not both"}},
		{[]string{"gadgets", "db", "--replicas", "1"}, []string{`resource type "gadgets"`}},
	}
	for _, f := range failures {
		wantContains(t, "scale "+f.args[0], e.mustFail(append([]string{"scale"}, f.args...)...), f.wants...)
	}
	if got := e.petSet("db"); *got.Spec.Replicas != 2 {
		t.Errorf("a failed scale changed db to %d replicas", *got.Spec.Replicas)
	}
}

package v1

import (
	"reflect"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
)

func TestClone(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	objs, err := r.Decode(readTestdata(t, "pod.json"))
	if err != nil {
		t.Fatal(err)
	}
	orig := objs[0].(*Pod)
	c := Clone(orig)
	if !reflect.DeepEqual(orig, c) || jsonOf(t, orig) != jsonOf(t, c) {
		t.Fatal("clone differs from the original")
	}
	c.Labels["x"] = "y"
	c.Spec.Containers[0].Args[0] = "changed"
	c.Spec.Containers[0].Resources.Requests["cpu"] = resource.MustParse("9")
	*c.Spec.TerminationGracePeriodSeconds = 1
	c.OwnerReferences[0].Name = "other"
	c.Status.StartTime.Time = time.Time{}
	if _, ok := orig.Labels["x"]; ok ||
		orig.Spec.Containers[0].Args[0] == "changed" ||
		orig.Spec.Containers[0].Resources.Requests.CPU().String() != "250m" ||
		*orig.Spec.TerminationGracePeriodSeconds != 30 ||
		orig.OwnerReferences[0].Name != "redis" ||
		orig.Status.StartTime.IsZero() {
		t.Error("changing the clone changed the original")
	}
	rev := &ControllerRevision{Data: []byte(`{"a":1}`)}
	rc := Clone(rev)
	rc.Data[1] = 'X'
	if string(rev.Data) != `{"a":1}` {
		t.Error("raw data shared")
	}
	var nilPod *Pod
	if Clone(nilPod) != nil {
		t.Error("Clone(nil) is not nil")
	}
}

func TestObjectKey(t *testing.T) {
	t.Parallel()
	if k := ObjectKey(&Pod{ObjectMeta: ObjectMeta{Namespace: "ns", Name: "p"}}); k != "ns/p" {
		t.Errorf("got %q", k)
	}
	if k := ObjectKey(&Node{ObjectMeta: ObjectMeta{Name: "n"}}); k != "n" {
		t.Errorf("got %q", k)
	}
}

func TestLabelSelector(t *testing.T) {
	t.Parallel()
	l := map[string]string{"app": "db", "tier": "cache"}
	tests := []struct {
		name    string
		sel     *LabelSelector
		matches bool
		wantErr bool
	}{
		{"nil selects nothing", nil, false, false},
		{"empty selects everything", &LabelSelector{}, true, false},
		{"matchLabels", &LabelSelector{MatchLabels: map[string]string{"app": "db"}}, true, false},
		{"matchLabels miss", &LabelSelector{MatchLabels: map[string]string{"app": "web"}}, false, false},
		{"In", &LabelSelector{MatchExpressions: []LabelSelectorRequirement{{Key: "tier", Operator: LabelSelectorOpIn, Values: []string{"cache", "db"}}}}, true, false},
		{"NotIn", &LabelSelector{MatchExpressions: []LabelSelectorRequirement{{Key: "tier", Operator: LabelSelectorOpNotIn, Values: []string{"cache"}}}}, false, false},
		{"Exists", &LabelSelector{MatchExpressions: []LabelSelectorRequirement{{Key: "app", Operator: LabelSelectorOpExists}}}, true, false},
		{"DoesNotExist", &LabelSelector{MatchExpressions: []LabelSelectorRequirement{{Key: "app", Operator: LabelSelectorOpDoesNotExist}}}, false, false},
		{"bad operator", &LabelSelector{MatchExpressions: []LabelSelectorRequirement{{Key: "app", Operator: "Near"}}}, false, true},
		{"bad key", &LabelSelector{MatchLabels: map[string]string{"-": "x"}}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sel, err := tt.sel.AsSelector()
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err == nil && sel.Matches(labelsSet(l)) != tt.matches {
				t.Errorf("Matches = %v", !tt.matches)
			}
			if tt.sel.Matches(l) != tt.matches {
				t.Errorf("LabelSelector.Matches = %v", !tt.matches)
			}
		})
	}
}

func TestPodConditions(t *testing.T) {
	t.Parallel()
	p := &Pod{}
	if IsPodReady(p) || GetPodCondition(&p.Status, PodReady) != nil {
		t.Fatal("empty pod is ready")
	}
	if !SetPodCondition(&p.Status, PodCondition{Type: PodReady, Status: ConditionFalse}) {
		t.Fatal("adding a condition reported no change")
	}
	first := p.Status.Conditions[0].LastTransitionTime
	if first == nil {
		t.Fatal("no transition time")
	}
	if SetPodCondition(&p.Status, PodCondition{Type: PodReady, Status: ConditionFalse}) {
		t.Error("same condition reported a change")
	}
	since := NewTime(time.Now().Add(-time.Minute))
	SetPodCondition(&p.Status, PodCondition{Type: PodReady, Status: ConditionTrue, LastTransitionTime: since})
	if !IsPodReady(p) || len(p.Status.Conditions) != 1 {
		t.Fatalf("conditions: %+v", p.Status.Conditions)
	}
	SetPodCondition(&p.Status, PodCondition{Type: PodReady, Status: ConditionTrue, Reason: "Probed"})
	if got := GetPodCondition(&p.Status, PodReady).LastTransitionTime; !got.Equal(since.Time) {
		t.Errorf("transition time moved without a transition: %v", got)
	}
	now := time.Now()
	if !IsPodAvailable(p, 30, now) || IsPodAvailable(p, 120, now) || !IsPodAvailable(p, 0, now) {
		t.Error("IsPodAvailable is wrong")
	}
}

func TestOwnerReferences(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	k, _ := r.ByKind("StatefulSet")
	set := &PetSet{ObjectMeta: ObjectMeta{Name: "db", Namespace: "ns", UID: "u1"}}
	ref := NewControllerRef(set, k)
	want := OwnerReference{APIVersion: "kennel.io/v1", Kind: "PetSet", Name: "db", UID: "u1", Controller: ptr(true), BlockOwnerDeletion: ptr(true)}
	if !reflect.DeepEqual(*ref, want) {
		t.Errorf("got %+v", ref)
	}
	pod := &Pod{ObjectMeta: ObjectMeta{OwnerReferences: []OwnerReference{{Name: "other", UID: "u0"}, *ref}}}
	if !IsControlledBy(pod, set) || GetControllerOf(pod).Name != "db" {
		t.Error("pod not controlled by its set")
	}
	if IsControlledBy(pod, &PetSet{ObjectMeta: ObjectMeta{UID: "u0"}}) {
		t.Error("a non-controller owner controls")
	}
	if IsControlledBy(&Pod{}, set) {
		t.Error("an orphan is controlled")
	}
}

func TestRegistry(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	tests := []struct{ name, kind string }{
		{"po", "Pod"}, {"pods", "Pod"}, {"svc", "Service"}, {"ep", "Endpoints"}, {"ps", "PetSet"}, {"sts", "PetSet"},
		{"statefulsets", "PetSet"}, {"StatefulSet", "PetSet"}, {"petset", "PetSet"}, {"deploy", "Deployment"},
		{"pvc", "PersistentVolumeClaim"}, {"pv", "PersistentVolume"}, {"sc", "StorageClass"}, {"no", "Node"},
		{"ns", "Namespace"}, {"ev", "Event"}, {"cm", "ConfigMap"}, {"secrets", "Secret"},
		{"controllerrevisions", "ControllerRevision"}, {"leases", "Lease"}, {"clusters", "Cluster"}, {"placement", "Placement"}, {"migrations", "Migration"},
	}
	for _, tt := range tests {
		k, ok := r.Lookup(tt.name)
		if !ok || k.Kind != tt.kind {
			t.Errorf("Lookup(%q) = %v, %v; want %s", tt.name, k, ok, tt.kind)
		}
	}
	if len(r.All()) != 20 {
		t.Errorf("%d kinds, want 20", len(r.All()))
	}
	for _, k := range r.All() {
		o := k.NewObject()
		if got, ok := KindOf(r, o); !ok || got != k {
			t.Errorf("KindOf(%s) = %v", k.Kind, got)
		}
		if o.GetTypeMeta().Kind != k.Kind || o.GetTypeMeta().APIVersion != k.APIVersions[0] {
			t.Errorf("NewObject(%s) TypeMeta %+v", k.Kind, o.GetTypeMeta())
		}
		if k.Validate == nil {
			t.Errorf("%s has no validation", k.Kind)
		}
		if k2, ok := r.ByResource(k.Resource); !ok || k2 != k {
			t.Errorf("ByResource(%s)", k.Resource)
		}
	}
	scoped := map[string]bool{"Namespace": false, "Node": false, "PersistentVolume": false, "StorageClass": false,
		"Cluster": false, "Pod": true, "PetSet": true, "Placement": true, "Event": true}
	for kind, namespaced := range scoped {
		if k, _ := r.ByKind(kind); k.Namespaced != namespaced {
			t.Errorf("%s: Namespaced = %v", kind, k.Namespaced)
		}
	}
}

func TestEveryKindRoundTrips(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	for _, o := range []Object{validPod(), validPetSet(), validDeployment(), validService(), validEndpoints(),
		validPVC(), validPV(), validStorageClass(), validNode(), validConfigMap(), validSecret(), validEvent(),
		validCluster(), validPlacement()} {
		k, _ := KindOf(r, o)
		t.Run(k.Kind, func(t *testing.T) {
			t.Parallel()
			if err := r.Canonicalize(o); err != nil {
				t.Fatal(err)
			}
			if k.Default != nil {
				k.Default(o)
			}
			objs, err := r.Decode([]byte(jsonOf(t, o)))
			if err != nil {
				t.Fatalf("decoding our own encoding: %v", err)
			}
			if a, b := jsonOf(t, o), jsonOf(t, objs[0]); a != b {
				t.Errorf("round trip changed the object:\n%s\n%s", a, b)
			}
		})
	}
}

func labelsSet(m map[string]string) labels.Set { return labels.Set(m) }

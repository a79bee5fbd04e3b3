package petset

import (
	"encoding/json"
	"strings"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

func TestParseName(t *testing.T) {
	tests := []struct {
		name, parent string
		ordinal      int32
		ok           bool
	}{
		{"web-0", "web", 0, true},
		{"my-db-12", "my-db", 12, true},
		{"web-01", "", 0, false}, // one name per ordinal
		{"web-", "", 0, false},
		{"web", "", 0, false},
		{"-3", "", 0, false},
		{"web-x", "", 0, false},
		{"web-99999999999", "", 0, false},
		{"web--1", "web-", 1, true},
	}
	for _, tc := range tests {
		parent, ord, ok := v1.ParsePetName(tc.name)
		if parent != tc.parent || ord != tc.ordinal || ok != tc.ok {
			t.Errorf("v1.ParsePetName(%q) = %q, %d, %v; want %q, %d, %v", tc.name, parent, ord, ok, tc.parent, tc.ordinal, tc.ok)
		}
	}
}

// pet is a pod of set web with ordinal label index, controlled by uid.
func pet(name, uid string, index string, terminating bool) *v1.Pod {
	p := &v1.Pod{ObjectMeta: v1.ObjectMeta{Name: name, Namespace: "ns", UID: uid,
		Labels:          map[string]string{v1.PetSetPodNameLabel: name, v1.PodIndexLabel: index},
		OwnerReferences: []v1.OwnerReference{{Kind: "PetSet", Name: "web", UID: "set", Controller: ptr(true)}}}}
	if terminating {
		p.DeletionTimestamp = v1.Now()
	}
	return p
}

func TestAtMostOnePerIdentity(t *testing.T) {
	other := &v1.Pod{ObjectMeta: v1.ObjectMeta{Name: "web-0", Namespace: "ns", UID: "x"}} // not a pet
	elsewhere := pet("web-0", "e", "0", false)
	elsewhere.Namespace = "other"
	tests := []struct {
		name  string
		pods  []*v1.Pod
		wants string // "" for no violation, else a part of the error
	}{
		{"distinct pets", []*v1.Pod{pet("web-0", "a", "0", false), pet("web-1", "b", "1", false)}, ""},
		{"same object twice", []*v1.Pod{pet("web-0", "a", "0", false), pet("web-0", "a", "0", false)}, ""},
		{"pods that are not pets", []*v1.Pod{pet("web-0", "a", "0", false), other}, ""},
		{"other namespace", []*v1.Pod{pet("web-0", "a", "0", false), elsewhere}, ""},
		{"replacement beside a terminating pod", []*v1.Pod{pet("web-1", "a", "1", true), pet("web-1", "b", "1", false)},
			"identity ns/web/1 is held by two pods: web-1 (uid a, terminating) and web-1 (uid b)"},
		{"two live pods", []*v1.Pod{pet("web-2", "a", "2", false), pet("web-2", "b", "2", false)}, "ns/web/2"},
		{"another name with the same index", []*v1.Pod{pet("web-0", "a", "0", false), pet("adopted", "b", "0", false)},
			"ns/web/0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := atMostOnePerIdentity(tc.pods)
			switch {
			case tc.wants == "" && err != nil:
				t.Errorf("violation reported: %v", err)
			case tc.wants != "" && (err == nil || !strings.Contains(err.Error(), tc.wants)):
				t.Errorf("error %v, want one containing %q", err, tc.wants)
			}
		})
	}
}

func TestNewPodAndClaims(t *testing.T) {
	cfg := config{policy: v1.OrderedReadyPodManagement, whenDeleted: del, whenScaled: retain}
	w := newWorld(t, webSet(cfg, 3))
	set := w.set
	set.Spec.Template.Finalizers = []string{"example.com/hold"}
	pod := newPod(set, "web-abc", 2, w.k)
	if pod.Name != "web-2" || pod.Namespace != "default" || pod.Spec.Hostname != "web-2" || pod.Spec.Subdomain != "web-svc" {
		t.Errorf("pod %s/%s hostname %q subdomain %q", pod.Namespace, pod.Name, pod.Spec.Hostname, pod.Spec.Subdomain)
	}
	want := map[string]string{"app": "web", "tier": "db", v1.PetSetPodNameLabel: "web-2", v1.PodIndexLabel: "2",
		v1.ControllerRevisionHashLabel: "web-abc"}
	for k, v := range want {
		if pod.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, pod.Labels[k], v)
		}
	}
	if len(pod.Finalizers) != 1 || !identityMatches(pod, 2) || !storageMatches(set, pod, 2) {
		t.Errorf("finalizers %v, identity %v, storage %v", pod.Finalizers, identityMatches(pod, 2), storageMatches(set, pod, 2))
	}
	if set.Spec.Template.Labels[v1.PetSetPodNameLabel] != "" || set.Spec.Template.Spec.Volumes[0].EmptyDir == nil {
		t.Errorf("newPod changed the set's template")
	}
	claims := newClaims(set, 2, w.k)
	if len(claims) != 1 || claims[0].Name != "data-web-2" || claims[0].Labels["app"] != "web" || claims[0].Labels["tier"] != "db" {
		t.Fatalf("claims %+v", claims)
	}
	if ref := v1.GetControllerOf(claims[0]); ref == nil || ref.UID != set.UID {
		t.Errorf("claim owners %+v under whenDeleted=Delete, want the set", claims[0].OwnerReferences)
	}
}

func TestClaimOwners(t *testing.T) {
	tests := []struct {
		whenDeleted, whenScaled v1.PersistentVolumeClaimRetentionPolicyType
		inRange                 bool
		bySet, byPod            bool
	}{
		{retain, retain, true, false, false}, {retain, retain, false, false, false},
		{del, retain, true, true, false}, {del, retain, false, true, false},
		{retain, del, true, false, false}, {retain, del, false, false, true},
		{del, del, true, true, false}, {del, del, false, false, true},
	}
	for _, tc := range tests {
		w := newWorld(t, webSet(config{policy: v1.ParallelPodManagement, whenDeleted: tc.whenDeleted, whenScaled: tc.whenScaled}, 2))
		ord := int32(1)
		if !tc.inRange {
			ord = 5
		}
		pod := newPod(w.set, "r", ord, w.k)
		pod.UID = "pod-uid"
		claim := &v1.PersistentVolumeClaim{ObjectMeta: v1.ObjectMeta{Name: w.set.ClaimName("data", ord),
			OwnerReferences: []v1.OwnerReference{{Kind: "Other", Name: "o", UID: "other"}}}}
		bySet, byPod := wantedOwners(w.set, ord)
		if bySet != tc.bySet || byPod != tc.byPod {
			t.Errorf("%s/%s in range %v: owners set %v pod %v, want %v %v", tc.whenDeleted, tc.whenScaled, tc.inRange, bySet, byPod, tc.bySet, tc.byPod)
		}
		setClaimOwners(claim, w.set, pod, ord, w.k)
		if !claimOwnersUpToDate(claim, w.set, pod, ord, w.k) || hasOwner(claim, w.set.UID) != tc.bySet ||
			hasOwner(claim, pod.UID) != tc.byPod || !hasOwner(claim, "other") {
			t.Errorf("%s/%s in range %v: owners after setClaimOwners %+v", tc.whenDeleted, tc.whenScaled, tc.inRange, claim.OwnerReferences)
		}
	}
}

func TestRevisions(t *testing.T) {
	w := newWorld(t, webSet(config{policy: v1.OrderedReadyPodManagement}, 1))
	a, err := newRevision(w.set, w.k.set, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := newRevision(v1.Clone(w.set), w.k.set, 7, 0)
	if !equalRevisions(a, again) || a.Name != again.Name || !strings.HasPrefix(a.Name, "web-") {
		t.Errorf("equal templates gave revisions %s and %s", a.Name, again.Name)
	}
	if !strings.HasPrefix(string(a.Data), `{"spec":{"template":{"$patch":"replace","metadata":`) {
		t.Errorf("data %s, want Kubernetes' template patch", a.Data)
	}
	// The API server's merge patch re-encodes objects through
	// map[string]any; the data must come out byte for byte.
	var generic any
	if err := json.Unmarshal(a.Data, &generic); err != nil {
		t.Fatal(err)
	}
	if again, _ := json.Marshal(generic); string(again) != string(a.Data) {
		t.Errorf("data changes when re-encoded:\n%s\n%s", a.Data, again)
	}
	collided, _ := newRevision(w.set, w.k.set, 1, 1)
	if collided.Name == a.Name || !equalRevisions(a, collided) {
		t.Errorf("a collision count gives name %s, want another name for the same data", collided.Name)
	}
	changed := v1.Clone(w.set)
	setVersion("v2")(&changed.Spec)
	b, _ := newRevision(changed, w.k.set, 2, 0)
	if equalRevisions(a, b) || a.Name == b.Name {
		t.Errorf("different templates gave equal revisions")
	}
	back, err := applyRevision(changed, a)
	if err != nil || back.Spec.Template.Spec.Containers[0].Args[0] != "v1" {
		t.Errorf("applyRevision = %v, %v; want the v1 template", back, err)
	}
	if ref := v1.GetControllerOf(a); ref == nil || ref.UID != w.set.UID || a.Labels["app"] != "web" || a.Labels[revisionHashLabel] == "" {
		t.Errorf("revision metadata %+v", a.ObjectMeta)
	}
}

func TestRecentOverlay(t *testing.T) {
	r := newRecent[*v1.Pod]()
	mk := func(name, rv string) *v1.Pod {
		return &v1.Pod{ObjectMeta: v1.ObjectMeta{Name: name, Namespace: "ns", ResourceVersion: rv}}
	}
	r.wrote(mk("created", "10"))
	r.removed(mk("removed", "11"))
	r.wrote(mk("seen", "5"))
	cached := []*v1.Pod{mk("removed", "3"), mk("seen", "5"), mk("other", "4")}
	got := overlay(cached, r.pending("8"), func(*v1.Pod) bool { return true })
	var names []string
	for _, p := range got {
		names = append(names, p.Name+"@"+p.ResourceVersion)
	}
	if strings.Join(names, ",") != "seen@5,other@4,created@10" {
		t.Errorf("overlay = %v, want seen, other and the pending created pod", names)
	}
	if p := r.pending("11"); len(p) != 0 {
		t.Errorf("writes the cache has caught up with are still pending: %v", p)
	}
}

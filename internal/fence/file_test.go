package fence

import (
	"errors"
	"io/fs"
	"slices"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

func TestPodPeriodAndDeadline(t *testing.T) {
	created := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	renewed := created.Add(time.Minute)
	for _, tc := range []struct {
		name        string
		labels      map[string]string
		annotations map[string]string
		fenced      bool
		period      time.Duration
		bad         bool
	}{
		{name: "not labelled", labels: map[string]string{"app": "x"}, annotations: map[string]string{AnnotationFencingPeriod: "5s"}},
		{name: "label not true", labels: map[string]string{LabelFenced: "false"}},
		{name: "fenced", labels: map[string]string{LabelFenced: "true"}, annotations: map[string]string{AnnotationFencingPeriod: "5s"}, fenced: true, period: 5 * time.Second},
		{name: "no period", labels: map[string]string{LabelFenced: "true"}, fenced: true, period: DefaultPeriod, bad: true},
		{name: "bad period", labels: map[string]string{LabelFenced: "true"}, annotations: map[string]string{AnnotationFencingPeriod: "soon"}, fenced: true, period: DefaultPeriod, bad: true},
		{name: "negative period", labels: map[string]string{LabelFenced: "true"}, annotations: map[string]string{AnnotationFencingPeriod: "-1s"}, fenced: true, period: DefaultPeriod, bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &v1.Pod{ObjectMeta: v1.ObjectMeta{Name: "p", Namespace: "default", Labels: tc.labels, Annotations: tc.annotations,
				CreationTimestamp: v1.NewTime(created)}}
			period, fenced, err := PodPeriod(p)
			if fenced != tc.fenced || period != tc.period || (err != nil) != tc.bad {
				t.Fatalf("PodPeriod = %v %v %v, want %v %v bad=%v", period, fenced, err, tc.period, tc.fenced, tc.bad)
			}
			if !fenced {
				return
			}
			if d := Deadline(p, period, renewed, true); !d.Equal(renewed.Add(tc.period)) {
				t.Fatalf("deadline with a renewal: %v", d)
			}
			if d := Deadline(p, period, time.Time{}, false); !d.Equal(created.Add(tc.period)) {
				t.Fatalf("deadline without a renewal: %v", d)
			}
		})
	}
}

func TestRenewed(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.UTC)
	cm := func(v string) *v1.ConfigMap { return &v1.ConfigMap{Data: map[string]string{KeyRenewed: v}} }
	if got, ok := Renewed(cm(FormatRenewed(at))); !ok || !got.Equal(at) {
		t.Fatalf("Renewed(FormatRenewed) = %v %v", got, ok)
	}
	for _, bad := range []*v1.ConfigMap{nil, {}, cm(""), cm("yesterday")} {
		if _, ok := Renewed(bad); ok {
			t.Errorf("Renewed(%+v): want not ok", bad)
		}
	}
}

func TestFilesRoundTrip(t *testing.T) {
	dir := t.TempDir() + "/fence" // made by Write
	f := File{Deadline: time.Now().Round(0), Pod: "default/pet-0", UID: "u1", Cgroups: []string{"/sys/fs/cgroup/x/u1"}, PGIDs: []int{42, 43}}
	if err := Write(dir, f); err != nil {
		t.Fatal(err)
	}
	got, err := Read(dir, "u1")
	if err != nil || !got.Deadline.Equal(f.Deadline) || got.Pod != f.Pod || !slices.Equal(got.PGIDs, f.PGIDs) || !slices.Equal(got.Cgroups, f.Cgroups) {
		t.Fatalf("Read = %+v %v, want %+v", got, err, f)
	}
	if err := writeJSON(dir+"/u2"+recordSuffix, Record{File: File{UID: "u2"}, Killed: 3}); err != nil {
		t.Fatal(err)
	}
	if uids, err := UIDs(dir); err != nil || !slices.Equal(uids, []string{"u1", "u2"}) || !Pending(dir) {
		t.Fatalf("UIDs = %v %v, pending %v", uids, err, Pending(dir))
	}
	if err := Remove(dir, "u1"); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir, "u1"); !errors.Is(err, fs.ErrNotExist) || Pending(dir) {
		t.Fatalf("Read after Remove: %v, pending %v", err, Pending(dir))
	}
	if err := Remove(dir, "u2"); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadRecord(dir, "u2"); err != nil {
		t.Fatalf("Remove removed the record: %v", err)
	}
	if err := Forget(dir, "u2"); err != nil {
		t.Fatal(err)
	}
	if uids, err := UIDs(dir); err != nil || len(uids) != 0 {
		t.Fatalf("UIDs after Forget = %v %v", uids, err)
	}
	for _, bad := range []string{"", "..", "a/b", ".hidden"} {
		if err := Write(dir, File{UID: bad}); err == nil {
			t.Errorf("Write with uid %q: want an error", bad)
		}
	}
}

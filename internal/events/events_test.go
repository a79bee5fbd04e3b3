package events_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller/clock"
	"github.com/kennel-dev/kennel/internal/events"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// cluster is the control plane that TestRecord's cases share; each
// reports on objects of its own.
type cluster struct {
	ctx   context.Context
	admin *client.Client
}

// configMap creates a ConfigMap in the default namespace to report on.
func (c cluster) configMap(t *testing.T, name string) *v1.ConfigMap {
	t.Helper()
	cm, err := client.For[*v1.ConfigMap](c.admin, v1.NamespaceDefault).Create(c.ctx,
		&v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Name: name, Namespace: v1.NamespaceDefault}})
	if err != nil {
		t.Fatal(err)
	}
	return cm
}

// about returns the Events in the default namespace whose involved
// object has uid.
func (c cluster) about(t *testing.T, uid string) []*v1.Event {
	t.Helper()
	l, err := client.For[*v1.Event](c.admin, v1.NamespaceDefault).List(c.ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []*v1.Event
	for _, ev := range l.Items {
		if ev.InvolvedObject.UID == uid {
			out = append(out, ev)
		}
	}
	return out
}

// get returns the Event named name in the default namespace.
func (c cluster) get(t *testing.T, name string) *v1.Event {
	t.Helper()
	ev, err := client.For[*v1.Event](c.admin, v1.NamespaceDefault).Get(c.ctx, name)
	if err != nil {
		t.Fatalf("event %s: %v", name, err)
	}
	return ev
}

func TestRecord(t *testing.T) {
	tc := testcluster.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	c := cluster{ctx: ctx, admin: tc.Admin}
	for _, tt := range []struct {
		name string
		run  func(*testing.T, cluster)
	}{
		{"repeats are counted on one event", testRepeats},
		{"another message is another event", testOtherMessage},
		{"cluster-scoped objects' events go to default", testClusterScoped},
		{"failures are logged, not returned", testFailureIsLogged},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, c) })
	}
}

func testRepeats(t *testing.T, c cluster) {
	// A whole second, as Events store it.
	start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	fake := clock.NewFake(start)
	r := &events.Recorder{Client: c.admin, Component: "tester", Instance: "node-a", Action: "Testing", Clock: fake}
	cm := c.configMap(t, "repeats")
	r.Record(c.ctx, cm, "ConfigMap", "v1", v1.EventTypeWarning, "Broken", "it broke")

	name := events.Name(&cm.ObjectMeta, v1.EventTypeWarning, "Broken", "it broke")
	first := c.get(t, name)
	want := v1.ObjectReference{Kind: "ConfigMap", APIVersion: "v1", Namespace: v1.NamespaceDefault, Name: "repeats",
		UID: cm.UID, ResourceVersion: cm.ResourceVersion}
	switch {
	case first.InvolvedObject != want:
		t.Errorf("involvedObject = %+v, want %+v", first.InvolvedObject, want)
	case first.Type != v1.EventTypeWarning || first.Reason != "Broken" || first.Message != "it broke" || first.Action != "Testing":
		t.Errorf("type, reason, message, action = %q, %q, %q, %q", first.Type, first.Reason, first.Message, first.Action)
	case first.Source != (v1.EventSource{Component: "tester", Host: "node-a"}):
		t.Errorf("source = %+v, want tester on node-a", first.Source)
	case first.ReportingComponent != "tester" || first.ReportingInstance != "node-a":
		t.Errorf("reporting = %q/%q, want tester/node-a", first.ReportingComponent, first.ReportingInstance)
	case first.Count != 1 || !first.FirstTimestamp.Equal(start) || !first.LastTimestamp.Equal(start):
		t.Errorf("count %d, first %v, last %v; want 1 at %v", first.Count, first.FirstTimestamp, first.LastTimestamp, start)
	}

	fake.Advance(time.Minute)
	r.Record(c.ctx, cm, "ConfigMap", "v1", v1.EventTypeWarning, "Broken", "it broke")
	evs := c.about(t, cm.UID)
	if len(evs) != 1 {
		t.Fatalf("%d events after a repeat, want 1", len(evs))
	}
	again := evs[0]
	if again.Name != name || again.Count != 2 {
		t.Errorf("repeat: event %s count %d, want %s count 2", again.Name, again.Count, name)
	}
	if !again.FirstTimestamp.Equal(start) || !again.LastTimestamp.Equal(start.Add(time.Minute)) {
		t.Errorf("repeat: first %v, last %v; want %v, %v", again.FirstTimestamp, again.LastTimestamp, start, start.Add(time.Minute))
	}
}

func testOtherMessage(t *testing.T, c cluster) {
	r := &events.Recorder{Client: c.admin, Component: "tester", Instance: "node-a"}
	cm := c.configMap(t, "other-message")
	r.Record(c.ctx, cm, "ConfigMap", "v1", v1.EventTypeWarning, "Broken", "it broke")
	r.Record(c.ctx, cm, "ConfigMap", "v1", v1.EventTypeWarning, "Broken", "it broke")
	r.Recordf(c.ctx, cm, "ConfigMap", "v1", v1.EventTypeWarning, "Broken", "it broke %d times", 3)

	counts := map[string]int32{}
	for _, ev := range c.about(t, cm.UID) {
		counts[ev.Message] = ev.Count
	}
	if len(counts) != 2 || counts["it broke"] != 2 || counts["it broke 3 times"] != 1 {
		t.Errorf("count by message = %v, want it broke: 2, it broke 3 times: 1", counts)
	}
}

func testClusterScoped(t *testing.T, c cluster) {
	r := &events.Recorder{Client: c.admin, Component: "some-controller", Instance: "some-controller-1", OffNode: true}
	node, err := client.For[*v1.Node](c.admin, "").Create(c.ctx, &v1.Node{ObjectMeta: v1.ObjectMeta{Name: "n1"}})
	if err != nil {
		t.Fatal(err)
	}
	r.Record(c.ctx, node, "Node", "v1", v1.EventTypeNormal, "Seen", "node seen")

	evs := c.about(t, node.UID)
	if len(evs) != 1 {
		t.Fatalf("%d events about the node in the default namespace, want 1", len(evs))
	}
	ev := evs[0]
	if ev.InvolvedObject.Namespace != "" || ev.InvolvedObject.Kind != "Node" || ev.InvolvedObject.Name != "n1" {
		t.Errorf("involvedObject = %+v, want the cluster-scoped node n1", ev.InvolvedObject)
	}
	// A component off any node names none as the source host, but still
	// says which instance reported.
	if ev.Source != (v1.EventSource{Component: "some-controller"}) || ev.ReportingInstance != "some-controller-1" {
		t.Errorf("source = %+v, reportingInstance %q; want no host, instance some-controller-1", ev.Source, ev.ReportingInstance)
	}
	if ev.FirstTimestamp == nil || ev.FirstTimestamp.IsZero() {
		t.Error("no timestamp from the default (system) clock")
	}
}

func testFailureIsLogged(t *testing.T, c cluster) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	r := &events.Recorder{Client: c.admin, Component: "tester", Logger: log}
	cm := c.configMap(t, "failure")

	// The API server refuses a reason over 128 bytes.
	long := strings.Repeat("x", 129)
	r.Record(c.ctx, cm, "ConfigMap", "v1", v1.EventTypeWarning, long, "it broke")
	if n := len(c.about(t, cm.UID)); n != 0 {
		t.Fatalf("%d events with an invalid reason, want 0", n)
	}
	if got := logs.String(); !strings.Contains(got, "cannot record event") || !strings.Contains(got, "ConfigMap/default/failure") {
		t.Errorf("log = %q, want the failure logged with the object", got)
	}

	// A caller that is stopping is not told about events it dropped.
	logs.Reset()
	stopped, cancel := context.WithCancel(c.ctx)
	cancel()
	r.Record(stopped, cm, "ConfigMap", "v1", v1.EventTypeWarning, "Broken", "it broke")
	if logs.Len() != 0 {
		t.Errorf("log after a cancelled context = %q, want nothing", logs.String())
	}
}

func TestName(t *testing.T) {
	t.Parallel()
	meta := &v1.ObjectMeta{Name: "web-0", UID: "uid-1"}
	base := events.Name(meta, v1.EventTypeWarning, "Broken", "it broke")
	if !strings.HasPrefix(base, "web-0.") || len(base) != len("web-0.")+16 {
		t.Errorf("Name = %q, want web-0.<16 hex digits>", base)
	}
	for _, tc := range []struct {
		what             string
		meta             *v1.ObjectMeta
		typ, reason, msg string
	}{
		{"another uid", &v1.ObjectMeta{Name: "web-0", UID: "uid-2"}, v1.EventTypeWarning, "Broken", "it broke"},
		{"another type", meta, v1.EventTypeNormal, "Broken", "it broke"},
		{"another reason", meta, v1.EventTypeWarning, "Fixed", "it broke"},
		{"another message", meta, v1.EventTypeWarning, "Broken", "it broke again"},
	} {
		t.Run(tc.what, func(t *testing.T) {
			if got := events.Name(tc.meta, tc.typ, tc.reason, tc.msg); got == base {
				t.Errorf("Name = %q for %s, the same as for the original event", got, tc.what)
			}
		})
	}
	if again := events.Name(&v1.ObjectMeta{Name: "web-0", UID: "uid-1"}, v1.EventTypeWarning, "Broken", "it broke"); again != base {
		t.Errorf("Name of a repeat = %q, want %q", again, base)
	}

	// The longest object names are cut so that the event's name is valid.
	long := strings.Repeat("a", 235) + "-.b" + strings.Repeat("c", 20)
	got := events.Name(&v1.ObjectMeta{Name: long, UID: "u"}, v1.EventTypeNormal, "R", "m")
	if len(got) > 253 || strings.Contains(got, "-.") {
		t.Errorf("Name of a long object = %q (%d bytes), want at most 253 and no '-' before the dot", got, len(got))
	}
}

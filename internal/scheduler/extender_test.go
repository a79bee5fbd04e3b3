package scheduler_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/scheduler"
	"github.com/kennel-dev/kennel/internal/scheduler/extender"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// testExtender is a scheduler extender served over HTTP by the test: it
// rejects the nodes in reject, scores nodes from scores, binds through the
// API when bind is set, and fails every call when broken is set. It
// records the request bodies it received.
type testExtender struct {
	t      *testing.T
	srv    *httptest.Server
	c      *client.Client
	reject map[string]string
	scores map[string]int64
	broken bool
	// failFirstBind makes the first bind of each pod fail.
	failFirstBind bool
	failed        map[string]bool

	mu       sync.Mutex
	requests []map[string]json.RawMessage
	binds    []string
}

func newTestExtender(t *testing.T, c *client.Client) *testExtender {
	x := &testExtender{t: t, c: c, reject: map[string]string{}, scores: map[string]int64{}, failed: map[string]bool{}}
	x.srv = httptest.NewServer(http.HandlerFunc(x.serve))
	t.Cleanup(x.srv.Close)
	return x
}

func (x *testExtender) serve(w http.ResponseWriter, r *http.Request) {
	if x.broken {
		http.Error(w, "extender is down", http.StatusInternalServerError)
		return
	}
	var body map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	x.mu.Lock()
	x.requests = append(x.requests, body)
	x.mu.Unlock()
	switch strings.TrimPrefix(r.URL.Path, "/ext/") {
	case "filter":
		names := x.nodeNames(body)
		var keep []string
		failed := map[string]string{}
		for _, n := range names {
			if reason, ok := x.reject[n]; ok {
				failed[n] = reason
			} else {
				keep = append(keep, n)
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"NodeNames": keep, "FailedNodes": failed})
	case "prioritize":
		var out []map[string]any
		for _, n := range x.nodeNames(body) {
			out = append(out, map[string]any{"Host": n, "Score": x.scores[n]})
		}
		json.NewEncoder(w).Encode(out)
	case "bind":
		var args struct{ PodName, PodNamespace, PodUID, Node string }
		for k, v := range body {
			json.Unmarshal(v, map[string]*string{"PodName": &args.PodName, "PodNamespace": &args.PodNamespace, "PodUID": &args.PodUID, "Node": &args.Node}[k])
		}
		x.mu.Lock()
		fail := x.failFirstBind && !x.failed[args.PodName]
		if fail {
			x.failed[args.PodName] = true
		}
		x.mu.Unlock()
		if fail {
			json.NewEncoder(w).Encode(map[string]string{"Error": "binding refused once"})
			return
		}
		// As a Kubernetes extender binds: the pod's binding subresource.
		err := client.BindPod(r.Context(), x.c, args.PodNamespace, args.PodName, args.PodUID, args.Node)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		x.mu.Lock()
		x.binds = append(x.binds, args.PodName+"→"+args.Node)
		x.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]string{"Error": msg})
	default:
		http.NotFound(w, r)
	}
}

// nodeNames reads the nodes of a filter or prioritize request, sent as
// names or as objects.
func (x *testExtender) nodeNames(body map[string]json.RawMessage) []string {
	var names []string
	if raw, ok := body["NodeNames"]; ok {
		json.Unmarshal(raw, &names)
		return names
	}
	var list struct {
		Items []v1.Node `json:"items"`
	}
	json.Unmarshal(body["Nodes"], &list)
	for _, n := range list.Items {
		names = append(names, n.Name)
	}
	return names
}

func (x *testExtender) config(verbs ...string) extender.Config {
	cfg := extender.Config{URLPrefix: x.srv.URL + "/ext", HTTPTimeout: "2s"}
	for _, v := range verbs {
		switch v {
		case "filter":
			cfg.FilterVerb = "filter"
		case "prioritize":
			cfg.PrioritizeVerb, cfg.Weight = "prioritize", 5
		case "bind":
			cfg.BindVerb = "bind"
		}
	}
	return cfg
}

func (x *testExtender) received() []map[string]json.RawMessage {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]map[string]json.RawMessage(nil), x.requests...)
}

func threeNodes(e *env) {
	for _, n := range []string{"n1", "n2", "n3"} {
		e.addNode(nodeSpec{name: n, cpu: "4", memory: "8Gi"})
	}
}

// TestExtenderFilterAndPrioritize: the extender's filter removes nodes and
// its scores decide among the rest; it is sent whole node objects.
func TestExtenderFilterAndPrioritize(t *testing.T) {
	e := newEnv(t)
	threeNodes(e)
	x := newTestExtender(t, e.tc.Admin)
	x.reject["n1"] = "n1 is for batch jobs"
	x.scores["n3"] = 10
	e.run(scheduler.Config{Extenders: []extender.Config{x.config("filter", "prioritize")}})
	e.createPod(newPod("p", "100m", "64Mi"))
	if node := e.waitBound("p"); node != "n3" {
		t.Fatalf("bound to %s, want n3 (n1 filtered out, n3 scored highest by the extender)", node)
	}
	for _, body := range x.received() {
		if _, ok := body["Nodes"]; !ok || body["NodeNames"] != nil {
			t.Fatalf("an extender that is not nodeCacheCapable must get node objects: %v", keys(body))
		}
	}
	// Only n1 is rejected by the extender, and the reason reaches the
	// user when nothing else fits.
	x.reject["n2"], x.reject["n3"] = "n2 is full", "n3 is full"
	e.createPod(newPod("q", "100m", "64Mi"))
	msg := e.waitUnschedulable("q", containing("0/3 nodes are available"))
	for _, want := range []string{"1 n1 is for batch jobs", "1 n2 is full", "1 n3 is full"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("message %q lacks %q", msg, want)
		}
	}
}

// TestExtenderNodeCacheCapableGetsNames: a nodeCacheCapable extender is
// sent node names only.
func TestExtenderNodeCacheCapableGetsNames(t *testing.T) {
	e := newEnv(t)
	threeNodes(e)
	x := newTestExtender(t, e.tc.Admin)
	cfg := x.config("filter")
	cfg.NodeCacheCapable = true
	e.run(scheduler.Config{Extenders: []extender.Config{cfg}})
	e.createPod(newPod("p", "100m", "64Mi"))
	e.waitBound("p")
	got := x.received()
	if len(got) == 0 {
		t.Fatal("the extender was not called")
	}
	for _, body := range got {
		if _, ok := body["NodeNames"]; !ok || body["Nodes"] != nil {
			t.Fatalf("a nodeCacheCapable extender must get names only: %v", keys(body))
		}
	}
}

// TestExtenderBindIsDelegated: the binding extender writes the binding,
// not the scheduler.
func TestExtenderBindIsDelegated(t *testing.T) {
	e := newEnv(t)
	threeNodes(e)
	x := newTestExtender(t, e.tc.Admin)
	e.run(scheduler.Config{Extenders: []extender.Config{x.config("bind")}})
	e.createPod(newPod("p", "100m", "64Mi"))
	node := e.waitBound("p")
	// The extender records the binding once its write has returned.
	testcluster.Eventually(t, waitFor, "the extender to record its binding", func() bool { return x.bound("p") })
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.binds) != 1 || x.binds[0] != "p→"+node {
		t.Fatalf("extender binds %v, want exactly p→%s", x.binds, node)
	}
}

// TestExtenderFailures: a failing ignorable extender is skipped; a failing
// one that is not leaves the pod Pending with its error.
func TestExtenderFailures(t *testing.T) {
	e := newEnv(t)
	threeNodes(e)
	down := newTestExtender(t, e.tc.Admin)
	down.broken = true
	ign := down.config("filter", "prioritize")
	ign.Ignorable = true
	e.run(scheduler.Config{Extenders: []extender.Config{ign}})
	e.createPod(newPod("p", "100m", "64Mi"))
	e.waitBound("p")

	e2 := newEnv(t)
	threeNodes(e2)
	strict := newTestExtender(t, e2.tc.Admin)
	strict.broken = true
	e2.run(scheduler.Config{Extenders: []extender.Config{strict.config("filter")}})
	p := e2.createPod(newPod("q", "100m", "64Mi"))
	e2.waitFailedScheduling(p, "extender is down")
	if got := e2.getPod("q"); got.Spec.NodeName != "" {
		t.Fatalf("pod bound to %s although its extender failed", got.Spec.NodeName)
	}
}

// TestFailedBindIsRetriedWithoutDoubleCounting: every pod's first binding
// fails; each is decided again and bound once, and what the failed
// attempts had assumed is released: a node with room for two one-cpu pods
// takes exactly two of three, and the third waits for cpu.
func TestFailedBindIsRetriedWithoutDoubleCounting(t *testing.T) {
	e := newEnv(t)
	e.addNode(nodeSpec{name: "n1", cpu: "2", memory: "8Gi"})
	x := newTestExtender(t, e.tc.Admin)
	x.failFirstBind = true
	e.run(scheduler.Config{Extenders: []extender.Config{x.config("bind")}})
	for _, name := range []string{"a", "b", "c"} {
		e.createPod(newPod(name, "1", "64Mi"))
	}
	var bound, pending []string
	testcluster.Eventually(t, waitFor, "two pods bound and one waiting for cpu", func() bool {
		x.mu.Lock()
		recorded := len(x.binds)
		x.mu.Unlock()
		if recorded < 2 {
			return false
		}
		bound, pending = nil, nil
		for _, name := range []string{"a", "b", "c"} {
			p := e.getPod(name)
			if p.Spec.NodeName != "" {
				bound = append(bound, name)
			} else if c := v1.GetPodCondition(&p.Status, v1.PodScheduled); c != nil && strings.Contains(c.Message, "Insufficient cpu") {
				pending = append(pending, name)
			}
		}
		return len(bound) == 2 && len(pending) == 1
	})
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.binds) != 2 {
		t.Fatalf("bindings written %v, want one for each of %v", x.binds, bound)
	}
	for _, name := range bound {
		if !x.failed[name] {
			t.Fatalf("pod %s was bound without its first binding failing", name)
		}
	}
}

func keys(m map[string]json.RawMessage) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return fmt.Sprint(out)
}

// bound reports whether the extender bound the pod.
func (x *testExtender) bound(pod string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, b := range x.binds {
		if strings.HasPrefix(b, pod+"→") {
			return true
		}
	}
	return false
}

package extender

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"sync"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
	"k8s.io/apimachinery/pkg/api/resource"
)

// call is one request the test extender received.
type call struct {
	Method, Path, ContentType string
	// Body is the request's top-level JSON object, values kept raw.
	Body map[string]json.RawMessage
}

// recorder keeps the calls a test extender received.
type recorder struct {
	mu    sync.Mutex
	calls []call
}

func (r *recorder) all() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// only returns the single call received, failing the test otherwise.
func (r *recorder) only(t *testing.T) call {
	t.Helper()
	calls := r.all()
	if len(calls) != 1 {
		t.Fatalf("extender received %d calls, want 1: %+v", len(calls), calls)
	}
	return calls[0]
}

// answerFunc is the test extender's logic: a status and a body, which
// is written as is when a string and as JSON otherwise.
type answerFunc func(c call) (int, any)

// extenderHandler serves answer, recording every call in rec.
func extenderHandler(t *testing.T, rec *recorder, answer answerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := call{Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type")}
		raw, err := io.ReadAll(r.Body)
		if err == nil {
			err = json.Unmarshal(raw, &c.Body)
		}
		if err != nil {
			t.Errorf("test extender: bad request body %q: %v", raw, err)
		}
		rec.mu.Lock()
		rec.calls = append(rec.calls, c)
		rec.mu.Unlock()
		status, body := answer(c)
		b, ok := body.(string)
		if !ok {
			j, err := json.Marshal(body)
			if err != nil {
				t.Errorf("test extender: encode answer: %v", err)
			}
			b = string(j)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, b)
	}
}

// startExtender serves answer over plain HTTP on a loopback port and
// returns a config pointing at it under /ext, with the verbs filter,
// prioritize and bind.
func startExtender(t *testing.T, answer answerFunc) (Config, *recorder) {
	t.Helper()
	rec := &recorder{}
	srv := httptest.NewServer(extenderHandler(t, rec, answer))
	t.Cleanup(srv.Close)
	return Config{URLPrefix: srv.URL + "/ext/", FilterVerb: "filter", PrioritizeVerb: "prioritize", Weight: 1, BindVerb: "bind"}, rec
}

func newExtender(t *testing.T, cfg Config) *Extender {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

func testPod() *v1.Pod {
	p := &v1.Pod{ObjectMeta: v1.ObjectMeta{Name: "db-0", Namespace: "prod", UID: "uid-1"}}
	p.Spec.Containers = []v1.Container{{Name: "db", Image: "postgres", Resources: v1.ResourceRequirements{
		Requests: v1.ResourceList{"example.com/gpu": resource.MustParse("1"), v1.ResourceCPU: resource.MustParse("500m")},
	}}}
	return p
}

func testNodes(names ...string) []*framework.NodeInfo {
	var out []*framework.NodeInfo
	for _, n := range names {
		node := &v1.Node{ObjectMeta: v1.ObjectMeta{Name: n, Labels: map[string]string{"zone": "z1"}}}
		node.Status.Capacity = v1.ResourceList{v1.ResourceCPU: resource.MustParse("4")}
		node.Status.Allocatable = v1.ResourceList{v1.ResourceCPU: resource.MustParse("3500m")}
		out = append(out, framework.NewNodeInfo(node))
	}
	return out
}

func names(nodes []*framework.NodeInfo) []string {
	out := []string{}
	for _, n := range nodes {
		out = append(out, n.Name())
	}
	return out
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// mustJSON is v marshalled, for comparing what was sent.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// canonical re-encodes raw JSON so that key order does not matter.
func canonical(t *testing.T, raw []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("bad JSON %s: %v", raw, err)
	}
	return mustJSON(t, v)
}

func TestFilterKeepsAnswerInInputOrderWithReasons(t *testing.T) {
	t.Parallel()
	cfg, rec := startExtender(t, func(call) (int, any) {
		return 200, map[string]any{
			"Nodes":                      map[string]any{"items": []any{map[string]any{"metadata": map[string]string{"name": "c"}}, map[string]any{"metadata": map[string]string{"name": "a"}}}},
			"FailedNodes":                map[string]string{"b": "no gpu left", "d": "busy"},
			"FailedAndUnresolvableNodes": map[string]string{"d": "gpu driver missing"},
			"Error":                      "",
		}
	})
	e := newExtender(t, cfg)
	pod, nodes := testPod(), testNodes("a", "b", "c", "d", "e")

	passed, failed, err := e.Filter(context.Background(), pod, nodes)
	if err != nil {
		t.Fatalf("Filter: %v", err)
	}
	if got, want := names(passed), []string{"a", "c"}; !slices.Equal(got, want) {
		t.Errorf("passed = %v, want %v", got, want)
	}
	if passed[0] != nodes[0] || passed[1] != nodes[2] {
		t.Error("passed are not the NodeInfos given")
	}
	wantFailed := map[string]string{"b": "no gpu left", "d": "gpu driver missing", "e": "node(s) were rejected by extender " + cfg.URLPrefix}
	if !reflect.DeepEqual(failed, wantFailed) {
		t.Errorf("failed = %v, want %v", failed, wantFailed)
	}

	c := rec.only(t)
	if c.Method != http.MethodPost || c.Path != "/ext/filter" || c.ContentType != "application/json" {
		t.Errorf("request = %s %s (%s), want POST /ext/filter (application/json)", c.Method, c.Path, c.ContentType)
	}
	if got := keys(c.Body); !slices.Equal(got, []string{"Nodes", "Pod"}) {
		t.Errorf("request keys = %v, want [Nodes Pod]", got)
	}
	if got, want := canonical(t, c.Body["Pod"]), canonical(t, []byte(mustJSON(t, pod))); got != want {
		t.Errorf("Pod sent = %s, want Kennel's JSON %s", got, want)
	}
	var list struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(c.Body["Nodes"], &list); err != nil || len(list.Items) != len(nodes) {
		t.Fatalf("Nodes sent = %s (%v), want a list of %d items", c.Body["Nodes"], err, len(nodes))
	}
	for i, item := range list.Items {
		if got, want := canonical(t, item), canonical(t, []byte(mustJSON(t, nodes[i].Node))); got != want {
			t.Errorf("Nodes.items[%d] = %s, want %s", i, got, want)
		}
	}
}

func TestFilterRejectingEveryNodeIsEmptyNotNil(t *testing.T) {
	t.Parallel()
	cfg, _ := startExtender(t, func(call) (int, any) {
		return 200, `{"Nodes": {"items": []}, "FailedNodes": {"a": "no"}}`
	})
	passed, failed, err := newExtender(t, cfg).Filter(context.Background(), testPod(), testNodes("a"))
	if err != nil {
		t.Fatalf("Filter: %v", err)
	}
	if passed == nil || len(passed) != 0 {
		t.Errorf("passed = %#v, want empty and not nil (nil means no filter verb)", passed)
	}
	if !reflect.DeepEqual(failed, map[string]string{"a": "no"}) {
		t.Errorf("failed = %v", failed)
	}
}

func TestFilterNodeNotSentIsError(t *testing.T) {
	t.Parallel()
	cfg, _ := startExtender(t, func(call) (int, any) {
		return 200, `{"Nodes": {"items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "z"}}]}}`
	})
	_, _, err := newExtender(t, cfg).Filter(context.Background(), testPod(), testNodes("a", "b"))
	want := "scheduler: extender " + cfg.URLPrefix + ` filter: returned node "z" it was not sent`
	if err == nil || err.Error() != want {
		t.Fatalf("Filter error = %v, want %s", err, want)
	}
	var xe *Error
	if !errors.As(err, &xe) || xe.Op != "filter" || xe.Extender != cfg.URLPrefix {
		t.Errorf("error %v is not an *Error for the filter call", err)
	}
}

func TestFilterNodeCacheCapableSendsNamesOnly(t *testing.T) {
	t.Parallel()
	cfg, rec := startExtender(t, func(call) (int, any) {
		return 200, map[string]any{"NodeNames": []string{"b"}, "FailedNodes": map[string]string{"a": "cordoned here"}}
	})
	cfg.NodeCacheCapable = true
	passed, failed, err := newExtender(t, cfg).Filter(context.Background(), testPod(), testNodes("a", "b"))
	if err != nil {
		t.Fatalf("Filter: %v", err)
	}
	if got := names(passed); !slices.Equal(got, []string{"b"}) {
		t.Errorf("passed = %v, want [b]", got)
	}
	if !reflect.DeepEqual(failed, map[string]string{"a": "cordoned here"}) {
		t.Errorf("failed = %v", failed)
	}
	c := rec.only(t)
	if got := keys(c.Body); !slices.Equal(got, []string{"NodeNames", "Pod"}) {
		t.Errorf("request keys = %v, want [NodeNames Pod] (no Nodes)", got)
	}
	if got := string(c.Body["NodeNames"]); got != `["a","b"]` {
		t.Errorf("NodeNames = %s, want [\"a\",\"b\"]", got)
	}
}

func TestFilterExtenderErrorIsError(t *testing.T) {
	t.Parallel()
	cfg, _ := startExtender(t, func(call) (int, any) { return 200, `{"Error": "gpu inventory unavailable"}` })
	_, _, err := newExtender(t, cfg).Filter(context.Background(), testPod(), testNodes("a"))
	want := "scheduler: extender " + cfg.URLPrefix + " filter: extender error: gpu inventory unavailable"
	if err == nil || err.Error() != want {
		t.Fatalf("Filter error = %v, want %s", err, want)
	}
}

func TestWithoutVerbsNothingIsSent(t *testing.T) {
	t.Parallel()
	cfg, rec := startExtender(t, func(call) (int, any) { return 200, `{}` })
	cfg.FilterVerb, cfg.PrioritizeVerb, cfg.BindVerb = "", "", ""
	e := newExtender(t, cfg)
	passed, failed, err := e.Filter(context.Background(), testPod(), testNodes("a"))
	if passed != nil || failed != nil || err != nil {
		t.Errorf("Filter without verb = %v, %v, %v; want nil, nil, nil", passed, failed, err)
	}
	scores, err := e.Prioritize(context.Background(), testPod(), testNodes("a"))
	if scores != nil || err != nil {
		t.Errorf("Prioritize without verb = %v, %v; want nil, nil", scores, err)
	}
	if e.IsBinder() {
		t.Error("IsBinder without bind verb")
	}
	if err := e.Bind(context.Background(), testPod(), "a"); err == nil {
		t.Error("Bind without bind verb succeeded")
	}
	if calls := rec.all(); len(calls) != 0 {
		t.Errorf("extender received %v", calls)
	}
}

func TestPrioritizeScalesByWeight(t *testing.T) {
	t.Parallel()
	cfg, rec := startExtender(t, func(call) (int, any) {
		return 200, []map[string]any{
			{"Host": "a", "Score": 3}, {"Host": "b", "Score": 15}, {"Host": "c", "Score": -1}, {"Host": "zz", "Score": 7},
		}
	})
	cfg.Weight = 2
	scores, err := newExtender(t, cfg).Prioritize(context.Background(), testPod(), testNodes("a", "b", "c", "d"))
	if err != nil {
		t.Fatalf("Prioritize: %v", err)
	}
	// b and c are clamped to 10 and 0, d was not scored, zz was not sent.
	want := map[string]int64{"a": 60, "b": 200, "c": 0, "d": 0}
	if !reflect.DeepEqual(scores, want) {
		t.Errorf("scores = %v, want %v", scores, want)
	}
	c := rec.only(t)
	if c.Path != "/ext/prioritize" || !slices.Equal(keys(c.Body), []string{"Nodes", "Pod"}) {
		t.Errorf("request = %s with keys %v, want /ext/prioritize with [Nodes Pod]", c.Path, keys(c.Body))
	}
}

func TestBind(t *testing.T) {
	t.Parallel()
	answer := `{"Error": ""}`
	var mu sync.Mutex
	cfg, rec := startExtender(t, func(call) (int, any) {
		mu.Lock()
		defer mu.Unlock()
		return 200, answer
	})
	e := newExtender(t, cfg)
	if !e.IsBinder() {
		t.Fatal("IsBinder = false with a bind verb")
	}
	if err := e.Bind(context.Background(), testPod(), "node-1"); err != nil {
		t.Fatalf("Bind: %v", err)
	}
	c := rec.only(t)
	want := `{"Node":"node-1","PodName":"db-0","PodNamespace":"prod","PodUID":"uid-1"}`
	if c.Path != "/ext/bind" || mustJSON(t, c.Body) != want {
		t.Errorf("bind request = %s %s, want /ext/bind %s", c.Path, mustJSON(t, c.Body), want)
	}

	mu.Lock()
	answer = `{"Error": "node-1 is full"}`
	mu.Unlock()
	err := e.Bind(context.Background(), testPod(), "node-1")
	if want := "scheduler: extender " + cfg.URLPrefix + " bind: extender error: node-1 is full"; err == nil || err.Error() != want {
		t.Errorf("Bind error = %v, want %s", err, want)
	}
}

func TestBadAnswersAreErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		want   string // the error after "scheduler: extender <url> filter: "
	}{
		{"status 500", 500, "boom\n  on fire\n", "status 500: boom on fire"},
		{"status 404", 404, "", "status 404: "},
		{"not JSON", 200, "<html>", "decode answer: invalid character '<' looking for beginning of value"},
		{"wrong shape", 200, `{"Nodes": []}`, "decode answer: json: cannot unmarshal array into Go struct field filterResult.Nodes of type extender.namedList"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, _ := startExtender(t, func(call) (int, any) { return tt.status, tt.body })
			_, _, err := newExtender(t, cfg).Filter(context.Background(), testPod(), testNodes("a"))
			want := "scheduler: extender " + cfg.URLPrefix + " filter: " + tt.want
			if err == nil || err.Error() != want {
				t.Errorf("Filter error = %v\nwant %s", err, want)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	rec := &recorder{}
	srv := httptest.NewServer(extenderHandler(t, rec, func(call) (int, any) {
		<-release
		return 200, `[]`
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: lets srv.Close finish
	cfg := Config{URLPrefix: srv.URL, PrioritizeVerb: "prioritize", Weight: 1, HTTPTimeout: "200ms"}

	_, err := newExtender(t, cfg).Prioritize(context.Background(), testPod(), testNodes("a"))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Prioritize error = %v, want a timeout", err)
	}
	var xe *Error
	if !errors.As(err, &xe) || xe.Op != "prioritize" {
		t.Errorf("error %v is not an *Error for the prioritize call", err)
	}
}

func TestDefaultTimeout(t *testing.T) {
	t.Parallel()
	e := newExtender(t, Config{URLPrefix: "http://127.0.0.1:1/ext"})
	if e.client.Timeout != DefaultHTTPTimeout {
		t.Errorf("timeout = %s, want %s", e.client.Timeout, DefaultHTTPTimeout)
	}
	e = newExtender(t, Config{URLPrefix: "http://127.0.0.1:1/ext", HTTPTimeout: "1m30s"})
	if e.client.Timeout.String() != "1m30s" {
		t.Errorf("timeout = %s, want 1m30s", e.client.Timeout)
	}
}

func TestIsInterested(t *testing.T) {
	t.Parallel()
	gpu := v1.ResourceList{"example.com/gpu": resource.MustParse("1")}
	cpu := v1.ResourceList{v1.ResourceCPU: resource.MustParse("1")}
	pod := func(init bool, r v1.ResourceRequirements) *v1.Pod {
		p := &v1.Pod{}
		p.Spec.Containers = []v1.Container{{Name: "main", Resources: v1.ResourceRequirements{Requests: cpu}}}
		if init {
			p.Spec.InitContainers = []v1.Container{{Name: "init", Resources: r}}
		} else {
			p.Spec.Containers = append(p.Spec.Containers, v1.Container{Name: "side", Resources: r})
		}
		return p
	}
	managed := []ManagedResource{{Name: "example.com/gpu"}}
	tests := []struct {
		name    string
		managed []ManagedResource
		pod     *v1.Pod
		want    bool
	}{
		{"no managed resources", nil, pod(false, v1.ResourceRequirements{}), true},
		{"container requests", managed, pod(false, v1.ResourceRequirements{Requests: gpu}), true},
		{"container limits", managed, pod(false, v1.ResourceRequirements{Limits: gpu}), true},
		{"init container requests", managed, pod(true, v1.ResourceRequirements{Requests: gpu}), true},
		{"init container limits", managed, pod(true, v1.ResourceRequirements{Limits: gpu}), true},
		{"other resources only", managed, pod(false, v1.ResourceRequirements{Requests: cpu, Limits: cpu}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newExtender(t, Config{URLPrefix: "http://127.0.0.1:1", ManagedResources: tt.managed})
			if got := e.IsInterested(tt.pod); got != tt.want {
				t.Errorf("IsInterested = %v, want %v", got, tt.want)
			}
		})
	}
}

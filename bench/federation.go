package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/federation/member"
)

// fedNamespace holds the federated objects, on the federation and (as
// the member agents apply them) in the member.
const fedNamespace = "bench"

// FederationLoad is one federation propagation benchmark: Clusters
// members and Objects federated ConfigMaps, each with its own Placement
// naming one member.
type FederationLoad struct {
	Clusters, Objects int
	// Rate paces the creations (and the sampled updates and deletions),
	// in objects per second; zero means 50.
	Rate float64
	// Sample is how many objects are then updated, and how many deleted;
	// zero means min(100, Objects).
	Sample int
}

// FederationOptions is what MeasureFederation runs.
type FederationOptions struct {
	FederationLoad
	// Federation is an admin configuration of the federation's API, and
	// PID its process (`kennel federation up`, a process of its own so
	// that its memory is its alone).
	Federation client.Config
	PID        int
	// Member is an admin client of the API server every hollow member
	// applies its objects to.
	Member *client.Client
	// Logger receives the member agents' logs; nil discards them.
	Logger *slog.Logger
}

// Latency is the distribution of one kind of propagation.
type Latency struct {
	N             int
	P50, P99, Max time.Duration
}

func latencyOf(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	p50, p99, maxd := percentiles(d)
	return Latency{N: len(d), P50: p50, P99: p99, Max: maxd}
}

func (l Latency) String() string {
	return fmt.Sprintf("p50 %v p99 %v max %v (n=%d)", l.P50.Round(time.Millisecond), l.P99.Round(time.Millisecond), l.Max.Round(time.Millisecond), l.N)
}

// Propagation times one kind of change (create, update or delete of the
// ConfigMaps) from just before the call on the federation to its arrival
// at a watch of the federation's Works (ToWork: the federation
// controller's share) and at a watch of the member's API (ToMember: the
// whole path), all timed by the benchmark's clock.
type Propagation struct {
	ToWork, ToMember Latency
}

func (p Propagation) String() string {
	return fmt.Sprintf("to the member %v, to the Work %v", p.ToMember, p.ToWork)
}

// FederationResult is what MeasureFederation measured.
type FederationResult struct {
	Load FederationLoad
	// Join is from the members' start to every Cluster Ready.
	Join time.Duration
	// Rate is the creation rate achieved, objects per second.
	Rate                   float64
	Create, Update, Delete Propagation
	// The federation process's resident memory: before the members join
	// (FreshMB), with every member Ready and no object (IdleMB), once every object
	// was propagated (LoadedMB), and its peak (VmHWM) at the end.
	FreshMB, IdleMB, LoadedMB, PeakMB float64
	// CPUSeconds is the federation process's CPU time while the objects
	// were created and propagated, and Writes the writes its API served
	// meanwhile, by "verb resource", with the HTTP code appended when it
	// refused them (a Placement's status is an update of placements; the
	// benchmark itself never updates one).
	CPUSeconds float64
	Writes     map[string]float64
}

func (r FederationResult) String() string {
	return fmt.Sprintf("%d clusters (joined in %v), %d objects at %.0f/s; create: %v; update: %v; delete: %v; federation RSS fresh %.0f MB, idle %.0f MB, loaded %.0f MB, peak %.0f MB; federation CPU %.1f s while creating; writes %v",
		r.Load.Clusters, r.Join.Round(time.Millisecond), r.Load.Objects, r.Rate, r.Create, r.Update, r.Delete,
		r.FreshMB, r.IdleMB, r.LoadedMB, r.PeakMB, r.CPUSeconds, r.Writes)
}

// MeasureFederation joins o.Clusters hollow members to a fresh
// federation (real federation agents in this process, all applying to
// o.Member), creates o.Objects federated ConfigMaps at o.Rate and times
// each one's arrival in the member; then updates and deletes a sample of
// them the same way. It stops the members before it returns.
func MeasureFederation(ctx context.Context, o FederationOptions) (FederationResult, error) {
	o.FederationLoad = fedDefaults(o.FederationLoad)
	res := FederationResult{Load: o.FederationLoad}
	admin, err := client.New(o.Federation)
	if err != nil {
		return res, err
	}
	defer admin.Close()
	fed := &fedProcess{pid: o.PID, cfg: o.Federation, admin: admin}
	res.FreshMB = fed.memMB("VmRSS")
	if _, err := client.For[*v1.Namespace](fed.admin, "").Create(ctx, &v1.Namespace{ObjectMeta: v1.ObjectMeta{Name: fedNamespace}}); err != nil {
		return res, fmt.Errorf("bench: federation namespace %s: %w", fedNamespace, err)
	}
	began := time.Now()
	stopMembers, err := startMembers(ctx, fed, o)
	defer stopMembers()
	if err != nil {
		return res, err
	}
	if err := waitClustersReady(ctx, fed.admin, o.Clusters); err != nil {
		return res, err
	}
	res.Join = time.Since(began)
	res.IdleMB = fed.memMB("VmRSS")
	ends, err := watchEnds(ctx, fed.admin, o.Member)
	if err != nil {
		return res, err
	}
	defer ends.close()
	if err := propagate(ctx, fed, ends, &res); err != nil {
		return res, err
	}
	res.PeakMB = fed.memMB("VmHWM")
	return res, nil
}

func fedDefaults(l FederationLoad) FederationLoad {
	if l.Rate == 0 {
		l.Rate = 50
	}
	if l.Sample == 0 {
		l.Sample = min(100, l.Objects)
	}
	l.Sample = min(l.Sample, l.Objects)
	return l
}

// fedProcess is the federation: its process and an admin client.
type fedProcess struct {
	pid   int
	cfg   client.Config
	admin *client.Client
}

// memMB is a memory field of the process's /proc status (VmRSS, VmHWM)
// in MiB, 0 if it cannot be read.
func (f *fedProcess) memMB(field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", f.pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if fs := strings.Fields(line); len(fs) >= 2 && fs[0] == field+":" {
			kb, _ := strconv.ParseFloat(fs[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// startMembers runs one federation agent per cluster, each with its own
// cluster-role token on the federation and all on o.Member. The returned
// function stops them and waits.
func startMembers(ctx context.Context, fed *fedProcess, o FederationOptions) (func(), error) {
	mctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var clients []*client.Client
	stop := func() {
		cancel()
		wg.Wait()
		for _, c := range clients {
			c.Close()
		}
	}
	_, err := parallel(8, o.Clusters, func(_, i int) error {
		name := clusterName(i)
		tok, err := clusterToken(ctx, fed.admin, name)
		if err != nil {
			return err
		}
		cfg := fed.cfg
		cfg.Token = tok
		fc, err := client.New(cfg)
		if err != nil {
			return err
		}
		mu.Lock()
		clients = append(clients, fc)
		mu.Unlock()
		region, zone := fmt.Sprintf("r-%d", i%5), fmt.Sprintf("z-%d", i%20)
		mc := member.Config{Federation: fc, Member: o.Member, Cluster: name, Region: region, Zones: []string{zone},
			Labels: map[string]string{"region": region, "zone": zone}, Logger: o.Logger}
		if err := mc.Validate(); err != nil {
			return err
		}
		wg.Go(func() { member.Run(mctx, mc) })
		return nil
	})
	if err != nil {
		return stop, fmt.Errorf("bench: start members: %w", err)
	}
	return stop, nil
}

// clusterToken creates a token of the cluster role bound to cluster, as
// `kennel federation token create --cluster` does.
func clusterToken(ctx context.Context, admin *client.Client, cluster string) (string, error) {
	body, err := json.Marshal(map[string]string{"role": "cluster", "node": cluster, "description": "bench member " + cluster})
	if err != nil {
		return "", err
	}
	b, err := admin.Do(ctx, http.MethodPost, "/kennel/v1/tokens", body, "application/json")
	if err != nil {
		return "", fmt.Errorf("bench: token of cluster %s: %w", cluster, err)
	}
	var resp struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(b, &resp); err != nil || resp.Token == "" {
		return "", fmt.Errorf("bench: token of cluster %s: no token in %q", cluster, b)
	}
	return resp.Token, nil
}

// waitClustersReady polls the Clusters until n are Ready.
func waitClustersReady(ctx context.Context, fed *client.Client, n int) error {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	ready := 0
	for {
		list, err := client.For[*v1.Cluster](fed, "").List(ctx, client.ListOptions{})
		if err == nil {
			ready = 0
			for _, c := range list.Items {
				for _, cond := range c.Status.Conditions {
					if cond.Type == v1.ClusterReady && cond.Status == v1.ConditionTrue {
						ready++
					}
				}
			}
			if ready >= n {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bench: %d of %d clusters Ready: %w", ready, n, ctx.Err())
		case <-tick.C:
		}
	}
}

// objectName and clusterName name federated object i and member i.
func objectName(i int) string  { return fmt.Sprintf("o-%04d", i) }
func clusterName(i int) string { return fmt.Sprintf("m-%03d", i) }

// fedObject is federated object i: a ConfigMap of about 1 KiB.
func fedObject(i int) *v1.ConfigMap {
	cm := benchObject(objectName(i))
	cm.Namespace = fedNamespace
	cm.Data["rev"] = "1"
	return cm
}

// fedPlacement places object i on cluster m-<i mod clusters> alone.
func fedPlacement(i, clusters int) *v1.Placement {
	return &v1.Placement{
		ObjectMeta: v1.ObjectMeta{Name: fmt.Sprintf("p-%04d", i), Namespace: fedNamespace},
		Spec: v1.PlacementSpec{
			ResourceSelectors: []v1.ResourceSelector{{APIVersion: "v1", Kind: "ConfigMap", Name: objectName(i)}},
			ClusterAffinity:   &v1.ClusterAffinity{ClusterNames: []string{clusterName(i % clusters)}},
		},
	}
}

// paced runs op(i) for i in [lo, hi), op(i) starting no sooner than
// i-lo objects at rate after the start, and returns the rate achieved.
func paced(lo, hi int, rate float64, op func(i int) error) (float64, error) {
	start := time.Now()
	_, err := parallel(16, hi-lo, func(_, k int) error {
		if d := time.Until(start.Add(time.Duration(float64(k) / rate * float64(time.Second)))); d > 0 {
			time.Sleep(d) // pacing the load generator, not waiting on a condition
		}
		return op(lo + k)
	})
	return float64(hi-lo) / time.Since(start).Seconds(), err
}

// runPhase calls change(i, mark) for the objects [lo, hi) at rate;
// change calls mark just before the call on the federation that the
// latency is timed from. It then waits until the Works and the member
// show phase p for each object.
func runPhase(ctx context.Context, ends *ends, p phase, lo, hi int, rate float64, change func(i int, mark func()) error) (Propagation, float64, error) {
	sent := make([]time.Time, hi-lo)
	achieved, err := paced(lo, hi, rate, func(i int) error {
		return change(i, func() { sent[i-lo] = time.Now() })
	})
	if err != nil {
		return Propagation{}, 0, err
	}
	toWork, err := ends.works.wait(ctx, p, lo, sent)
	if err != nil {
		return Propagation{}, 0, fmt.Errorf("bench: on the federation: %w", err)
	}
	toMember, err := ends.member.wait(ctx, p, lo, sent)
	return Propagation{ToWork: latencyOf(toWork), ToMember: latencyOf(toMember)}, achieved, err
}

// propagate creates every object's Placement and then the object; then
// changes the data of the first l.Sample objects, and deletes the last
// l.Sample (not the updated ones when there are enough).
func propagate(ctx context.Context, fed *fedProcess, ends *ends, res *FederationResult) error {
	l := res.Load
	places, cms := client.For[*v1.Placement](fed.admin, fedNamespace), client.For[*v1.ConfigMap](fed.admin, fedNamespace)
	before, err := fed.scrape(ctx)
	if err != nil {
		return err
	}
	res.Create, res.Rate, err = runPhase(ctx, ends, seen, 0, l.Objects, l.Rate, func(i int, mark func()) error {
		if _, err := places.Create(ctx, fedPlacement(i, l.Clusters)); err != nil {
			return fmt.Errorf("bench: create placement %d: %w", i, err)
		}
		mark()
		_, err := cms.Create(ctx, fedObject(i))
		return wrapIndex("create object", i, err)
	})
	if err != nil {
		return err
	}
	after, err := fed.scrape(ctx)
	if err != nil {
		return err
	}
	res.LoadedMB = fed.memMB("VmRSS")
	res.CPUSeconds, res.Writes = after.cpu-before.cpu, after.since(before)
	res.Update, _, err = runPhase(ctx, ends, updated, 0, l.Sample, l.Rate, func(i int, mark func()) error {
		cm, err := cms.Get(ctx, objectName(i))
		if err != nil {
			return wrapIndex("read object", i, err)
		}
		cm.Data["rev"] = "2"
		mark()
		_, err = cms.Update(ctx, cm)
		return wrapIndex("update object", i, err)
	})
	if err != nil {
		return err
	}
	res.Delete, _, err = runPhase(ctx, ends, gone, l.Objects-l.Sample, l.Objects, l.Rate, func(i int, mark func()) error {
		mark()
		_, err := cms.Delete(ctx, objectName(i), client.DeleteOptions{})
		return wrapIndex("delete object", i, err)
	})
	return err
}

func wrapIndex(what string, i int, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("bench: %s %d: %w", what, i, err)
}

// fedMetrics is what the federation's /metrics said at one time.
type fedMetrics struct {
	cpu    float64
	writes map[string]float64
}

// scrape reads the federation's CPU time and its API's write counts.
func (f *fedProcess) scrape(ctx context.Context) (fedMetrics, error) {
	b, err := f.admin.Do(ctx, http.MethodGet, "/metrics", nil, "")
	if err != nil {
		return fedMetrics{}, fmt.Errorf("bench: the federation's metrics: %w", err)
	}
	m := fedMetrics{writes: map[string]float64{}}
	for _, line := range strings.Split(string(b), "\n") {
		fs := strings.Fields(line)
		if len(fs) != 2 {
			continue
		}
		v, _ := strconv.ParseFloat(fs[1], 64)
		switch {
		case fs[0] == "process_cpu_seconds_total":
			m.cpu = v
		case strings.HasPrefix(fs[0], "kennel_apiserver_requests_total{"):
			verb, key := label(fs[0], "verb"), label(fs[0], "verb")+" "+label(fs[0], "resource")
			if code := label(fs[0], "code"); !strings.HasPrefix(code, "2") {
				key += " " + code // refused
			}
			if verb == "create" || verb == "update" || verb == "patch" || verb == "delete" {
				m.writes[key] += v
			}
		}
	}
	return m, nil
}

// since is the writes counted after prev.
func (m fedMetrics) since(prev fedMetrics) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m.writes {
		if d := v - prev.writes[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

// label is the value of label name in a Prometheus series.
func label(series, name string) string {
	_, rest, ok := strings.Cut(series, name+`="`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

// phase is a change of an object that arrivals times.
type phase int

const (
	seen    phase = iota // present
	updated              // with the updated data (rev 2)
	gone                 // deleted
)

func (p phase) String() string { return [...]string{"applied", "updated", "deleted"}[p] }

// ends watches both ends of the propagation: the federation's Works and
// the member's ConfigMaps.
type ends struct {
	works  *arrivals[*v1.Work]
	member *arrivals[*v1.ConfigMap]
}

func watchEnds(ctx context.Context, fed, mem *client.Client) (*ends, error) {
	works, err := watchArrivals(ctx, client.For[*v1.Work](fed, ""), func(w *v1.Work) (int, bool, bool) {
		i, ok := indexOf(w.Name, fedNamespace+".configmap.o-%d")
		return i, w.Generation > 1, ok
	})
	if err != nil {
		return nil, fmt.Errorf("bench: watch the federation's Works: %w", err)
	}
	member, err := watchArrivals(ctx, client.For[*v1.ConfigMap](mem, fedNamespace), func(cm *v1.ConfigMap) (int, bool, bool) {
		i, ok := indexOf(cm.Name, "o-%d")
		return i, cm.Data["rev"] == "2", ok
	})
	if err != nil {
		works.close()
		return nil, fmt.Errorf("bench: watch the member's ConfigMaps: %w", err)
	}
	return &ends{works: works, member: member}, nil
}

func (e *ends) close() {
	e.works.close()
	e.member.close()
}

func indexOf(name, format string) (int, bool) {
	var i int
	_, err := fmt.Sscanf(name, format, &i)
	return i, err == nil
}

// arrivals times, per object index, when one watch of a resource first
// showed each phase of an object. classify says which object index an
// object is (ok false: none of the benchmark's) and whether it carries
// the update.
type arrivals[T v1.Object] struct {
	classify func(obj T) (i int, isUpdated, ok bool)
	mu       sync.Mutex
	at       [3]map[int]time.Time
	wake     chan struct{}
	stop     context.CancelFunc
	done     chan struct{}
}

func watchArrivals[T v1.Object](ctx context.Context, res *client.Resource[T], classify func(T) (int, bool, bool)) (*arrivals[T], error) {
	wctx, cancel := context.WithCancel(ctx)
	w, err := res.Watch(wctx, client.ListOptions{})
	if err != nil {
		cancel()
		return nil, err
	}
	a := &arrivals[T]{classify: classify, wake: make(chan struct{}, 1), stop: cancel, done: make(chan struct{})}
	for p := range a.at {
		a.at[p] = map[int]time.Time{}
	}
	go a.run(wctx, res, w)
	return a, nil
}

func (a *arrivals[T]) close() {
	a.stop()
	<-a.done
}

// run records the events, and when the stream ends watches again from
// the last revision seen (from the current state if it was compacted).
func (a *arrivals[T]) run(ctx context.Context, res *client.Resource[T], w *client.Watch[T]) {
	defer close(a.done)
	rv := ""
	for {
		for ev := range w.Events() {
			now := time.Now()
			if ev.Type == client.Error {
				if v1.IsGone(ev.Err) {
					rv = ""
				}
				continue
			}
			rv = ev.Object.GetObjectMeta().ResourceVersion
			a.record(ev, now)
		}
		for {
			var err error
			if w, err = res.Watch(ctx, client.ListOptions{ResourceVersion: rv}); err == nil {
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

func (a *arrivals[T]) record(ev client.Event[T], now time.Time) {
	i, isUpdated, ok := a.classify(ev.Object)
	if !ok {
		return
	}
	a.mu.Lock()
	first := func(p phase) {
		if _, ok := a.at[p][i]; !ok {
			a.at[p][i] = now
		}
	}
	if ev.Type == client.Deleted {
		first(gone)
	} else {
		first(seen)
		if isUpdated {
			first(updated)
		}
	}
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// wait returns, once phase p was seen for every object lo+k, how long
// after sent[k] it was.
func (a *arrivals[T]) wait(ctx context.Context, p phase, lo int, sent []time.Time) ([]time.Duration, error) {
	for {
		a.mu.Lock()
		lat := make([]time.Duration, 0, len(sent))
		for k, t0 := range sent {
			if t, ok := a.at[p][lo+k]; ok {
				lat = append(lat, t.Sub(t0))
			}
		}
		a.mu.Unlock()
		if len(lat) == len(sent) {
			return lat, nil
		}
		select {
		case <-a.wake:
		case <-ctx.Done():
			return lat, fmt.Errorf("bench: %d of %d objects %s: %w", len(lat), len(sent), p, ctx.Err())
		}
	}
}

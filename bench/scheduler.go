package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/scheduler"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
	"github.com/kennel-dev/kennel/internal/scheduler/plugins"
)

// SchedulerLoad is one scheduler benchmark: hollow nodes (Node objects in
// the real API and etcd, Ready, with no agent and no processes) and pods
// created against them.
type SchedulerLoad struct {
	Nodes, Pods int
	// Zones the nodes are spread over (label topology.kubernetes.io/zone).
	Zones int
	// PetsPerSet groups every pod into PetSets of this size: each pod
	// has a PetSet as its controller, so default pet spreading counts
	// its siblings. Zero: plain pods.
	PetsPerSet int
	// Creators is the number of clients creating pods at once.
	Creators int
	// Rate paces creation, in pods per second over all creators; zero
	// creates as fast as the API allows.
	Rate float64
	// Workers is the scheduler's Config.Workers (bindings in flight).
	Workers int
	// Ceiling replaces the default profile by one filter (cordoned
	// nodes) over 100 nodes at most and no scoring: what placing costs
	// without the scheduler's own work, so the API server, etcd, the
	// informers and the load generator alone.
	Ceiling bool
}

// SchedulerResult is what a load measured: throughput from the first
// pod's creation to the last binding written, and each pod's latency from
// just before its create call to the return of its binding's write (a
// conditional update, committed to etcd when it returns).
type SchedulerResult struct {
	Load          SchedulerLoad
	Elapsed       time.Duration
	PodsPerSec    float64
	P50, P99, Max time.Duration
	// HeapMB is the process's live heap after the run, and RSSMB its
	// resident memory: etcd, the API server, the scheduler and the
	// benchmark together, an upper bound for the scheduler's own.
	HeapMB, RSSMB float64
	// SchedulerHeapMB is the scheduler's own live heap: what the process's
	// live heap shrinks by once the scheduler (its caches of nodes and
	// pods) is stopped and dropped.
	SchedulerHeapMB float64
	// Evaluated is the mean number of nodes filtered per decision.
	Evaluated float64
}

func (r SchedulerResult) String() string {
	return fmt.Sprintf("%d nodes, %d pods (pets per set %d): %.0f pods/s over %v; creation→binding p50 %v p99 %v max %v; heap %.0f MB (scheduler's %.0f MB), RSS %.0f MB",
		r.Load.Nodes, r.Load.Pods, r.Load.PetsPerSet, r.PodsPerSec, r.Elapsed.Round(time.Millisecond),
		r.P50.Round(time.Millisecond), r.P99.Round(time.Millisecond), r.Max.Round(time.Millisecond), r.HeapMB, r.SchedulerHeapMB, r.RSSMB)
}

// MeasureScheduler registers load.Nodes hollow nodes through c, starts a
// scheduler (the default profile: resource fit, spreading, volumes …) on
// c, creates load.Pods pods and waits until every one is bound. The nodes
// and pods are left in place.
func MeasureScheduler(ctx context.Context, c *client.Client, load SchedulerLoad, log *slog.Logger) (SchedulerResult, error) {
	load = loadDefaults(load)
	res := SchedulerResult{Load: load}
	if _, err := parallel(64, load.Nodes, func(_, i int) error {
		_, err := client.For[*v1.Node](c, "").Create(ctx, hollowNode(i, load.Zones))
		return err
	}); err != nil {
		return res, fmt.Errorf("bench: create nodes: %w", err)
	}
	// Each binding is timed when its write returns: the scheduler's
	// conditional update has then been committed to etcd.
	bound := make(chan boundPod, load.Pods)
	onBound := func(p *v1.Pod, _ string) {
		var i int
		if _, err := fmt.Sscanf(p.Name, "pod-%d", &i); err == nil {
			bound <- boundPod{index: i, at: time.Now()}
		}
	}
	cfg := scheduler.Config{Workers: load.Workers, OnBound: onBound}
	if load.Ceiling {
		p, err := framework.NewProfileFromSet(map[string]framework.Plugin{plugins.NodeUnschedulableName: plugins.NodeUnschedulable{}},
			framework.PluginSet{Filter: []string{plugins.NodeUnschedulableName}}, framework.ProfileOptions{PercentageOfNodesToScore: 1})
		if err != nil {
			return res, err
		}
		cfg.Profile = p
	}
	s, err := scheduler.New(c, log, cfg)
	if err != nil {
		return res, err
	}
	sctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	wg.Go(func() { s.Run(sctx) })
	stopped := false
	stopScheduler := func() {
		if !stopped {
			stop()
			wg.Wait()
			stopped = true
		}
	}

	pods := client.For[*v1.Pod](c, "default")
	created := make([]time.Time, load.Pods)
	var mu sync.Mutex
	start := time.Now()
	creating := make(chan error, 1)
	go func() {
		_, err := parallel(load.Creators, load.Pods, func(_, i int) error {
			if load.Rate > 0 {
				if d := time.Until(start.Add(time.Duration(float64(i) / load.Rate * float64(time.Second)))); d > 0 {
					time.Sleep(d) // pacing the load generator, not waiting on a condition
				}
			}
			mu.Lock()
			created[i] = time.Now()
			mu.Unlock()
			_, err := pods.Create(ctx, benchPod(i, load.PetsPerSet))
			return err
		})
		creating <- err
	}()
	lat := make([]time.Duration, 0, load.Pods)
	var last time.Time
	for len(lat) < load.Pods {
		select {
		case err := <-creating:
			if err != nil {
				return res, fmt.Errorf("bench: create pods: %w", err)
			}
			creating = nil
		case b := <-bound:
			mu.Lock()
			lat = append(lat, b.at.Sub(created[b.index]))
			mu.Unlock()
			last = b.at
		case <-ctx.Done():
			return res, fmt.Errorf("bench: %d of %d pods bound: %w", len(lat), load.Pods, ctx.Err())
		}
	}
	res.Elapsed = last.Sub(start)
	res.PodsPerSec = float64(load.Pods) / res.Elapsed.Seconds()
	res.P50, res.P99, res.Max = percentiles(lat)
	res.Evaluated = s.MeanEvaluated()
	if rss, err := readRSS(os.Getpid()); err == nil {
		res.RSSMB = float64(rss) / (1 << 20)
	}
	res.HeapMB = liveHeapMB()
	stopScheduler()
	s = nil
	res.SchedulerHeapMB = res.HeapMB - liveHeapMB()
	return res, nil
}

// liveHeapMB is the live heap after a full collection.
func liveHeapMB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc) / (1 << 20)
}

func loadDefaults(l SchedulerLoad) SchedulerLoad {
	if l.Zones == 0 {
		l.Zones = 3
	}
	if l.Creators == 0 {
		l.Creators = 32
	}
	if l.Workers == 0 {
		l.Workers = 32
	}
	return l
}

type boundPod struct {
	index int
	at    time.Time
}

// hollowNode is a Ready node with room for 110 pods, in one of zones.
func hollowNode(i, zones int) *v1.Node {
	name := fmt.Sprintf("hollow-%05d", i)
	zone := fmt.Sprintf("zone-%d", i%zones)
	return &v1.Node{
		ObjectMeta: v1.ObjectMeta{Name: name, Labels: map[string]string{
			v1.LabelHostname: name, v1.LabelTopologyZone: zone, v1.LabelTopologyRegion: "bench",
		}},
		Status: v1.NodeStatus{
			Capacity:    hollowResources(),
			Allocatable: hollowResources(),
			Conditions:  []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue, Reason: "Hollow"}},
		},
	}
}

func hollowResources() v1.ResourceList {
	return v1.ResourceList{
		v1.ResourceCPU: resource.MustParse("32"), v1.ResourceMemory: resource.MustParse("128Gi"),
		v1.ResourcePods: resource.MustParse("110"), v1.ResourceNetworkBandwidth: resource.MustParse("10G"),
	}
}

// benchPod is pod i: small requests (and some network bandwidth), a PetSet
// controller when petsPerSet > 0.
func benchPod(i, petsPerSet int) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: v1.ObjectMeta{Name: fmt.Sprintf("pod-%d", i), Namespace: "default", Labels: map[string]string{"app": "bench"}},
		Spec: v1.PodSpec{Containers: []v1.Container{{Name: "main", Command: []string{"sleep", "3600"},
			Resources: v1.ResourceRequirements{Requests: v1.ResourceList{
				v1.ResourceCPU: resource.MustParse("100m"), v1.ResourceMemory: resource.MustParse("128Mi"),
				v1.ResourceNetworkBandwidth: resource.MustParse("10M"),
			}}}}},
	}
	if petsPerSet > 0 {
		set := i / petsPerSet
		yes := true
		p.Labels["petset"] = fmt.Sprint("set-", set)
		p.OwnerReferences = []v1.OwnerReference{{APIVersion: "apps/v1", Kind: "PetSet", Name: fmt.Sprint("set-", set),
			UID: fmt.Sprintf("00000000-0000-0000-0000-%012d", set), Controller: &yes}}
	}
	return p
}

package bench

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controlplane"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// BenchmarkScheduler measures the scheduler end to end against hollow
// nodes in a real API server and etcd: pods per second and each pod's
// latency from its creation to its binding persisted, at 500, 1,000 and
// 5,000 nodes. Pods are grouped into PetSets of 3, so default pet
// spreading is on for every pod. KENNEL_BENCH_SCHED_PODS overrides the
// number of pods (default 10 per node); KENNEL_BENCH_SCHED_RATE paces
// their creation (pods per second; default: as fast as the API takes
// them, so latency then includes the queue of pods not yet placed);
// KENNEL_BENCH_SCHED_CEILING=1 measures the same with a scheduler that
// does almost nothing (see SchedulerLoad.Ceiling).
//
//	go test ./bench -run '^$' -bench Scheduler -benchtime 1x -timeout 30m
func BenchmarkScheduler(b *testing.B) {
	// The process runs a control plane: the collector's target is the
	// one `kennel server` and `kennel up` set (GOGC overrides it, as
	// there).
	prev := debug.SetGCPercent(100)
	debug.SetGCPercent(prev)
	defer debug.SetGCPercent(prev)
	gogc, _ := controlplane.TuneGC()
	b.Logf("GOGC %s", gogc)
	for _, nodes := range []int{500, 1000, 5000} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			pods := nodes * 10
			if v, err := strconv.Atoi(os.Getenv("KENNEL_BENCH_SCHED_PODS")); err == nil && v > 0 {
				pods = v
			}
			rate, _ := strconv.ParseFloat(os.Getenv("KENNEL_BENCH_SCHED_RATE"), 64)
			ceiling := os.Getenv("KENNEL_BENCH_SCHED_CEILING") != ""
			for i := 0; i < b.N; i++ {
				cl := testcluster.Start(b)
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
				r, err := MeasureScheduler(ctx, cl.Admin, SchedulerLoad{Nodes: nodes, Pods: pods, PetsPerSet: 3, Rate: rate, Ceiling: ceiling}, nil)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				b.Log(r)
				b.ReportMetric(r.PodsPerSec, "pods/s")
				b.ReportMetric(float64(r.P99.Milliseconds()), "p99-ms")
				b.ReportMetric(r.RSSMB, "rss-MB")
				b.ReportMetric(r.Evaluated, "nodes-filtered/pod")
			}
		})
	}
}

// TestSchedulerHarness runs the benchmark's harness small, so that it
// keeps working: every pod is bound, pets of a set on different nodes.
func TestSchedulerHarness(t *testing.T) {
	cl := testcluster.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := MeasureScheduler(ctx, cl.Admin, SchedulerLoad{Nodes: 30, Pods: 90, PetsPerSet: 3}, testcluster.FailureLog(t, 32<<10))
	if err != nil {
		t.Fatal(err)
	}
	if r.PodsPerSec <= 0 || r.P99 <= 0 || r.P99 > r.Max || r.Evaluated != 30 {
		t.Fatalf("implausible result: %+v", r)
	}
	// Default pet spreading: the three pets of a set on three nodes.
	pods, err := client.For[*v1.Pod](cl.Admin, "default").List(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nodes := map[string]map[string]bool{}
	for _, p := range pods.Items {
		set := p.Labels["petset"]
		if nodes[set] == nil {
			nodes[set] = map[string]bool{}
		}
		if nodes[set][p.Spec.NodeName] {
			t.Fatalf("two pets of %s on node %s", set, p.Spec.NodeName)
		}
		nodes[set][p.Spec.NodeName] = true
	}
	t.Log(r)
}

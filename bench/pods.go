package bench

import (
	"context"
	"fmt"
	"sort"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// PodStartResult is the latency from a pod's binding being written to its
// process running, and to its Ready condition, as a watcher of the API
// sees them (so each includes the agent's status write).
type PodStartResult struct {
	Pods                   int
	RunningP50, RunningP99 time.Duration
	ReadyP50, ReadyP99     time.Duration
	RunningMax, ReadyMax   time.Duration
	// BindWrite is how long the binding's own write took (not included
	// above).
	BindWriteP50, BindWriteP99 time.Duration
}

func (r PodStartResult) String() string {
	return fmt.Sprintf("%d pods: binding→running p50 %v p99 %v (max %v); binding→Ready p50 %v p99 %v (max %v); the binding write itself p50 %v p99 %v",
		r.Pods, r.RunningP50.Round(time.Millisecond), r.RunningP99.Round(time.Millisecond), r.RunningMax.Round(time.Millisecond),
		r.ReadyP50.Round(time.Millisecond), r.ReadyP99.Round(time.Millisecond), r.ReadyMax.Round(time.Millisecond),
		r.BindWriteP50.Round(time.Millisecond), r.BindWriteP99.Round(time.Millisecond))
}

// MeasurePodStart creates n pods (command argv, an exec readiness probe
// that passes at once) in namespace ns, unbound, then binds them to node
// one at a time, the way the scheduler does (a conditional update of
// spec.nodeName), timing each from the moment its binding is written (the
// update has returned) until a watch shows it running and then Ready.
// Pods are left running.
func MeasurePodStart(ctx context.Context, c *client.Client, ns, node string, n int, argv []string) (PodStartResult, error) {
	pods := client.For[*v1.Pod](c, ns)
	w, err := pods.Watch(ctx, client.ListOptions{})
	if err != nil {
		return PodStartResult{}, err
	}
	defer w.Stop()
	var running, ready, writes []time.Duration
	for i := range n {
		p := &v1.Pod{ObjectMeta: v1.ObjectMeta{Name: fmt.Sprintf("start-%03d", i), Namespace: ns},
			Spec: v1.PodSpec{SchedulerName: "none", Containers: []v1.Container{{Name: "main", Command: argv,
				ReadinessProbe: &v1.Probe{ProbeHandler: v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"true"}}}, PeriodSeconds: 10}}}}}
		p, err := pods.Create(ctx, p)
		if err != nil {
			return PodStartResult{}, err
		}
		p.Spec.NodeName = node
		writing := time.Now()
		if _, err := pods.Update(ctx, p); err != nil {
			return PodStartResult{}, fmt.Errorf("bind %s: %w", p.Name, err)
		}
		// The binding is written (committed to etcd) when the update
		// returns; the write's own time is reported apart.
		began := time.Now()
		writes = append(writes, began.Sub(writing))
		r, rd, err := waitStarted(ctx, w, p.Name, began)
		if err != nil {
			return PodStartResult{}, err
		}
		running, ready = append(running, r), append(ready, rd)
	}
	res := PodStartResult{Pods: n}
	res.RunningP50, res.RunningP99, res.RunningMax = percentiles(running)
	res.ReadyP50, res.ReadyP99, res.ReadyMax = percentiles(ready)
	res.BindWriteP50, res.BindWriteP99, _ = percentiles(writes)
	return res, nil
}

// waitStarted reads the watch until pod name is running and then Ready.
func waitStarted(ctx context.Context, w *client.Watch[*v1.Pod], name string, began time.Time) (running, ready time.Duration, err error) {
	timeout := time.After(30 * time.Second)
	for ready == 0 {
		select {
		case ev, ok := <-w.Events():
			if !ok {
				return 0, 0, fmt.Errorf("watch ended")
			}
			p := ev.Object
			if p == nil || p.Name != name {
				continue
			}
			if running == 0 && len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].State.Running != nil {
				running = time.Since(began)
			}
			if v1.IsPodReady(p) {
				ready = time.Since(began)
				if running == 0 {
					running = ready
				}
			}
		case <-timeout:
			return 0, 0, fmt.Errorf("pod %s not Ready after 30s", name)
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		}
	}
	return running, ready, nil
}

func percentiles(d []time.Duration) (p50, p99, maxd time.Duration) {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	at := func(q float64) time.Duration { return d[min(len(d)-1, int(q*float64(len(d))))] }
	return at(0.50), at(0.99), d[len(d)-1]
}

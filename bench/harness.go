package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// WriteResult is the throughput of one concurrency level. Creates are
// compared with raw puts of new keys, updates with raw puts over existing
// keys: the same work at etcd's level.
type WriteResult struct {
	Clients                            int
	Ops                                int
	RawPutsPerSec, RawOverwritesPerSec float64
	CreatesPerSec, UpdatesPerSec       float64
}

// CreateRatio is API creates per raw etcd put of a new key.
func (r WriteResult) CreateRatio() float64 { return r.CreatesPerSec / r.RawPutsPerSec }

// UpdateRatio is API updates per raw etcd put over an existing key.
func (r WriteResult) UpdateRatio() float64 { return r.UpdatesPerSec / r.RawOverwritesPerSec }

func (r WriteResult) String() string {
	return fmt.Sprintf("%3d clients: creates: raw etcd %6.0f/s, API %6.0f/s (%.2fx) | updates: raw etcd %6.0f/s, API %6.0f/s (%.2fx)",
		r.Clients, r.RawPutsPerSec, r.CreatesPerSec, r.CreateRatio(), r.RawOverwritesPerSec, r.UpdatesPerSec, r.UpdateRatio())
}

// benchObject is a ConfigMap of about 1 KiB, the size the raw puts use too.
func benchObject(name string) *v1.ConfigMap {
	return &v1.ConfigMap{
		TypeMeta:   v1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: v1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": "bench"}},
		Data:       map[string]string{"payload": strings.Repeat("x", 900)},
	}
}

// parallel runs op(i) for i in [0,n) over clients goroutines and returns
// the rate in ops per second. It stops at the first error.
func parallel(clients, n int, op func(worker, i int) error) (float64, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for w := 0; w < clients; w++ {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || firstErr.Load() != nil {
					return
				}
				if err := op(w, i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// MeasureWrites runs raw etcd puts, API creates and API updates of the
// same ~1 KiB objects at one concurrency level, in the same process. The
// three are interleaved over rounds and each rate is the median of its
// rounds, so that a machine whose speed drifts (shared CPUs) skews the
// baseline and the API alike.
func MeasureWrites(ctx context.Context, etcd *clientv3.Client, c *client.Client, run string, clients, ops, rounds int) (WriteResult, error) {
	res := WriteResult{Clients: clients, Ops: ops}
	var rates [4][]float64
	per := ops / rounds
	for r := 0; r < rounds; r++ {
		got, err := writeRound(ctx, etcd, c, fmt.Sprintf("%s-%d", run, r), clients, per)
		if err != nil {
			return res, err
		}
		for i := range got {
			rates[i] = append(rates[i], got[i])
		}
	}
	res.RawPutsPerSec, res.CreatesPerSec = median(rates[0]), median(rates[1])
	res.RawOverwritesPerSec, res.UpdatesPerSec = median(rates[2]), median(rates[3])
	return res, nil
}

func median(x []float64) float64 {
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// writeRound measures one round: raw puts of new keys, API creates, raw
// puts over the keys just written, API updates.
func writeRound(ctx context.Context, etcd *clientv3.Client, c *client.Client, run string, clients, ops int) ([4]float64, error) {
	var rates [4]float64
	var err error
	rawPuts := func(payload string) (float64, error) {
		obj := benchObject("raw")
		obj.Data["payload"] = strings.Repeat(payload, 900)
		b, _ := json.Marshal(obj)
		return parallel(clients, ops, func(_, i int) error {
			_, err := etcd.Put(ctx, fmt.Sprintf("/bench-raw/%s/%d", run, i), string(b))
			return err
		})
	}
	if rates[0], err = rawPuts("x"); err != nil {
		return rates, fmt.Errorf("raw puts: %w", err)
	}
	cms := client.For[*v1.ConfigMap](c, "default")
	created := make([]*v1.ConfigMap, ops)
	rates[1], err = parallel(clients, ops, func(_, i int) error {
		obj, err := cms.Create(ctx, benchObject(fmt.Sprintf("%s-%d", run, i)))
		created[i] = obj
		return err
	})
	if err != nil {
		return rates, fmt.Errorf("API creates: %w", err)
	}
	if rates[2], err = rawPuts("y"); err != nil {
		return rates, fmt.Errorf("raw overwrites: %w", err)
	}
	rates[3], err = parallel(clients, ops, func(_, i int) error {
		obj := created[i]
		obj.Data["payload"] = strings.Repeat("y", 900)
		_, err := cms.Update(ctx, obj)
		return err
	})
	if err != nil {
		return rates, fmt.Errorf("API updates: %w", err)
	}
	return rates, nil
}

// WatchResult is the delivery latency of changes to many watchers.
type WatchResult struct {
	Watchers, Changes int
	P50, P99, Max     time.Duration
}

func (r WatchResult) String() string {
	return fmt.Sprintf("%d watchers × %d changes: p50 %v, p99 %v, max %v", r.Watchers, r.Changes, r.P50, r.P99, r.Max)
}

// MeasureWatchFanout opens watchers watches (spread over conns clients),
// makes changes one at a time and measures, for every watcher, the time
// from the start of the write to the event's arrival.
func MeasureWatchFanout(ctx context.Context, clients []*client.Client, watchers, changes int) (WatchResult, error) {
	res := WatchResult{Watchers: watchers, Changes: changes}
	cms := client.For[*v1.ConfigMap](clients[0], "default")
	obj, err := cms.Create(ctx, benchObject(fmt.Sprintf("watched-%d", time.Now().UnixNano())))
	if err != nil {
		return res, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	arrivals := make(chan time.Duration, watchers*changes)
	var writeStart atomic.Int64
	var ready sync.WaitGroup
	for i := 0; i < watchers; i++ {
		w, err := client.For[*v1.ConfigMap](clients[i%len(clients)], "default").Watch(ctx, client.ListOptions{
			ResourceVersion: obj.ResourceVersion, FieldSelector: "metadata.name=" + obj.Name})
		if err != nil {
			return res, fmt.Errorf("watcher %d: %w", i, err)
		}
		ready.Add(1)
		go func() {
			defer ready.Done()
			for n := 0; n < changes; n++ {
				select {
				case _, ok := <-w.Events():
					if !ok {
						return
					}
					arrivals <- time.Duration(time.Now().UnixNano() - writeStart.Load())
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	var lat []time.Duration
	for n := 0; n < changes; n++ {
		obj.Data["payload"] = fmt.Sprintf("change-%d", n)
		writeStart.Store(time.Now().UnixNano())
		if obj, err = cms.Update(ctx, obj); err != nil {
			return res, err
		}
		for i := 0; i < watchers; i++ {
			select {
			case d := <-arrivals:
				lat = append(lat, d)
			case <-time.After(30 * time.Second):
				return res, fmt.Errorf("change %d: only %d of %d watchers saw it", n, i, watchers)
			}
		}
	}
	cancel()
	ready.Wait()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	res.P50, res.P99, res.Max = lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1]
	return res, nil
}

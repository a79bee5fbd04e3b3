package controller

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are one controller's series of the shared controller metrics,
// which carry a "controller" label so all controllers share one registry.
type metrics struct {
	syncs    prometheus.Counter
	errors   prometheus.Counter
	requeues prometheus.Counter
	depth    prometheus.Gauge
	duration prometheus.Observer
}

// newMetrics returns name's series, registered with reg unless reg is nil
// (then they are counted but not exported). Several controllers register
// with one registry: the first registers the vectors, the others reuse them.
func newMetrics(reg prometheus.Registerer, name string) (*metrics, error) {
	const ns, sub = "kennel", "controller"
	label := []string{"controller"}
	syncs := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
		Name: "syncs_total", Help: "Calls of a controller's sync function."}, label)
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
		Name: "sync_errors_total", Help: "Sync calls that failed or panicked."}, label)
	requeues := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
		Name: "requeues_total", Help: "Keys requeued after a sync, by back-off or RequeueAfter."}, label)
	depth := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
		Name: "queue_depth", Help: "Keys ready in a controller's work queue."}, label)
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
		Name: "sync_duration_seconds", Help: "Time spent in a controller's sync function.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}, label)
	if reg != nil {
		var err error
		if syncs, err = register(reg, syncs); err != nil {
			return nil, err
		}
		if errs, err = register(reg, errs); err != nil {
			return nil, err
		}
		if requeues, err = register(reg, requeues); err != nil {
			return nil, err
		}
		if depth, err = register(reg, depth); err != nil {
			return nil, err
		}
		if duration, err = register(reg, duration); err != nil {
			return nil, err
		}
	}
	return &metrics{
		syncs:    syncs.WithLabelValues(name),
		errors:   errs.WithLabelValues(name),
		requeues: requeues.WithLabelValues(name),
		depth:    depth.WithLabelValues(name),
		duration: duration.WithLabelValues(name),
	}, nil
}

// register registers c, or returns the equal collector registered before.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, fmt.Errorf("controller: register metrics: %w", err)
}

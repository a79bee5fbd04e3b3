package apiserver

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the API server's Prometheus series.
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	watchers *prometheus.GaugeVec
	store    *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer, resources []string) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kennel_apiserver_requests_total",
			Help: "API requests by verb, resource and HTTP code.",
		}, []string{"verb", "resource", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kennel_apiserver_request_duration_seconds",
			Help:    "API request latency by verb and resource (watches excluded).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"verb", "resource"}),
		watchers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kennel_apiserver_watchers",
			Help: "Open watch streams by resource.",
		}, []string{"resource"}),
		store: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kennel_store_request_duration_seconds",
			Help:    "etcd request latency by operation.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"operation"}),
	}
	reg.MustRegister(m.requests, m.latency, m.watchers, m.store)
	for _, r := range resources {
		m.watchers.WithLabelValues(r) // a series per resource from the start
	}
	return m
}

func (m *metrics) observe(verb, resource string, code int, start time.Time) {
	m.requests.WithLabelValues(verb, resource, strconv.Itoa(code)).Inc()
	if verb != verbWatch {
		m.latency.WithLabelValues(verb, resource).Observe(time.Since(start).Seconds())
	}
}

// count records a request without its latency, for streams that last as
// long as the caller wants (logs followed, commands run).
func (m *metrics) count(verb, resource string, code int) {
	m.requests.WithLabelValues(verb, resource, strconv.Itoa(code)).Inc()
}

func (m *metrics) storeOp(op string, start time.Time) {
	m.store.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

package aggregator

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wisp-project/wisp/internal/api"
)

// metrics are the server's Prometheus series. Labels are bounded sets
// (reject reasons, transaction names, status classes) — never a campaign,
// a report or a client.
type metrics struct {
	reg        *prometheus.Registry
	accepted   prometheus.Counter
	rejected   *prometheus.CounterVec
	batches    *prometheus.CounterVec
	overloaded prometheus.Counter
	slowBodies prometheus.Counter
	queueDepth prometheus.Gauge
	inflight   prometheus.Gauge
	storeTx    *prometheus.HistogramVec
	openSecs   prometheus.Histogram
}

func newMetrics(reg *prometheus.Registry) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	m := &metrics{
		reg: reg,
		accepted: prometheus.NewCounter(prometheus.CounterOpts{Name: "wisp_ingest_reports_accepted_total",
			Help: "Reports stored durably and acknowledged (rate() of this is the ingest rate)."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wisp_ingest_reports_rejected_total",
			Help: "Reports rejected, by reason."}, []string{"reason"}),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wisp_ingest_batches_total",
			Help: "Report batches by HTTP status."}, []string{"status"}),
		overloaded: prometheus.NewCounter(prometheus.CounterOpts{Name: "wisp_ingest_overloaded_total",
			Help: "Batches turned away with 429 because the ingest queue was full."}),
		slowBodies: prometheus.NewCounter(prometheus.CounterOpts{Name: "wisp_ingest_slow_bodies_total",
			Help: "Batches cut off with 408 because their body arrived too slowly."}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{Name: "wisp_ingest_queue_depth",
			Help: "Batches waiting for an ingest slot."}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "wisp_ingest_inflight",
			Help: "Batches being processed."}),
		storeTx: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "wisp_store_tx_seconds",
			Help: "Store transaction latency by transaction name.", Buckets: prometheus.ExponentialBuckets(0.0002, 2.5, 12)},
			[]string{"tx", "outcome"}),
		openSecs: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "wisp_ingest_open_seconds",
			Help: "Time to decode and open one batch's reports.", Buckets: prometheus.ExponentialBuckets(0.0001, 3, 10)}),
	}
	reg.MustRegister(m.accepted, m.rejected, m.batches, m.overloaded, m.slowBodies, m.queueDepth, m.inflight, m.storeTx, m.openSecs)
	for _, r := range api.AllReasons() {
		m.rejected.WithLabelValues(string(r)) // every reason present from the start, at 0
	}
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

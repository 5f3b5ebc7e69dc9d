package aggregator

import (
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wisp-project/wisp/aggregator/store"
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

	// perCampaign are the counts a tenant's marketers may see (GET
	// /v1/metrics), kept beside the node-wide series only operators see.
	// Keys are registered campaigns only, so their number is bounded by
	// the campaign quota.
	since       time.Time
	mu          sync.Mutex
	perCampaign map[string]*campaignCount
}

type campaignCount struct {
	tenant   string
	accepted int64
	rejected map[api.Reason]int64
}

func newMetrics(reg *prometheus.Registry) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	m := &metrics{
		reg: reg, since: time.Now().UTC(), perCampaign: map[string]*campaignCount{},
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

// countCampaigns adds a batch's outcomes to the counts of the campaigns
// its reports name (reports[i].Campaign, also set for most rejected
// ones), if snap has them: one lock per batch.
func (m *metrics) countCampaigns(snap *snapshot, reports []store.Report, results []api.Result) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, res := range results {
		r, ok := snap.campaigns[reports[i].Campaign]
		if !ok {
			continue
		}
		c := m.perCampaign[r.ID]
		if c == nil {
			c = &campaignCount{tenant: r.tenant, rejected: map[api.Reason]int64{}}
			m.perCampaign[r.ID] = c
		}
		if res.Accepted {
			c.accepted++
		} else {
			c.rejected[res.Reason]++
		}
	}
}

// ingestFor is the per-campaign counts of the campaigns p may see, by id.
func (m *metrics) ingestFor(p Principal) api.IngestMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := api.IngestMetrics{Since: m.since, Campaigns: []api.CampaignIngest{}}
	for id, c := range m.perCampaign {
		if !p.sees(c.tenant) {
			continue
		}
		rejected := make(map[api.Reason]int64, len(c.rejected))
		for r, n := range c.rejected {
			rejected[r] = n
		}
		out.Campaigns = append(out.Campaigns, api.CampaignIngest{Campaign: id, Tenant: c.tenant, Accepted: c.accepted, Rejected: rejected})
	}
	sort.Slice(out.Campaigns, func(i, j int) bool { return out.Campaigns[i].Campaign < out.Campaigns[j].Campaign })
	return out
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

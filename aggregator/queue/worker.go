package queue

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wisp-project/wisp/aggregator"
)

// Ingest opens, validates and commits a batch: Server.IngestQueued. It
// returns an error only when nothing of the batch may count as done.
type Ingest func(ctx context.Context, reports []aggregator.Queued) (stored int, err error)

// Worker pulls batches from the queue's durable consumer, ingests each
// and acks its messages after the commit. Any number of workers, in any
// number of processes, share the consumer.
type Worker struct {
	q      *Queue
	ingest Ingest
	batch  int
	log    *slog.Logger

	lag      prometheus.Gauge
	stored   prometheus.Counter
	failures prometheus.Counter
}

// WorkerOptions tune a worker; zero fields take the defaults.
type WorkerOptions struct {
	Batch    int                   // messages per fetch and commit; 0: 4000
	Logger   *slog.Logger          // nil: slog.Default()
	Registry prometheus.Registerer // receives the worker's metrics; nil: none
}

// NewWorker returns a worker of q that hands batches to ingest.
func NewWorker(q *Queue, ingest Ingest, o WorkerOptions) (*Worker, error) {
	if o.Batch <= 0 {
		o.Batch = 4000
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	w := &Worker{q: q, ingest: ingest, batch: o.Batch, log: o.Logger,
		lag: prometheus.NewGauge(prometheus.GaugeOpts{Name: "wisp_queue_consumer_lag",
			Help: "Reports in the stream not yet delivered to a worker (as of this worker's last fetch)."}),
		stored: prometheus.NewCounter(prometheus.CounterOpts{Name: "wisp_queue_reports_stored_total",
			Help: "Reports this process's workers committed to the store."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "wisp_queue_batch_failures_total",
			Help: "Batches not committed (store unavailable); they are delivered again."}),
	}
	if o.Registry != nil {
		for _, c := range []prometheus.Collector{w.lag, w.stored, w.failures} {
			if err := o.Registry.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return w, nil
}

// fetchWait is how long one fetch waits for a full batch.
const fetchWait = 500 * time.Millisecond

// Run works until ctx ends. The next batch is fetched while one is
// ingested (prefetch), so the cores open reports instead of waiting for
// the stream's round trip. A batch whose commit fails is handed back
// (nak with a growing delay) and the worker waits that long itself, so a
// store outage costs retries, not reports.
func (w *Worker) Run(ctx context.Context) error {
	batches := make(chan []jetstream.Msg)
	go w.prefetch(ctx, batches)
	backoff := time.Duration(0)
	for msgs := range batches {
		if ctx.Err() != nil {
			nak(msgs, 0) // stopping: let another worker have them now
			continue
		}
		if err := w.process(ctx, msgs); err != nil {
			w.failures.Inc()
			backoff = min(max(2*backoff, 250*time.Millisecond), 5*time.Second)
			if ctx.Err() != nil {
				backoff = 0
			}
			nak(msgs, backoff)
			w.log.Warn("queue: batch not committed; delivered again", "reports", len(msgs), "retry_in", backoff, "err", err)
			sleep(ctx, backoff)
			continue
		}
		backoff = 0
	}
	return nil
}

// prefetch fetches batches into out until ctx ends, then closes it: at
// most one batch waits while Run ingests another, and one fetched when
// ctx ended is handed back at once.
func (w *Worker) prefetch(ctx context.Context, out chan<- []jetstream.Msg) {
	defer close(out)
	for ctx.Err() == nil {
		msgs, err := w.fetch()
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("queue: fetch", "err", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		if len(msgs) == 0 {
			w.lag.Set(0)
			continue
		}
		select {
		case out <- msgs:
		case <-ctx.Done():
			nak(msgs, 0)
		}
	}
}

// nak hands msgs back for redelivery after delay.
func nak(msgs []jetstream.Msg, delay time.Duration) {
	for _, m := range msgs {
		m.NakWithDelay(delay)
	}
}

// fetch pulls up to one batch.
func (w *Worker) fetch() ([]jetstream.Msg, error) {
	b, err := w.q.cons.Fetch(w.batch, jetstream.FetchMaxWait(fetchWait))
	if err != nil {
		return nil, err
	}
	msgs := make([]jetstream.Msg, 0, w.batch)
	for m := range b.Messages() {
		msgs = append(msgs, m)
	}
	if err := b.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && len(msgs) == 0 {
		return nil, err
	}
	return msgs, nil
}

// process ingests msgs in one commit and then acks them. A lost ack only
// means a redelivery, which the store rejects as replays.
func (w *Worker) process(ctx context.Context, msgs []jetstream.Msg) error {
	reports := make([]aggregator.Queued, len(msgs))
	for i, m := range msgs {
		reports[i] = aggregator.Queued{Envelope: m.Data(), AcceptedAt: acceptedAt(m), Token: tokenOf(m)}
	}
	if md, err := msgs[len(msgs)-1].Metadata(); err == nil {
		w.lag.Set(float64(md.NumPending))
	}
	n, err := w.ingest(ctx, reports)
	if err != nil {
		return err
	}
	w.stored.Add(float64(n))
	for _, m := range msgs {
		m.Ack()
	}
	return nil
}

// acceptedAt is when m's front end accepted it: its header, else the
// time the stream stored it.
func acceptedAt(m jetstream.Msg) time.Time {
	if ns, err := strconv.ParseInt(m.Headers().Get(acceptedHeader), 10, 64); err == nil {
		return time.Unix(0, ns)
	}
	if md, err := m.Metadata(); err == nil {
		return md.Timestamp
	}
	return time.Now()
}

// tokenOf is m's report token (nil: none). One that does not decode is
// passed on as it is, for ingest to refuse.
func tokenOf(m jetstream.Msg) []byte {
	h := m.Headers().Get(tokenHeader)
	if h == "" {
		return nil
	}
	if b, err := base64.RawURLEncoding.DecodeString(h); err == nil {
		return b
	}
	return []byte(h)
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

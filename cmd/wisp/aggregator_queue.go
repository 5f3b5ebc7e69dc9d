package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/queue"
)

// queueOptions are the --queue flags serve and work share: every front
// end and worker of a deployment needs the same stream settings.
type queueOptions struct {
	url string
	cfg queue.Config
}

// aggQueueFlags adds --queue and the stream's settings to cmd.
func aggQueueFlags(cmd *cobra.Command, o *queueOptions, usage string) {
	f := cmd.Flags()
	f.StringVar(&o.url, "queue", os.Getenv("WISP_QUEUE"), usage+" (env WISP_QUEUE)")
	f.IntVar(&o.cfg.Replicas, "queue-replicas", 1, "stream replicas: 1, or 3 on a JetStream cluster (acknowledged by a quorum)")
	f.Int64Var(&o.cfg.MaxBytes, "queue-max-bytes", 0, "reports waiting in the stream before front ends answer 429 (0: 1 GiB)")
	durationVar(f, &o.cfg.MaxAge, "queue-max-age", 0, "longest a report may wait for a worker: longer than any store outage to survive, within --rotate-overlap (0: 24h)")
}

// connect dials the queue and creates or updates its stream and consumer.
func (o *queueOptions) connect(ctx context.Context, name string) (*queue.Queue, func(), error) {
	return queue.Dial(ctx, o.url, name, o.cfg)
}

// needShared refuses a queue on an SQLite store: its workers are other
// processes, maybe other machines, and must share the front ends' store.
func needShared(spec string) error {
	if sqlitePath(spec) != "" {
		return errors.New("--queue needs a store that front ends and workers share: --store postgres:DSN (SQLite is one process's store)")
	}
	return nil
}

// newAggregatorWorkCmd is wisp aggregator work.
func newAggregatorWorkCmd() *cobra.Command {
	var o aggOptions
	var qo queueOptions
	var workers, batch int
	var metricsAddr string
	cmd := &cobra.Command{
		Use:   "work",
		Short: "Open and store the reports front ends queued (serve --queue), until interrupted",
		Long: `work pulls batches of sealed reports from the NATS JetStream stream that
` + "`wisp aggregator serve --queue`" + ` front ends publish to, opens, validates and
replay-checks them exactly as serve does without a queue, commits each batch to
the store and only then acks it: a worker killed at any point loses nothing (the
batch is delivered again and the store's unique report ids reject what was
already committed). Run any number, on any machines, on one PostgreSQL store.
It also releases closed epochs, once the stream holds no report old enough to
belong to them. See docs/SCALE.md.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if qo.url == "" {
				return errors.New("work needs --queue nats://HOST:4222 (the front ends' JetStream)")
			}
			if err := needShared(o.store); err != nil {
				return err
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
				return fmt.Errorf("--log-level wants debug, info, warn or error, not %q", o.logLevel)
			}
			log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			o.registry = reg
			srv, st, err := o.open(ctx, log)
			if err != nil {
				return err
			}
			defer st.Close()
			q, closeQ, err := qo.connect(ctx, "wisp-worker")
			if err != nil {
				return err
			}
			defer closeQ()
			w, err := queue.NewWorker(q, srv.IngestQueued, queue.WorkerOptions{Batch: batch, Logger: log, Registry: reg})
			if err != nil {
				return err
			}
			if metricsAddr != "" {
				ln, err := net.Listen("tcp", metricsAddr)
				if err != nil {
					return fmt.Errorf("--metrics-addr %s: %w", metricsAddr, err)
				}
				hs := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}), ReadHeaderTimeout: 10 * time.Second}
				go hs.Serve(ln)
				defer hs.Close()
				fmt.Fprintf(cmd.OutOrStdout(), "metrics on http://%s/metrics\n", ln.Addr())
			}
			log.Info("working", "queue", strings.Split(qo.url, ",")[0], "workers", workers, "store", storeKind(o.store))
			fmt.Fprintf(cmd.OutOrStdout(), "working: %d workers on the queue\n", workers)
			go releaseEvery(ctx, srv, time.Minute, log, settledQueue(q, log))
			go srv.WatchKeys(ctx) // as serve: a key expired on any node is refused here within a second
			var wg sync.WaitGroup
			for range workers {
				wg.Add(1)
				go func() { defer wg.Done(); w.Run(ctx) }()
			}
			wg.Wait()
			log.Info("stopped")
			return nil
		},
	}
	aggStoreFlag(cmd, &o.store)
	aggKEKFlag(cmd, &o.kek)
	aggQueueFlags(cmd, &qo, "the front ends' NATS JetStream, e.g. nats://127.0.0.1:4222 (comma-separated for a cluster)")
	f := cmd.Flags()
	f.IntVar(&workers, "workers", 2, "batches pulled and committed at once (each opens on all cores)")
	f.IntVar(&batch, "batch", 4000, "reports per pull and commit")
	f.StringVar(&metricsAddr, "metrics-addr", "", "serve Prometheus metrics (wisp_queue_consumer_lag, …) on this address")
	f.StringVar(&o.taxonomy, "taxonomy", "", "taxonomy TSV (default: the embedded IAB Audience Taxonomy 1.1)")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	durationVar(f, &o.policy.ClockSkew, "clock-skew", 0, "as serve's: reports accepted this long before their epoch starts (0: 5m)")
	durationVar(f, &o.policy.Grace, "grace", 0, "as serve's: reports accepted this long after their epoch ends (0: 1h)")
	f.BoolVar(&o.policy.KeepReports, "keep-reports", false, "keep an epoch's reports after its result is released (default: delete them)")
	return cmd
}

// settledQueue is releaseEvery's gate in queue mode: a pass runs only
// while the stream's oldest waiting report was accepted less than a
// release's settle time ago, so no epoch is released while reports
// accepted for it still wait for a worker (a store outage delays
// releases, never loses reports from them).
func settledQueue(q *queue.Queue, log *slog.Logger) func(context.Context) bool {
	return func(ctx context.Context) bool {
		n, oldest, err := q.Backlog(ctx)
		switch {
		case err != nil:
			log.Warn("queue backlog unknown; release deferred", "err", err)
			return false
		case n > 0 && time.Since(oldest) > aggregator.ReleaseSettle:
			log.Warn("queue backlog behind; release deferred", "reports", n, "oldest", oldest)
			return false
		}
		return true
	}
}

package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/queue"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/cmd/wisp/internal/bench/cputime"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/taxonomy"
	"github.com/wisp-project/wisp/internal/wire"
)

// Roles of the measurements (Result.Role).
const (
	RoleFrontEnd      = "front_end"
	RoleWorker        = "worker"
	RoleEndToEnd      = "end_to_end"
	RoleSingleProcess = "single_process"
)

// runQueue measures the queue mode on a 3-node JetStream cluster (R3
// stream; in a child process when opts.NATSCommand is set) and a fresh PostgreSQL schema: the front end's
// acceptance rate (reports acknowledged into the stream per wall second),
// one worker's rate per core draining that stream, and end to end with 1
// and 2 workers running while the front end accepts.
func runQueue(ctx context.Context, opts Options, key *wire.KeyPair, tax *taxonomy.Taxonomy, envs []wire.Envelope, openRate float64) ([]Result, error) {
	if opts.PostgresURL == "" {
		return nil, fmt.Errorf("ingestbench: --queue needs PostgreSQL (the store workers share)")
	}
	cl, err := startCluster(ctx, filepath.Join(opts.Dir, "nats"), opts.NATSCommand)
	if err != nil {
		return nil, err
	}
	defer cl.close()
	dsn, drop, err := FreshSchema(ctx, opts.PostgresURL)
	if err != nil {
		return nil, err
	}
	defer drop()
	spec := "postgres:" + dsn
	bodies, n, err := sealBodies(ctx, key.Config, opts.Reports, opts.Batch, "seal (queue)", opts.Progress)
	if err != nil {
		return nil, err
	}
	where, counts := "in this process", "NATS servers"
	if cl.cpu != nil {
		where, counts = "in a child process", "not the NATS servers: their CPU s is queue_cpu_seconds"
	}
	note := fmt.Sprintf("3 NATS servers %s (R3 stream), front end, workers, %d clients × %d-report batches and PostgreSQL share this machine's cores; CPU s counts this process (clients, front end, workers; %s), and PostgreSQL's for workers", where, opts.Clients, opts.Batch, counts)
	var out []Result

	// Front end alone, then one worker draining what it accepted.
	cfg := queue.Config{Stream: "BENCH_FE", Subject: "bench.fe", Consumer: "bench", Replicas: 3, MaxBytes: 8 << 30}
	wall, cpu, ncpu, err := frontEndRun(ctx, spec, cl, cfg, key, tax, bodies, n, opts, 0)
	if err != nil {
		return nil, fmt.Errorf("queue front end: %w", err)
	}
	out = append(out, Result{Name: "queue_front_end", Role: RoleFrontEnd, ReportsPerSecond: float64(n) / wall, WallReportsPerSecond: float64(n) / wall,
		Reports: n, Seconds: wall, CPUSeconds: cpu, QueueCPUSeconds: ncpu, Note: "reports/s acknowledged to devices once the R3 stream's quorum holds them (wall, no worker running); " + note})
	// The bound again, just before and just after the worker: on a shared
	// machine the CPU time of an Open swings with the neighbours' load by
	// more than the worker's own costs, so the worker is also compared
	// with the bound measured beside it.
	_, before := openBound(key, envs)
	wall, cpu, ncpu, pgcpu, err := drainRun(ctx, spec, cl, cfg, tax, n, 1, time.Time{})
	if err != nil {
		return nil, fmt.Errorf("queue worker: %w", err)
	}
	_, after := openBound(key, envs)
	rate := float64(n) / cpu
	w := Result{Name: "queue_worker", Role: RoleWorker, ReportsPerSecond: rate, WallReportsPerSecond: float64(n) / wall,
		RatioToOpenBound: rate / openRate, RatioToAdjacentBound: rate * (before + after) / 2 / float64(len(envs)),
		Reports: n, Seconds: wall, CPUSeconds: cpu, QueueCPUSeconds: ncpu, PostgresCPUSeconds: pgcpu,
		Note: "one worker draining a full stream: fetch → open → validate → one commit per batch → ack, per CPU-second of the worker (and PostgreSQL); ratio_with_queue_servers counts the NATS servers' CPU too, ratio_to_adjacent_bound is to the Open bound measured just before and after the worker (their mean); " + note}
	if cl.cpu != nil {
		w.RatioWithQueueServers = float64(n) / (cpu + ncpu) / openRate
	}
	out = append(out, w)

	for _, k := range []int{1, 2} {
		cfg := queue.Config{Stream: fmt.Sprintf("BENCH_E2E%d", k), Subject: fmt.Sprintf("bench.e2e%d", k), Consumer: "bench", Replicas: 3, MaxBytes: 8 << 30}
		dsn, drop, err := FreshSchema(ctx, opts.PostgresURL)
		if err != nil {
			return nil, err
		}
		wall, cpu, ncpu, err := frontEndRun(ctx, "postgres:"+dsn, cl, cfg, key, tax, bodies, n, opts, k)
		drop()
		if err != nil {
			return nil, fmt.Errorf("queue end to end, %d workers: %w", k, err)
		}
		out = append(out, Result{Name: fmt.Sprintf("queue_end_to_end_%dw", k), Role: RoleEndToEnd, ReportsPerSecond: float64(n) / wall,
			WallReportsPerSecond: float64(n) / wall, Reports: n, Seconds: wall, CPUSeconds: cpu, QueueCPUSeconds: ncpu,
			Note: fmt.Sprintf("wall time from the first upload until %d worker(s) in this process stored every report; %s", k, note)})
	}
	return out, nil
}

// frontEndRun starts a front end on spec and cfg, uploads bodies through it
// and returns wall and CPU seconds (and the NATS child's CPU seconds); with workers > 0 that many workers run
// meanwhile and the timing ends when they have stored all n reports.
func frontEndRun(ctx context.Context, spec string, cl *natsCluster, cfg queue.Config, key *wire.KeyPair, tax *taxonomy.Taxonomy, bodies [][]byte, n int, opts Options, workers int) (wall, cpu, ncpu float64, _ error) {
	fe, _, closeFe, err := queueNode(ctx, spec, cl.urls, cfg, aggregator.Config{Taxonomy: tax, Keys: []*wire.KeyPair{key}, Campaigns: []campaign.Campaign{bench},
		Ingest: aggregator.Admission{Queue: 4 * opts.Clients}}, true)
	if err != nil {
		return 0, 0, 0, err
	}
	defer closeFe()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, 0, err
	}
	hs := &http.Server{Handler: fe.Handler()}
	go hs.Serve(ln)
	defer hs.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: opts.Clients}}
	runtime.GC()
	t, c, nc := time.Now(), cputime.Process(), cl.cpuNow() // a front end does not touch PostgreSQL
	done := make(chan error, 1)
	if workers > 0 {
		go func() {
			_, _, _, _, err := drainRun(ctx, spec, cl, cfg, tax, n, workers, t)
			done <- err
		}()
	}
	if err := uploadAll(ctx, client, "http://"+ln.Addr().String(), bodies, n, opts, "queue front end"); err != nil {
		return 0, 0, 0, err
	}
	if workers > 0 {
		if err := <-done; err != nil {
			return 0, 0, 0, err
		}
	}
	return time.Since(t).Seconds(), cputime.Process() - c, cl.cpuNow() - nc, nil
}

// drainRun runs workers worker loops on one aggregator until they have
// stored n reports, and returns the wall and CPU seconds since from (now,
// if zero), the NATS child's CPU seconds and the PostgreSQL backends'
// (which cpu includes).
func drainRun(ctx context.Context, spec string, cl *natsCluster, cfg queue.Config, tax *taxonomy.Taxonomy, n, workers int, from time.Time) (wall, cpu, ncpu, pgcpu float64, _ error) {
	srv, q, closeSrv, err := queueNode(ctx, spec, cl.urls, cfg, aggregator.Config{Taxonomy: tax}, false)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	defer closeSrv()
	var stored atomic.Int64
	all := make(chan struct{})
	var once sync.Once
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := queue.NewWorker(q, func(ctx context.Context, r []aggregator.Queued) (int, error) {
		k, err := srv.IngestQueued(ctx, r)
		if stored.Add(int64(k)) >= int64(n) {
			once.Do(func() { close(all) })
		}
		return k, err
	}, queue.WorkerOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return 0, 0, 0, 0, err
	}
	if from.IsZero() {
		runtime.GC()
		from = time.Now()
	}
	dsn := strings.TrimPrefix(spec, "postgres:")
	c, pg, nc := cputime.Process(), postgresCPU(ctx, dsn), cl.cpuNow()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() { defer wg.Done(); w.Run(wctx) }()
	}
	select {
	case <-all:
	case <-ctx.Done():
	case <-time.After(30 * time.Minute):
		cancel()
		wg.Wait()
		return 0, 0, 0, 0, fmt.Errorf("ingestbench: workers stored %d of %d reports in 30 minutes", stored.Load(), n)
	}
	// A backend of the pool that exits meanwhile takes its CPU time with
	// it: PostgreSQL's share is never counted below zero.
	pgcpu = max(0, postgresCPU(ctx, dsn)-pg)
	wall, cpu, ncpu = time.Since(from).Seconds(), cputime.Process()-c+pgcpu, cl.cpuNow()-nc
	cancel()
	wg.Wait()
	return wall, cpu, ncpu, pgcpu, ctx.Err()
}

// queueNode opens the queue and the store on spec and builds an
// aggregator of c on them, on the benchmark's clock; a front end (Queue
// set) if frontEnd. closeFn closes both.
func queueNode(ctx context.Context, spec, urls string, cfg queue.Config, c aggregator.Config, frontEnd bool) (_ *aggregator.Server, _ *queue.Queue, closeFn func(), _ error) {
	q, closeQ, err := queue.Dial(ctx, urls, "wisp-bench", cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	st, err := store.Open(ctx, spec)
	if err != nil {
		closeQ()
		return nil, nil, nil, err
	}
	c.Store, c.Now, c.Logger = st, func() time.Time { return start }, slog.New(slog.DiscardHandler)
	if frontEnd {
		c.Queue = q
	}
	srv, err := aggregator.New(c)
	if err != nil {
		st.Close()
		closeQ()
		return nil, nil, nil, err
	}
	return srv, q, func() { st.Close(); closeQ() }, nil
}

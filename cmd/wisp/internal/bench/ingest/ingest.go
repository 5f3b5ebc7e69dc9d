// Package ingest measures the aggregator's ingest path in one run, so
// the figures are comparable: the HPKE Open rate per core (the bound no
// ingest can beat, since every report must be opened), the end-to-end rate
// per core (HTTP → decode → open → validate → durable commit) on SQLite and
// on PostgreSQL, and a large population ingested and estimated end to end.
// It backs `wisp bench ingest`, and lives with the CLI because it seals its
// reports with package host, which the aggregator's tree never links.
package ingest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/cmd/wisp/internal/bench/cputime"
	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/taxonomy"
	"github.com/wisp-project/wisp/internal/wire"
)

// DefaultPostgresURL is the project machines' PostgreSQL.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Options size the run.
type Options struct {
	// Reports per throughput measurement (Open bound, SQLite, PostgreSQL).
	Reports int
	// Million is the size of the end-to-end population (0 skips it).
	Million int
	// MillionStore is "sqlite" or "postgres".
	MillionStore string
	// PostgresURL is the server to use; a fresh schema is made and dropped.
	// "" skips the PostgreSQL measurement.
	PostgresURL string
	// Dir holds the SQLite files.
	Dir string
	// Batch is the reports per upload; Clients the concurrent uploaders.
	Batch, Clients int
	// Queue adds the queue mode's measurements (runQueue); needs PostgresURL.
	Queue bool
	// NATSCommand, if set, starts the queue measurements' cluster in a
	// child process: the command (ServeCluster behind it), to which
	// "--dir D --nodes 3" is appended. Empty: the cluster runs in-process.
	NATSCommand []string
	// Progress, if set, is told about work done: (phase, done, total).
	Progress func(phase string, done, total int)
}

// Result is one measurement.
type Result struct {
	Name string `json:"name"`
	// Role is the part of a deployment measured: front_end, worker,
	// end_to_end or single_process (the HPKE Open bound is a worker's).
	Role string `json:"role"`
	// ReportsPerSecond is per core — reports per CPU-second (see cpu.go) —
	// for the Open bound and the ingest rates, and reports per wall-clock
	// second for the end-to-end population.
	ReportsPerSecond float64 `json:"reports_per_second"`
	// WallReportsPerSecond is reports per wall-clock second on the whole
	// machine, whatever else ran on it.
	WallReportsPerSecond float64 `json:"wall_reports_per_second"`
	RatioToOpenBound     float64 `json:"ratio_to_open_bound,omitempty"`
	Reports              int     `json:"reports"`
	Seconds              float64 `json:"seconds"`     // wall
	CPUSeconds           float64 `json:"cpu_seconds"` // this process, plus PostgreSQL's for PostgreSQL runs
	// QueueCPUSeconds is the NATS servers' CPU time in a queue measurement
	// when they run in a child process (Options.NATSCommand); CPUSeconds
	// then leaves it out, as a deployment runs them on machines of their own.
	QueueCPUSeconds float64 `json:"queue_cpu_seconds,omitempty"`
	// RatioWithQueueServers is a worker's ratio to the bound with the NATS
	// servers' CPU time counted as its own too.
	RatioWithQueueServers float64 `json:"ratio_with_queue_servers,omitempty"`
	// PostgresCPUSeconds is the part of a worker's CPUSeconds its
	// PostgreSQL backends spent.
	PostgresCPUSeconds float64 `json:"postgres_cpu_seconds,omitempty"`
	// RatioToAdjacentBound is a worker's ratio to the mean of two Open
	// bounds measured right before and right after it, under the same
	// load of the machine's other work (hpke_open is measured minutes
	// earlier).
	RatioToAdjacentBound float64 `json:"ratio_to_adjacent_bound,omitempty"`
	Note                 string  `json:"note,omitempty"`
}

// Report is the whole run.
type Report struct {
	Cores   int      `json:"cores"`
	Batch   int      `json:"batch"`
	Clients int      `json:"clients"`
	Results []Result `json:"results"`
}

var bench = campaign.Campaign{ID: "bench", Name: "Bench", Question: campaign.Question{Type: "threshold", Category: 410, MinScore: 0.5},
	Epsilon: 2, EpochSeconds: 3600, K: 100}

// start is the fixed clock of every aggregator the benchmark starts.
var start = time.Date(2026, 6, 1, 0, 30, 0, 0, time.UTC)

// Run measures everything opts asks for.
func Run(ctx context.Context, opts Options) (Report, error) {
	cores := runtime.GOMAXPROCS(0)
	rep := Report{Cores: cores, Batch: opts.Batch, Clients: opts.Clients}
	key, err := wire.GenerateKeyPair(1, rand.Reader)
	if err != nil {
		return rep, err
	}
	tax := taxonomy.Default()

	envs, err := seal(ctx, key.Config, opts.Reports, "seal (open bound)", opts.Progress)
	if err != nil {
		return rep, err
	}
	wall, cpu := openBound(key, envs)
	openRate := float64(len(envs)) / cpu
	rep.Results = append(rep.Results, Result{Name: "hpke_open", Role: RoleWorker, ReportsPerSecond: openRate, WallReportsPerSecond: float64(len(envs)) / wall,
		Reports: len(envs), Seconds: wall, CPUSeconds: cpu, Note: "HPKE X25519-HKDF-SHA256/AES-128-GCM Open on all cores; the bound"})

	type target struct{ name, spec string }
	targets := []target{{"ingest_sqlite", "sqlite:" + opts.Dir + "/bench-throughput.db"}}
	var cleanup []func()
	defer func() {
		for _, c := range cleanup {
			c()
		}
	}()
	if opts.PostgresURL != "" {
		dsn, drop, err := FreshSchema(ctx, opts.PostgresURL)
		if err != nil {
			return rep, err
		}
		cleanup = append(cleanup, drop)
		targets = append(targets, target{"ingest_postgres", "postgres:" + dsn})
	}
	for _, tg := range targets {
		bodies, n, err := sealBodies(ctx, key.Config, opts.Reports, opts.Batch, "seal ("+tg.name+")", opts.Progress)
		if err != nil {
			return rep, err
		}
		secs, cpu, _, err := ingest(ctx, tg.spec, key, tax, bodies, n, opts, tg.name, false)
		if err != nil {
			return rep, fmt.Errorf("%s: %w", tg.name, err)
		}
		rate := float64(n) / cpu
		rep.Results = append(rep.Results, Result{Name: tg.name, Role: RoleSingleProcess, ReportsPerSecond: rate, WallReportsPerSecond: float64(n) / secs,
			RatioToOpenBound: rate / openRate, Reports: n, Seconds: secs, CPUSeconds: cpu,
			Note: fmt.Sprintf("HTTP → decode → open → validate → durable commit; %d clients × %d-report batches; CPU of the uploading clients (same process) counted too", opts.Clients, opts.Batch)})
	}

	if opts.Queue {
		got, err := runQueue(ctx, opts, key, tax, envs, openRate)
		if err != nil {
			return rep, err
		}
		rep.Results = append(rep.Results, got...)
	}
	if opts.Million > 0 {
		spec := "sqlite:" + opts.Dir + "/bench-population.db"
		if opts.MillionStore == "postgres" {
			if opts.PostgresURL == "" {
				return rep, fmt.Errorf("ingestbench: a postgres population needs a PostgreSQL URL")
			}
			dsn, drop, err := FreshSchema(ctx, opts.PostgresURL)
			if err != nil {
				return rep, err
			}
			cleanup = append(cleanup, drop)
			spec = "postgres:" + dsn
		}
		sealStart := time.Now()
		bodies, n, err := sealBodies(ctx, key.Config, opts.Million, opts.Batch, "seal (population)", opts.Progress)
		if err != nil {
			return rep, err
		}
		sealSecs := time.Since(sealStart).Seconds()
		secs, cpu, seg, err := ingest(ctx, spec, key, tax, bodies, n, opts, "population", true)
		if err != nil {
			return rep, err
		}
		rep.Results = append(rep.Results, Result{Name: "population_end_to_end_" + opts.MillionStore, Role: RoleSingleProcess, ReportsPerSecond: float64(n) / secs,
			WallReportsPerSecond: float64(n) / secs, Reports: n, Seconds: secs, CPUSeconds: cpu,
			Note: fmt.Sprintf("wall time: upload + decrypt + store %d reports, then release, estimate and delete the released reports (estimate %.0f, 95%% CI [%.0f, %.0f], true %d); sealing them on the device side took %.1f s more",
				n, seg.Estimate, seg.CILow, seg.CIHigh, n/2, sealSecs)})
	}
	return rep, nil
}

// seal makes n sealed reports on all cores; half answer yes.
func seal(ctx context.Context, cfg wire.KeyConfig, n int, phase string, progress func(string, int, int)) ([]wire.Envelope, error) {
	envs := make([]wire.Envelope, n)
	r := host.Reporter{Key: cfg}
	epoch := bench.Epoch(start)
	var next, done atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, runtime.GOMAXPROCS(0))
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				// ε = 2 randomizes; the truth is half yes.
				e, err := r.Report(&bench, epoch, map[uint32]float32{410: float32(i%2) * 0.9})
				if err != nil {
					errs <- err
					return
				}
				envs[i] = e
				if d := done.Add(1); progress != nil && d%1000 == 0 {
					progress(phase, int(d), n)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return envs, ctx.Err()
}

// sealBodies seals n reports and encodes them as upload bodies.
func sealBodies(ctx context.Context, cfg wire.KeyConfig, n, batch int, phase string, progress func(string, int, int)) ([][]byte, int, error) {
	envs, err := seal(ctx, cfg, n, phase, progress)
	if err != nil {
		return nil, 0, err
	}
	var bodies [][]byte
	for lo := 0; lo < len(envs); lo += batch {
		b, err := wire.EncodeBatch(envs[lo:min(lo+batch, len(envs))])
		if err != nil {
			return nil, 0, err
		}
		bodies = append(bodies, b)
	}
	return bodies, n, nil
}

// openBound opens every envelope on all cores and returns the wall and CPU
// seconds it took.
func openBound(key *wire.KeyPair, envs []wire.Envelope) (wall, cpu float64) {
	runtime.GC() // start clean: the sealing's garbage is not the bound's
	var next atomic.Int64
	var wg sync.WaitGroup
	t, c := time.Now(), cputime.Process()
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(envs) {
					return
				}
				if _, err := key.Open(&envs[i]); err != nil {
					panic(err) // sealed just now to this key
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(t).Seconds(), cputime.Process() - c
}

// ingest starts an aggregator on spec, uploads bodies with opts.Clients
// concurrent clients over real HTTP on 127.0.0.1 and returns the wall and
// CPU seconds it took; with estimate, it then releases the epoch and reads
// the segment, inside the timing.
func ingest(ctx context.Context, spec string, key *wire.KeyPair, tax *taxonomy.Taxonomy, bodies [][]byte, n int, opts Options, phase string, estimate bool) (wall, cpu float64, _ aggregator.Segment, _ error) {
	fail := func(err error) (float64, float64, aggregator.Segment, error) { return 0, 0, aggregator.Segment{}, err }
	st, err := store.Open(ctx, spec)
	if err != nil {
		return fail(err)
	}
	defer st.Close()
	var now atomic.Int64
	now.Store(start.UnixNano())
	agg, err := aggregator.New(aggregator.Config{Store: st, Taxonomy: tax, Keys: []*wire.KeyPair{key}, Campaigns: []campaign.Campaign{bench},
		Now: func() time.Time { return time.Unix(0, now.Load()) }, Ingest: aggregator.Admission{Queue: 4 * opts.Clients},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fail(err)
	}
	tok, err := agg.CreateToken(ctx, api.CreateTokenRequest{Role: api.RoleOperator, Name: "bench"})
	if err != nil {
		return fail(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	hs := &http.Server{Handler: agg.Handler()}
	go hs.Serve(ln)
	defer hs.Close()
	url := "http://" + ln.Addr().String()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: opts.Clients}}

	runtime.GC()
	pg := strings.HasPrefix(spec, "postgres:")
	cpuNow := func() float64 {
		if pg {
			return cputime.Process() + postgresCPU(ctx, strings.TrimPrefix(spec, "postgres:"))
		}
		return cputime.Process()
	}
	t, c := time.Now(), cpuNow()
	if err := uploadAll(ctx, client, url, bodies, n, opts, phase); err != nil {
		return fail(err)
	}
	var seg aggregator.Segment
	if estimate {
		now.Store(start.Add(3 * time.Hour).UnixNano()) // the epoch has closed
		if err := agg.ReleaseDue(ctx); err != nil {    // what the serve loop does
			return fail(err)
		}
		if seg, err = segment(ctx, client, url, tok.Token); err != nil {
			return fail(err)
		}
	}
	return time.Since(t).Seconds(), cpuNow() - c, seg, nil
}

// uploadAll uploads bodies with opts.Clients concurrent clients and
// fails unless all n reports are accepted.
func uploadAll(ctx context.Context, client *http.Client, url string, bodies [][]byte, n int, opts Options, phase string) error {
	var next, accepted atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, opts.Clients)
	for range opts.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) || ctx.Err() != nil {
					return
				}
				got, err := upload(ctx, client, url, bodies[i])
				if err != nil {
					errs <- err
					return
				}
				if d := accepted.Add(int64(got)); opts.Progress != nil {
					opts.Progress(phase, int(d), n)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	if int(accepted.Load()) != n {
		return fmt.Errorf("ingestbench: %d of %d reports accepted", accepted.Load(), n)
	}
	return ctx.Err()
}

// upload posts one body and returns how many reports were accepted; it
// retries on 429 and 503 as a device would (a queue's stream may be
// electing a leader).
func upload(ctx context.Context, client *http.Client, url string, body []byte) (int, error) {
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/reports", bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/cbor")
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		var out struct {
			Accepted int `json:"accepted"`
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
			time.Sleep(10 * time.Millisecond)
			continue
		case resp.StatusCode != http.StatusOK:
			return 0, fmt.Errorf("ingestbench: upload: %s", resp.Status)
		case err != nil:
			return 0, err
		}
		return out.Accepted, nil
	}
}

func segment(ctx context.Context, client *http.Client, url, token string) (aggregator.Segment, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/v1/campaigns/bench/results", nil)
	if err != nil {
		return aggregator.Segment{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return aggregator.Segment{}, err
	}
	defer resp.Body.Close()
	var out aggregator.SegmentsResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return aggregator.Segment{}, err
	}
	if len(out.Segments) != 1 || out.Segments[0].SizeEstimate == nil {
		return aggregator.Segment{}, fmt.Errorf("ingestbench: segments %+v", out.Segments)
	}
	return out.Segments[0], nil
}

// FreshSchema makes a schema for one run and returns a DSN using it and a
// function that drops it.
func FreshSchema(ctx context.Context, base string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", nil, fmt.Errorf("ingestbench: postgres (--postgres \"\" skips it): %w", err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	schema := "wisp_bench_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, err
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, base); err == nil {
			conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			conn.Close(ctx)
		}
	}
	// The application name tells this run's backends apart (postgresCPU).
	return base + sep + "search_path=" + schema + "&application_name=" + schema, drop, nil
}

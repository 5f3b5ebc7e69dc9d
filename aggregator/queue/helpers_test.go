package queue_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/queue"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/proctest"
	"github.com/wisp-project/wisp/internal/wire"
)

var runners = campaign.Campaign{ID: "runners", Name: "Runners", Question: campaign.Question{Type: "threshold", Category: 410, MinScore: 0.6},
	Epsilon: 8, EpochSeconds: 3600, K: 3}

// childEnv names the environment variable that makes the test binary a
// worker process (childWorker) instead of running tests.
const childEnv = "WISP_QUEUE_TEST_WORKER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(childWorker(spec))
	}
	os.Exit(m.Run())
}

// childSpec is what a worker process is told.
type childSpec struct {
	URLs  string
	Queue queue.Config
	Store string
}

// childWorker runs one worker that, after its first commit, says
// "committed" and hangs before acking, to be killed -9 there.
func childWorker(spec string) int {
	var cs childSpec
	if err := json.Unmarshal([]byte(spec), &cs); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	st, err := store.Open(ctx, cs.Store)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	srv, err := aggregator.New(aggregator.Config{Store: st, Taxonomy: aggregator.DefaultTaxonomy(), Tenant: "acme"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	q, _, err := queue.Dial(ctx, cs.URLs, "test-child-worker", cs.Queue)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	w, err := queue.NewWorker(q, func(ctx context.Context, r []aggregator.Queued) (int, error) {
		n, err := srv.IngestQueued(ctx, r)
		if err == nil {
			fmt.Printf("committed %d %d\n", len(r), n)
			select {} // between commit and ack: the parent kills us here
		}
		return n, err
	}, queue.WorkerOptions{Batch: 100})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	w.Run(ctx)
	return 0
}

// startChild starts a worker process and returns once it has committed a
// batch it will never ack, with how many reports that batch stored.
func startChild(t *testing.T, cs childSpec) (*exec.Cmd, int) {
	t.Helper()
	b, err := json.Marshal(cs)
	if err != nil {
		t.Fatal(err)
	}
	c := proctest.Start(t, []string{childEnv + "=" + string(b)})
	l := c.LineWithin(t, "committed ", 2*time.Minute)
	c.Drain()
	var batch, stored int
	fmt.Sscanf(l, "%d %d", &batch, &stored)
	return c.Cmd, stored
}

// frontEnd is one `serve --queue` node: an aggregator with a Queue and its
// HTTP listener.
type frontEnd struct {
	url string
	hs  *aggregator.HTTPServer
}

func startFrontEnd(t *testing.T, st store.Store, urls string, cfg queue.Config, key *wire.KeyPair) *frontEnd {
	t.Helper()
	return startFrontEndWith(t, st, urls, cfg, key, runners)
}

// startFrontEndWith is startFrontEnd with campaign c instead of runners.
func startFrontEndWith(t *testing.T, st store.Store, urls string, cfg queue.Config, key *wire.KeyPair, camp campaign.Campaign) *frontEnd {
	t.Helper()
	q := openQueue(t, urls, cfg)
	c := aggregator.Config{Store: st, Taxonomy: aggregator.DefaultTaxonomy(), Tenant: "acme", Queue: q, Campaigns: []campaign.Campaign{camp}}
	if key != nil {
		c.Keys = []*wire.KeyPair{key}
	}
	srv, err := aggregator.New(c)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := aggregator.NewHTTPServer(srv.Handler(), aggregator.HTTPOptions{})
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return &frontEnd{url: "http://" + ln.Addr().String(), hs: hs}
}

func openQueue(t testing.TB, urls string, cfg queue.Config) *queue.Queue {
	t.Helper()
	q, closeQ, err := queue.Dial(context.Background(), urls, t.Name(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeQ)
	return q
}

// startWorker runs an in-process worker on st until the test ends; its
// metrics go to the registry returned.
func startWorker(t *testing.T, st store.Store, urls string, cfg queue.Config) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	srv, err := aggregator.New(aggregator.Config{Store: st, Taxonomy: aggregator.DefaultTaxonomy(), Tenant: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	w, err := queue.NewWorker(openQueue(t, urls, cfg), srv.IngestQueued, queue.WorkerOptions{Batch: 200, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return reg
}

// metric is the value of the gauge or counter name in reg.
func metric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// sealReports makes n reports sealed to the key front end fe advertises.
func sealReports(t *testing.T, fe *frontEnd, n int) []wire.Envelope {
	t.Helper()
	list, err := (&host.Client{BaseURL: fe.url}).KeyConfigs(context.Background())
	if err != nil || len(list.Configs) == 0 {
		t.Fatalf("key configs: %v %v", list, err)
	}
	r := host.Reporter{Key: list.Configs[0]}
	epoch := runners.Epoch(time.Now())
	out := make([]wire.Envelope, n)
	for i := range out {
		score := float32(0.1)
		if i%3 == 0 {
			score = 0.9
		}
		if out[i], err = r.Report(&runners, epoch, map[uint32]float32{410: score}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// devices sends reports in batches from several goroutines, each batch to
// the front ends in turn until one acknowledges it — as the outbox does,
// it keeps a batch until it is answered 200, and a replay counts as
// delivered. It returns the ids acknowledged and how many answers were
// 429 (queue full).
type devices struct {
	mu    sync.Mutex
	acked map[string]bool
	busy  int // 429 or 503 answers
	full  int // of them, 429 with Retry-After: 5 s (the stream at its limits)
}

func (d *devices) send(t *testing.T, fronts func() []*frontEnd, reports []wire.Envelope, batch, senders int) {
	t.Helper()
	if d.acked == nil {
		d.acked = map[string]bool{}
	}
	work := make(chan []wire.Envelope)
	var wg sync.WaitGroup
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				d.deliver(t, fronts, b, g)
			}
		}()
	}
	for lo := 0; lo < len(reports); lo += batch {
		work <- reports[lo:min(lo+batch, len(reports))]
	}
	close(work)
	wg.Wait()
}

func (d *devices) deliver(t *testing.T, fronts func() []*frontEnd, b []wire.Envelope, g int) {
	deadline := time.Now().Add(3 * time.Minute)
	for try := g; time.Now().Before(deadline); try++ {
		fs := fronts()
		c := &host.Client{BaseURL: fs[try%len(fs)].url, HTTP: &http.Client{Timeout: 20 * time.Second}}
		resp, err := c.Upload(context.Background(), b)
		var busy *host.BusyError
		if errors.As(err, &busy) {
			d.mu.Lock()
			d.busy++
			if busy.Status == http.StatusTooManyRequests && busy.RetryAfter == 5*time.Second {
				d.full++
			}
			d.mu.Unlock()
			time.Sleep(50 * time.Millisecond) // a test's Retry-After
			continue
		}
		if err != nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		d.mu.Lock()
		for i, res := range resp.Results {
			if res.Accepted || res.Reason == api.ReasonReplay {
				d.acked[hex.EncodeToString(b[i].ID[:])] = true
			} else {
				t.Errorf("report %d rejected: %s %s", i, res.Reason, res.Detail)
			}
		}
		d.mu.Unlock()
		return
	}
	t.Errorf("a batch of %d was never acknowledged", len(b))
}

// counts is what the store holds for runners: rows (Scan) and the sum of
// the histogram the estimator reads (Tally).
func counts(t *testing.T, st store.Store) (stored, counted int64) {
	t.Helper()
	ctx := context.Background()
	epochs, err := st.Epochs(ctx, runners.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range epochs {
		if err := st.Scan(ctx, runners.ID, e, func(store.Mechanism, []byte) error { stored++; return nil }); err != nil {
			t.Fatal(err)
		}
		if err := st.Tally(ctx, runners.ID, e, func(_ store.Mechanism, _ []byte, n int64) error { counted += n; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	return stored, counted
}

// drained waits until the consumer has nothing pending or unacked.
func drained(t *testing.T, urls string, cfg queue.Config, within time.Duration) {
	t.Helper()
	cfg = cfg.WithDefaults()
	js := jetStream(t, urls)
	ctx := context.Background()
	var last string
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		c, err := js.Consumer(ctx, cfg.Stream, cfg.Consumer)
		if err != nil {
			last = err.Error()
			continue
		}
		info, err := c.Info(ctx)
		if err != nil {
			last = err.Error()
			continue
		}
		if info.NumPending == 0 && info.NumAckPending == 0 {
			return
		}
		last = fmt.Sprintf("pending %d, ack pending %d", info.NumPending, info.NumAckPending)
	}
	t.Fatalf("consumer not drained after %v: %s", within, last)
}

// postgresVia returns dsn with its host replaced by addr (a proxy).
func postgresVia(t *testing.T, dsn, addr string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = addr
	return u.String()
}

// jetStream is a JetStream client of the servers at urls, closed when the
// test ends.
func jetStream(t *testing.T, urls string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(urls)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

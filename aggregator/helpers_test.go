package aggregator_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/aggregatortest"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/taxonomy"
	"github.com/wisp-project/wisp/internal/wire"
)

// t0 is the tests' start time; every fixture's clock begins there.
var t0 = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// clock is an injectable clock tests move by hand.
type clock struct{ ns atomic.Int64 }

func newClock() *clock               { c := &clock{}; c.ns.Store(t0.UnixNano()); return c }
func (c *clock) Now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Add(d time.Duration) { c.ns.Add(int64(d)) }
func (c *clock) Set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func mustTax(t testing.TB) *taxonomy.Taxonomy {
	t.Helper()
	tax, err := taxonomy.ParseBytes(taxonomy.DefaultTSV())
	if err != nil {
		t.Fatal(err)
	}
	return tax
}

type fixture struct {
	srv      *aggregatortest.Server
	agg      *aggregator.Server
	store    store.Store
	client   *host.Client
	campaign campaign.Campaign
	clock    *clock
	operator string // an operator token
}

var runners = campaign.Campaign{ID: "runners", Name: "Runners", Question: campaign.Question{Type: "threshold", Category: 410, MinScore: 0.6},
	Epsilon: 8, EpochSeconds: 3600, K: 3}

func sqliteStore(t testing.TB) store.Store {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "agg.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newFixture starts an aggregator on a fresh SQLite store with the runners
// campaign and one key.
func newFixture(t testing.TB, edit ...func(*aggregator.Config)) *fixture {
	t.Helper()
	key, err := wire.GenerateKeyPair(1, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return newNode(t, sqliteStore(t), newClock(), append([]func(*aggregator.Config){func(c *aggregator.Config) {
		c.Keys = []*wire.KeyPair{key}
		c.Campaigns = []campaign.Campaign{runners}
	}}, edit...)...)
}

// newNode starts an aggregator node on st (shared by other nodes, maybe).
func newNode(t testing.TB, st store.Store, clk *clock, edit ...func(*aggregator.Config)) *fixture {
	t.Helper()
	cfg := aggregator.Config{Store: st, Taxonomy: mustTax(t), MaxBodyBytes: 1 << 20, Now: clk.Now, Tenant: "acme"}
	for _, e := range edit {
		e(&cfg)
	}
	srv := aggregatortest.Start(t, cfg, nil)
	return &fixture{srv: srv, agg: srv.Server, store: st, client: &host.Client{BaseURL: srv.URL}, campaign: runners, clock: clk,
		operator: srv.Token(t, api.RoleOperator, "")}
}

// report makes a sealed report for the current epoch, sealed to the first
// advertised key.
func (f *fixture) report(t testing.TB, runner bool) wire.Envelope {
	t.Helper()
	return f.reportAt(t, f.campaign.Epoch(f.clock.Now()), runner)
}

func (f *fixture) reportAt(t testing.TB, epoch uint32, runner bool) wire.Envelope {
	t.Helper()
	list, err := f.client.KeyConfigs(context.Background())
	if err != nil || len(list.Configs) == 0 {
		t.Fatalf("key configs: %v, %v", list, err)
	}
	score := float32(0.1)
	if runner {
		score = 0.9
	}
	r := host.Reporter{Key: list.Configs[0]}
	e, err := r.Report(&f.campaign, epoch, map[uint32]float32{410: score})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// closeEpoch moves the clock past the current epoch's release time.
func (f *fixture) closeEpoch() {
	f.clock.Add(time.Duration(f.campaign.EpochSeconds)*time.Second + 2*time.Hour)
}

// do sends a request with token (none if "") and returns status and body.
func (f *fixture) do(t testing.TB, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("%s %s: status %d with Content-Type %q, want application/problem+json", method, path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, b
}

// releaseDue does what the serve loop does every minute: release every
// closed epoch. Reads never release.
func (f *fixture) releaseDue(t testing.TB) {
	t.Helper()
	if err := f.agg.ReleaseDue(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// segments runs a release pass, then reads every released segment.
func (f *fixture) segments(t testing.TB) []aggregator.Segment {
	t.Helper()
	f.releaseDue(t)
	status, b := f.do(t, "GET", "/v1/segments", f.operator, nil)
	if status != http.StatusOK {
		t.Fatalf("segments: %d %s", status, b)
	}
	var body aggregator.SegmentsResponse
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatal(err)
	}
	return body.Segments
}

func (f *fixture) upload(t testing.TB, batch ...wire.Envelope) api.IngestResponse {
	t.Helper()
	resp, err := f.client.Upload(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

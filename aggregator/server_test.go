package aggregator_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/taxonomy"
	"github.com/wisp-project/wisp/internal/wire"
	"github.com/wisp-project/wisp/testdata"
)

type fixture struct {
	srv      *httptest.Server
	store    store.Store
	key      *wire.KeyPair
	client   *host.Client
	campaign campaign.Campaign
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	tax, err := taxonomy.ParseBytes(testdata.Taxonomy)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "agg.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := wire.GenerateKeyPair(1, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c := campaign.Campaign{ID: "runners", Name: "Runners", Question: campaign.Question{Type: "threshold", Category: 410, MinScore: 0.6},
		Epsilon: 8, EpochSeconds: 3600, K: 3}
	srv, err := aggregator.New(aggregator.Config{Store: st, Keys: []*wire.KeyPair{key}, Campaigns: []campaign.Campaign{c}, Taxonomy: tax, MaxBodyBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler()) // a real listener on 127.0.0.1
	t.Cleanup(hs.Close)
	return &fixture{srv: hs, store: st, key: key, client: &host.Client{BaseURL: hs.URL}, campaign: c}
}

func (f *fixture) report(t *testing.T, runner bool) wire.Envelope {
	t.Helper()
	score := float32(0.1)
	if runner {
		score = 0.9
	}
	r := host.Reporter{Key: f.key.Config}
	e, err := r.Report(&f.campaign, 7, map[uint32]float32{410: score})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (f *fixture) segments(t *testing.T) []aggregator.Segment {
	t.Helper()
	resp, err := http.Get(f.srv.URL + "/v1/segments")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body aggregator.SegmentsResponse
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body.Segments
}

func TestKeyConfigOverHTTP(t *testing.T) {
	f := newFixture(t)
	list, err := f.client.KeyConfigs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Configs) != 1 || !bytes.Equal(list.Configs[0].PublicKey, f.key.Config.PublicKey) {
		t.Fatalf("configs = %+v", list.Configs)
	}
}

func TestIngestAcceptsThenRejectsReplay(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	batch := []wire.Envelope{f.report(t, true), f.report(t, true), f.report(t, false), f.report(t, true)}
	resp, err := f.client.Upload(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Accepted != 4 || resp.Rejected != 0 {
		t.Fatalf("first upload: %+v", resp)
	}
	resp, err = f.client.Upload(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Accepted != 0 || resp.Rejected != 4 {
		t.Fatalf("replayed upload: %+v", resp)
	}
	for _, r := range resp.Results {
		if r.Reason != api.ReasonReplay {
			t.Fatalf("replay rejected with %q", r.Reason)
		}
	}
	segs := f.segments(t)
	if len(segs) != 1 || segs[0].Reports != 4 || segs[0].Suppressed || segs[0].SizeEstimate == nil {
		t.Fatalf("segments = %+v", segs)
	}
	// ε = 8: answers are truthful with probability 0.9997; 3 runners.
	if got := segs[0].Estimate; got < 2.5 || got > 3.5 {
		t.Fatalf("estimate %v, want ≈ 3", got)
	}
}

func TestIngestRejectsEachBadReportOnItsOwn(t *testing.T) {
	f := newFixture(t)
	good := f.report(t, true)
	tampered := f.report(t, true)
	tampered.Sealed[0] ^= 1
	otherCampaign := f.report(t, true)
	otherCampaign.Campaign = "nobody-defined-this"
	otherKey := f.report(t, true)
	otherKey.KeyID = 9
	otherEpoch := f.report(t, true)
	otherEpoch.Epoch++ // AAD mismatch
	wrongVersion := f.report(t, true)
	wrongVersion.Version = 2
	resp, err := f.client.Upload(context.Background(), []wire.Envelope{good, tampered, otherCampaign, otherKey, otherEpoch, wrongVersion})
	if err != nil {
		t.Fatal(err)
	}
	want := []api.Reason{"", api.ReasonDecrypt, api.ReasonUnknownCampaign, api.ReasonUnknownKey, api.ReasonDecrypt, api.ReasonVersion}
	for i, r := range resp.Results {
		if r.Reason != want[i] || r.Accepted != (want[i] == "") {
			t.Errorf("report %d: %+v, want reason %q", i, r, want[i])
		}
	}
	if resp.Accepted != 1 {
		t.Fatalf("accepted %d, want 1", resp.Accepted)
	}
}

func TestMalformedBatchStoresNothing(t *testing.T) {
	f := newFixture(t)
	for name, body := range map[string][]byte{
		"not cbor":        []byte("{\"reports\": []}"),
		"truncated":       {0xa1, 0x01, 0x82, 0x40},
		"wrong shape":     {0x83, 0x01, 0x02, 0x03},
		"indefinite len":  {0xa1, 0x01, 0x9f, 0xff},
		"too many levels": bytes.Repeat([]byte{0x81}, 100),
	} {
		resp, err := http.Post(f.srv.URL+"/v1/reports", "application/cbor", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var problem map[string]any
		json.NewDecoder(resp.Body).Decode(&problem)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/problem+json" || problem["detail"] == "" {
			t.Errorf("%s: status %d, type %q, problem %v", name, resp.StatusCode, resp.Header.Get("Content-Type"), problem)
		}
	}
	if segs := f.segments(t); len(segs) != 0 {
		t.Fatalf("malformed batches stored something: %+v", segs)
	}
}

func TestOversizedBatch(t *testing.T) {
	f := newFixture(t)
	resp, err := http.Post(f.srv.URL+"/v1/reports", "application/cbor", bytes.NewReader(make([]byte, 2<<20)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
}

func TestStoreFailureIsNotAcknowledged(t *testing.T) {
	f := newFixture(t)
	f.store.Close()
	_, err := f.client.Upload(context.Background(), []wire.Envelope{f.report(t, true)})
	if err == nil {
		t.Fatal("upload succeeded with the store down")
	}
}

func TestSegmentBelowKSuppressed(t *testing.T) {
	f := newFixture(t)
	if _, err := f.client.Upload(context.Background(), []wire.Envelope{f.report(t, true), f.report(t, true)}); err != nil {
		t.Fatal(err)
	}
	segs := f.segments(t)
	if len(segs) != 1 || !segs[0].Suppressed || segs[0].SizeEstimate != nil {
		t.Fatalf("2 reports with k=3: %+v", segs)
	}
}

package aggregator

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/taxonomy"
	"github.com/wisp-project/wisp/internal/wire"
)

// FuzzIngest feeds arbitrary bodies to the ingest decoder and checker — the
// code every unauthenticated device request reaches — with a real SQLite
// store behind it. Whatever the input: no panic, one result per report,
// every rejection with a known reason, and counts that add up.
func FuzzIngest(f *testing.F) {
	ctx := context.Background()
	tax, err := taxonomy.ParseBytes(taxonomy.DefaultTSV())
	if err != nil {
		f.Fatal(err)
	}
	st, err := store.OpenSQLite(ctx, filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	key, err := wire.GenerateKeyPair(1, rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	c := campaign.Campaign{ID: "runners", Name: "Runners", Question: campaign.Question{Type: "threshold", Category: 410, MinScore: 0.6},
		Epsilon: 1, EpochSeconds: 3600, K: 3}
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	s, err := New(Config{Store: st, Taxonomy: tax, Keys: []*wire.KeyPair{key}, Campaigns: []campaign.Campaign{c}, Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	// Seeds: a valid batch, a replay of it, and broken shapes.
	var envs []wire.Envelope
	for i := range 3 {
		e := wire.Envelope{Version: wire.Version, Mode: wire.ModeLDP, Campaign: c.ID, Epoch: c.Epoch(now), ID: wire.ReportID{byte(i)}}
		if err := wire.Seal(key.Config, &e, wire.Payload{Mechanism: 1, Answer: []byte{byte(i % 2)}}, 64, rand.Reader); err != nil {
			f.Fatal(err)
		}
		envs = append(envs, e)
	}
	good, err := wire.EncodeBatch(envs)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{0xa1, 0x01, 0x80})
	f.Add([]byte{0xa1, 0x01, 0x81, 0xa0})
	f.Add([]byte{0xa1, 0x01, 0x9f, 0xff})
	f.Fuzz(func(t *testing.T, body []byte) {
		batch, err := decodeBatch(body)
		if err != nil {
			return
		}
		resp, err := s.ingest(ctx, batch.Reports, make([]*sentToken, len(batch.Reports)))
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Results) != len(batch.Reports) || resp.Accepted+resp.Rejected != len(batch.Reports) {
			t.Fatalf("%d results, %d accepted + %d rejected, for %d reports", len(resp.Results), resp.Accepted, resp.Rejected, len(batch.Reports))
		}
		for _, r := range resp.Results {
			if r.Accepted == (r.Reason != "") || (!r.Accepted && !r.Reason.IsValid()) {
				t.Fatalf("result %+v", r)
			}
		}
		// The answer is bounded by the body: every item is report-sized,
		// and only a few results per reason carry a detail (< 400 bytes).
		if out, _ := json.Marshal(resp); len(out) > 2*len(body)+detailsPerReason*len(api.AllReasons())*400 {
			t.Fatalf("%d-byte answer to a %d-byte body", len(out), len(body))
		}
	})
}

package host

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/aggregatortest"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/wire"
)

// TestOutboxRetriesUnknownCampaign (issue 15 row 2): a node that has not
// loaded a campaign another node just created answers unknown_campaign.
// The device keeps such reports and sends them again (with backoff) until
// their validity ends, instead of settling them as rejected; past their
// validity they are dropped as expired, never logged as rejected.
func TestOutboxRetriesUnknownCampaign(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	key, err := wire.GenerateKeyPair(1, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var unknown atomic.Bool // the node answers unknown_campaign to every report
	srv := aggregatortest.Start(t, aggregator.Config{Keys: []*wire.KeyPair{key}, Campaigns: testCampaigns, Now: clock.Now},
		func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !unknown.Load() || r.URL.Path != "/v1/reports" {
					h.ServeHTTP(w, r)
					return
				}
				body, _ := io.ReadAll(r.Body)
				batch, err := wire.DecodeBatch(body)
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				var resp api.IngestResponse
				for _, raw := range batch.Reports {
					e, _ := wire.DecodeEnvelope(raw)
					resp.Results = append(resp.Results, api.Result{ReportID: hex.EncodeToString(e.ID[:]), Reason: api.ReasonUnknownCampaign,
						Detail: "campaign " + e.Campaign})
					resp.Rejected++
				}
				w.Header().Set("Content-Type", "application/json")
				json.NewEncoder(w).Encode(resp)
			})
		})
	agg := &testAggregator{URL: srv.URL, key: srv.SigningKey(), store: srv.Store}
	d, _ := readyDevice(t, t.TempDir(), clock, agg)
	if err := d.sync(ctx, clock.Now(), true); err != nil {
		t.Fatal(err)
	}
	unknown.Store(true)
	for range 3 {
		d.RunOnce(ctx)
		clock.Advance(10 * time.Minute)
	}
	if q, _ := d.Outbox(ctx); len(q) != 2 {
		t.Fatalf("after unknown_campaign answers, %d reports queued, want both kept", len(q))
	}
	unknown.Store(false) // the node has loaded the campaigns
	clock.Advance(6 * time.Hour)
	sum, err := d.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	epoch := testCampaigns[0].Epoch(clock.Now())
	if sum.Sent != 2 || agg.stored(t, "runners", epoch) != 1 || agg.stored(t, "cyclists", epoch) != 1 {
		t.Fatalf("once the node knows the campaigns: sent %d; want both delivered", sum.Sent)
	}

	// The next epoch's reports meet unknown_campaign until they expire:
	// dropped as expired, not rejected, and never sent late.
	clock.Advance(7 * 24 * time.Hour)
	next := testCampaigns[0].Epoch(clock.Now())
	recordRuns(t, d, clock.Now(), 3, 40)
	unknown.Store(true)
	for range 16 { // eight days: past the weekly epoch's end and grace
		d.RunOnce(ctx)
		clock.Advance(12 * time.Hour)
	}
	log, err := d.SentLog(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	expired := 0
	for _, s := range log {
		if s.Outcome == OutcomeRejected {
			t.Errorf("a report was settled as rejected: %+v", s)
		}
		if s.Outcome == OutcomeDropped && s.Cause == DropExpired && s.Epoch == next {
			expired++
		}
	}
	if expired != 2 {
		t.Errorf("%d reports dropped as expired, want 2: %+v", expired, log)
	}
}

package aggregator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/wire"
)

func TestKeyConfigOverHTTP(t *testing.T) {
	f := newFixture(t)
	list, err := f.client.KeyConfigs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Configs) != 1 || list.Configs[0].ID != 1 || len(list.Configs[0].PublicKey) != 32 {
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
	f.closeEpoch()
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
	otherEpoch.Epoch-- // AAD mismatch (the previous epoch is still within its grace time)
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
	f.closeEpoch()
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
	f.closeEpoch()
	segs := f.segments(t)
	if len(segs) != 1 || !segs[0].Suppressed || segs[0].SizeEstimate != nil {
		t.Fatalf("2 reports with k=3: %+v", segs)
	}
	// Nor how many took part (issue 14, item 8): no count in any format.
	if segs[0].Reports != 0 {
		t.Errorf("suppressed release publishes %d reports", segs[0].Reports)
	}
	for _, path := range []string{"/v1/segments", "/v1/segments?format=csv", "/v1/segments?format=openrtb"} {
		if _, b := f.do(t, "GET", path, f.operator, nil); bytes.Contains(b, []byte(`"reports"`)) || bytes.Contains(b, []byte(",2,true,")) {
			t.Errorf("GET %s shows the suppressed count: %s", path, b)
		}
	}
}

// TestReleasedReportsDeleted: once an epoch's result is stored, its reports
// are deleted (the background pass, ReleaseDue, needs no reader); the
// result stays as released; a late copy of a deleted report is refused
// by the epoch rules; reports a crash left behind a stored release go on
// the next pass; Policy.KeepReports keeps them.
func TestReleasedReportsDeleted(t *testing.T) {
	ctx := context.Background()
	stored := func(f *fixture, epoch uint32) int64 {
		var n int64
		if err := f.store.Tally(ctx, f.campaign.ID, epoch, func(_ store.Mechanism, _ []byte, k int64) error { n += k; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, keep := range []bool{false, true} {
		f := newFixture(t, func(c *aggregator.Config) { c.Policy.KeepReports = keep })
		epoch := f.campaign.Epoch(f.clock.Now())
		batch := []wire.Envelope{f.report(t, true), f.report(t, true), f.report(t, false), f.report(t, true)}
		if res := f.upload(t, batch...); res.Accepted != 4 {
			t.Fatalf("upload: %+v", res)
		}
		if err := f.agg.ReleaseDue(ctx); err != nil || stored(f, epoch) != 4 {
			t.Fatalf("before the epoch closes: %d stored, %v", stored(f, epoch), err)
		}
		f.closeEpoch()
		if err := f.agg.ReleaseDue(ctx); err != nil {
			t.Fatal(err)
		}
		want := int64(0)
		if keep {
			want = 4
		}
		if got := stored(f, epoch); got != want {
			t.Errorf("keep=%v: %d reports left after the release, want %d", keep, got, want)
		}
		segs := f.segments(t)
		if len(segs) != 1 || segs[0].Reports != 4 || segs[0].SizeEstimate == nil {
			t.Fatalf("keep=%v: released %+v", keep, segs)
		}
		if res := f.upload(t, batch[0]).Results[0]; res.Accepted || res.Reason != api.ReasonEpochTooLate {
			t.Errorf("keep=%v: a late copy of a released report: %+v", keep, res)
		}
		if keep {
			continue
		}
		// A crash between storing a release and deleting: put reports back
		// under the released epoch; the next pass deletes them and the
		// released result does not change.
		leftover := []store.Report{{ID: [16]byte{1}, Campaign: f.campaign.ID, Epoch: epoch, Mechanism: 1, Answer: []byte{1}}}
		if _, err := f.store.Insert(ctx, leftover); err != nil {
			t.Fatal(err)
		}
		if err := f.agg.ReleaseDue(ctx); err != nil || stored(f, epoch) != 0 {
			t.Errorf("leftover after the next pass: %d, %v", stored(f, epoch), err)
		}
		if again := f.segments(t); len(again) != 1 || again[0].Reports != 4 || again[0].Estimate != segs[0].Estimate {
			t.Errorf("release changed: %+v, was %+v", again, segs)
		}
	}
}

// TestReadsNeverRelease: GET /v1/segments and /results of a closed epoch
// store no release and delete no report; the next release pass does both.
func TestReadsNeverRelease(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	epoch := f.campaign.Epoch(f.clock.Now())
	f.upload(t, f.report(t, true), f.report(t, true), f.report(t, false), f.report(t, true))
	f.closeEpoch()
	for _, path := range []string{"/v1/segments", "/v1/campaigns/runners/results", "/v1/segments?format=csv"} {
		if status, b := f.do(t, "GET", path, f.operator, nil); status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, status, b)
		}
	}
	rels, err := f.store.Releases(ctx, f.campaign.ID)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := f.store.Tally(ctx, f.campaign.ID, epoch, func(_ store.Mechanism, _ []byte, k int64) error { n += k; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(rels) != 0 || n != 4 {
		t.Fatalf("after reads: %d releases stored, %d reports left; want 0 and 4", len(rels), n)
	}
	if segs := f.segments(t); len(segs) != 1 || segs[0].Reports != 4 {
		t.Fatalf("after the release pass: %+v", segs)
	}
}

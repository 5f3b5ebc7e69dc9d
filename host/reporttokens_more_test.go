package host

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/privpass"
)

// runnersBehindTokens is an issuer and an aggregator whose runners
// campaign takes reports with the issuer's tokens (cyclists without).
func runnersBehindTokens(t *testing.T) (*fakeClock, *tokenIssuer, []campaign.Campaign, *testAggregator) {
	t.Helper()
	clock := newFakeClock()
	ti := startTokenIssuer(t, clock)
	camps := append([]campaign.Campaign(nil), testCampaigns...)
	camps[0].ReportTokens = &campaign.ReportTokens{IssuerURL: ti.url, IssuerName: "issuer.example"}
	return clock, ti, camps, startTestAggregatorWith(t, clock, camps)
}

// TestIssuerDownOtherCampaignsLeave: while a token campaign's issuer is
// down, its report waits and the pass goes on — the other campaign's
// report leaves; once the issuer is back the waiting one follows. The
// owner's status names the issuer.
func TestIssuerDownOtherCampaignsLeave(t *testing.T) {
	ctx := context.Background()
	clock, ti, camps, agg := runnersBehindTokens(t)
	d, _ := readyDevice(t, t.TempDir(), clock, agg)
	cred, key, err := privpass.Provision(ti.maker, "device-1")
	if err != nil {
		t.Fatal(err)
	}
	d.cfg = d.cfg.WithDeviceCredential(cred, key)
	epoch := camps[0].Epoch(clock.Now())

	ti.down.Store(true)
	d.RunOnce(ctx)
	if r, c := agg.stored(t, "runners", epoch), agg.stored(t, "cyclists", epoch); r != 0 || c != 1 {
		t.Fatalf("issuer down: runners %d, cyclists %d stored; want 0 and 1", r, c)
	}
	ti.down.Store(false)
	clock.Advance(10 * time.Minute)
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if r := agg.stored(t, "runners", epoch); r != 1 {
		t.Fatalf("issuer back: runners %d stored, want 1", r)
	}

	st, err := d.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(ti.url, "http://")
	for _, c := range st.Campaigns {
		if want := map[string]string{"runners": host, "cyclists": ""}[c.ID]; c.TokenIssuer != want {
			t.Errorf("%s: status names issuer %q, want %q", c.ID, c.TokenIssuer, want)
		}
	}
}

// TestTokensChangeTheQuestionDigest: the consent digest covers the
// issuer — adding report tokens or changing the issuer is a new question
// to agree to — and a campaign without tokens keeps its digest.
func TestTokensChangeTheQuestionDigest(t *testing.T) {
	plain := testCampaigns[0]
	before := questionDigest(&plain)
	withTokens := plain
	withTokens.ReportTokens = &campaign.ReportTokens{IssuerURL: "https://issuer.example", IssuerName: "issuer.example"}
	otherIssuer := plain
	otherIssuer.ReportTokens = &campaign.ReportTokens{IssuerURL: "https://other.example", IssuerName: "issuer.example"}
	otherName := plain
	otherName.ReportTokens = &campaign.ReportTokens{IssuerURL: "https://issuer.example", IssuerName: "other"}
	ds := [][]byte{before, questionDigest(&withTokens), questionDigest(&otherIssuer), questionDigest(&otherName)}
	for i := range ds {
		for j := range i {
			if bytes.Equal(ds[i], ds[j]) {
				t.Errorf("digests %d and %d are equal", i, j)
			}
		}
	}
	again := testCampaigns[0]
	if !bytes.Equal(questionDigest(&again), before) {
		t.Error("a campaign without tokens changed digest")
	}
}

// TestTokensFetchedAtAnswerTime reproduces the timing link between an
// issuer's and an aggregator's logs: were each token fetched as its
// report leaves, every issuance would be followed by one redemption
// milliseconds later, and pooling the logs would pair each device with its
// report. Fetched in the pass that answered, every device's issuance is at
// that moment and each redemption a random send delay later. While
// sharing is paused nothing is fetched, and a token the issuer could not
// give at answer time is fetched as the report leaves.
func TestTokensFetchedAtAnswerTime(t *testing.T) {
	ctx := context.Background()
	clock, ti, camps, agg := runnersBehindTokens(t)
	epoch := camps[0].Epoch(clock.Now())
	const n = 6
	devices := make([]*Device, n)
	for i := range devices {
		d, _ := readyDevice(t, t.TempDir(), clock, agg)
		cred, key, err := privpass.Provision(ti.maker, fmt.Sprint("device-", i))
		if err != nil {
			t.Fatal(err)
		}
		d.cfg = d.cfg.WithDeviceCredential(cred, key).WithSendDelay(time.Hour).WithEntropy(rand.NewChaCha8([32]byte{byte(i)}))
		devices[i] = d
	}
	answeredAt := clock.Now()
	for _, d := range devices {
		if sum, err := d.RunOnce(ctx); err != nil || sum.Answered != 2 || sum.Sent != 0 {
			t.Fatalf("first pass: %+v, %v; want both campaigns answered, nothing due yet", sum, err)
		}
	}
	if got := ti.asked.Load(); got != n {
		t.Fatalf("%d token requests in the answering pass, want %d (one per device)", got, n)
	}
	redeemedAt := map[time.Time]int{}
	for step := 0; step < 7 && agg.stored(t, "runners", epoch) < n; step++ {
		clock.Advance(10 * time.Minute)
		before := len(agg.uploadsSeen())
		for _, d := range devices {
			if _, err := d.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for _, p := range agg.uploadsSeen()[before:] {
			redeemedAt[p.at]++
		}
	}
	if got := agg.stored(t, "runners", epoch); got != n || ti.asked.Load() != n {
		t.Fatalf("%d token reports stored after %d token requests, want %d and %d", got, ti.asked.Load(), n, n)
	}
	for i := range devices {
		if at := issuedAt(t, ti, fmt.Sprint("device-", i), epoch); !at.Equal(answeredAt) {
			t.Errorf("device-%d's token issued at %v, want at the answering pass (%v)", i, at, answeredAt)
		}
	}
	if len(redeemedAt) < 2 {
		t.Errorf("uploads at %v: the send delays should spread them", redeemedAt)
	}
	for at := range redeemedAt {
		if !at.After(answeredAt) {
			t.Errorf("an upload at %v, not after the issuances at %v", at, answeredAt)
		}
	}

	// Paused: answered reports wait, and no token is fetched for them.
	clock.Advance(7 * 24 * time.Hour) // the next epoch
	d := devices[0]
	ti.down.Store(true)
	if sum, err := d.RunOnce(ctx); err != nil || sum.Answered != 2 {
		t.Fatalf("issuer down: %+v, %v", sum, err)
	}
	ti.down.Store(false)
	if err := d.PauseSharing(ctx); err != nil {
		t.Fatal(err)
	}
	q, err := d.store.Queued(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range q {
		if r.Campaign == "runners" && (r.Token != nil || !r.NotBefore.After(clock.Now())) {
			t.Fatalf("runners report: token %v, due %v; want one without a token, not due yet", r.Token != nil, r.NotBefore)
		}
	}
	asked := ti.asked.Load()
	if _, err := d.RunOnce(ctx); err != nil || ti.asked.Load() != asked {
		t.Fatalf("paused: %d token requests (%v), want none", ti.asked.Load()-asked, err)
	}
	if err := d.ResumeSharing(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour) // the report is due: its token is fetched as it leaves
	if _, err := d.RunOnce(ctx); err != nil || ti.asked.Load() != asked+1 || agg.stored(t, "runners", epoch+1) != 1 {
		t.Fatalf("resumed: %d token requests, %d stored (%v); want one token fetched as the report left", ti.asked.Load()-asked, agg.stored(t, "runners", epoch+1), err)
	}
}

// issuedAt is when the issuer signed device's token for the runners
// epoch, read back through the store's claim (which returns the holder).
func issuedAt(t *testing.T, ti *tokenIssuer, device string, epoch uint32) time.Time {
	t.Helper()
	rec, err := ti.store.RecordIssuance(context.Background(), store.Issuance{Device: ti.recorded(device), Campaign: "runners", Epoch: epoch, Blinded: []byte("probe"), IssuedAt: time.Unix(1, 0)})
	if err != nil || bytes.Equal(rec.Blinded, []byte("probe")) {
		t.Fatalf("%s has no issuance in epoch %d (%v)", device, epoch, err)
	}
	return rec.IssuedAt
}

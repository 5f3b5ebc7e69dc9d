package host

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/privpass"
)

// TestIssuerDownOtherCampaignsLeave: while a token campaign's issuer is
// down, its report waits and the pass goes on — the other campaign's
// report leaves; once the issuer is back the waiting one follows. The
// owner's status names the issuer.
func TestIssuerDownOtherCampaignsLeave(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	ti := startTokenIssuer(t, clock)
	camps := append([]campaign.Campaign(nil), testCampaigns...)
	camps[0].ReportTokens = &campaign.ReportTokens{IssuerURL: ti.url, IssuerName: "issuer.example"}
	agg := startTestAggregatorWith(t, clock, camps)
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

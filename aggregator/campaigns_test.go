package aggregator_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/cloudflare/circl/sign/ed25519"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/aggregator/store/storetest"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
)

func TestCreateCampaignValidatesAgainstTaxonomyAndPolicy(t *testing.T) {
	f := newFixture(t, func(c *aggregator.Config) { c.Policy.MaxEpsilon = 4 })
	acme, err := f.agg.CreateToken(context.Background(), api.CreateTokenRequest{Role: api.RoleMarketer, Tenant: "acme", Name: "m"})
	if err != nil {
		t.Fatal(err)
	}
	base := campaign.Campaign{ID: "hikers", Name: "Hikers", Question: campaign.Question{Type: "threshold", Category: 410, MinScore: 0.5},
		Epsilon: 1, EpochSeconds: 86400, K: 100}
	tests := []struct {
		name string
		edit func(c *campaign.Campaign)
		raw  string // sent instead of the campaign when set
		want int
	}{
		{"valid", func(c *campaign.Campaign) {}, "", 201},
		{"same id again", func(c *campaign.Campaign) {}, "", 409},
		{"not in taxonomy", func(c *campaign.Campaign) { c.ID, c.Question.Category = "a1", 999999 }, "", 400},
		{"not an Interest", func(c *campaign.Campaign) { c.ID, c.Question.Category = "a2", 1 }, "", 400},
		{"epsilon above policy", func(c *campaign.Campaign) { c.ID, c.Epsilon = "a3", 6 }, "", 422},
		{"epoch too short for policy", func(c *campaign.Campaign) { c.ID, c.EpochSeconds = "a4", 600 }, "", 422},
		{"k below policy", func(c *campaign.Campaign) { c.ID, c.K = "a5", 10 }, "", 422},
		{"unknown field", nil, `{"id":"a6","colour":"red"}`, 400},
	}
	for _, tt := range tests {
		c := base
		var raw json.RawMessage
		if tt.raw != "" {
			raw = json.RawMessage(tt.raw)
		} else {
			tt.edit(&c)
			raw, _ = json.Marshal(c)
		}
		if got, b := f.do(t, "POST", "/v1/campaigns", acme.Token, api.CreateCampaignRequest{Campaign: raw}); got != tt.want {
			t.Errorf("%s: status %d, want %d: %s", tt.name, got, tt.want, b)
		}
	}
}

func TestDevicesVerifySignedCampaigns(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := campaign.Campaign{ID: "hikers", Name: "Hikers", Question: campaign.Question{Type: "threshold", Category: 410, MinScore: 0.5},
		Epsilon: 1, EpochSeconds: 86400, K: 100}
	if _, err := f.agg.CreateCampaign(ctx, c, "globex"); err != nil {
		t.Fatal(err)
	}
	// The device maker provisions the key; here it is read from the API.
	_, b := f.do(t, "GET", "/v1/campaign-signing-key", "", nil)
	var key api.SigningKey
	if err := json.Unmarshal(b, &key); err != nil || key.Algorithm != "Ed25519" {
		t.Fatalf("signing key %s: %v", b, err)
	}
	good, bad, err := f.client.Campaigns(ctx, key.PublicKey, mustTax(t))
	if err != nil || len(bad) != 0 {
		t.Fatalf("campaigns: %v %v", bad, err)
	}
	// The aggregator validated both before signing: the signed configs carry
	// the chosen mechanism and its reason.
	wantRunners := runners
	for _, w := range []*campaign.Campaign{&c, &wantRunners} {
		if err := w.Validate(mustTax(t)); err != nil {
			t.Fatal(err)
		}
	}
	if len(good) != 2 || !reflect.DeepEqual(good[0], c) || !reflect.DeepEqual(good[1], wantRunners) || good[0].MechanismName != "rr" || good[0].MechanismReason == "" {
		t.Fatalf("verified %+v, want hikers and runners", good)
	}
	other, _, _ := ed25519.GenerateKey(nil)
	good, bad, err = f.client.Campaigns(ctx, other, mustTax(t))
	if err != nil || len(good) != 0 || len(bad) != 2 || !errors.Is(bad[0], campaign.ErrSignature) {
		t.Fatalf("under another key: good %v bad %v err %v", good, bad, err)
	}
}

func TestReleaseIsImmutableAndExports(t *testing.T) {
	f := newFixture(t)
	epoch := f.campaign.Epoch(f.clock.Now())
	f.upload(t, f.report(t, true), f.report(t, true), f.report(t, false), f.report(t, true))
	if segs := f.segments(t); len(segs) != 0 {
		t.Fatalf("released while the epoch is open: %+v", segs)
	}
	f.closeEpoch()
	first := f.segments(t)
	if len(first) != 1 || first[0].Reports != 4 || first[0].SizeEstimate == nil || first[0].ReleasedAt.IsZero() {
		t.Fatalf("segments %+v", first)
	}
	// A report slipped into the store after the release changes nothing.
	if _, err := f.store.Insert(context.Background(), []store.Report{storetest.Report(99, "runners", epoch, 1)}); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(24 * 60 * 60 * 1e9)
	again := f.segments(t)
	a, _ := json.Marshal(first)
	b, _ := json.Marshal(again)
	if string(a) != string(b) {
		t.Fatalf("released result changed:\n%s\n%s", a, b)
	}

	_, body := f.do(t, "GET", "/v1/campaigns/runners/results?format=csv", f.operator, nil)
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil || len(rows) != 2 || rows[0][0] != "campaign" || rows[1][0] != "runners" || rows[1][7] != "4" {
		t.Fatalf("csv %q: %v", body, err)
	}
	_, body = f.do(t, "GET", "/v1/segments?format=openrtb", f.operator, nil)
	var rtb aggregator.OpenRTBExport
	if err := json.Unmarshal(body, &rtb); err != nil {
		t.Fatal(err)
	}
	if d := rtb.User.Data; len(d) != 1 || d[0].Ext.SegTax != 4 || len(d[0].Segment) != 1 || d[0].Segment[0].ID != "410" || d[0].Segment[0].Name == "" {
		t.Fatalf("openrtb %s", body)
	}
	if status, _ := f.do(t, "GET", "/v1/segments?format=xml", f.operator, nil); status != http.StatusBadRequest {
		t.Errorf("unknown format: %d, want 400", status)
	}
}

func TestBelowKSuppressedInEveryFormat(t *testing.T) {
	f := newFixture(t)
	f.upload(t, f.report(t, true), f.report(t, true)) // k = 3
	f.closeEpoch()
	segs := f.segments(t)
	if len(segs) != 1 || !segs[0].Suppressed || segs[0].SizeEstimate != nil {
		t.Fatalf("segments %+v", segs)
	}
	_, body := f.do(t, "GET", "/v1/segments?format=openrtb", f.operator, nil)
	if strings.Contains(string(body), `"410"`) {
		t.Errorf("suppressed segment exported to OpenRTB: %s", body)
	}
	_, body = f.do(t, "GET", "/v1/segments?format=csv", f.operator, nil)
	// The count is withheld too (issue 14, item 8): empty, then suppressed.
	if !strings.Contains(string(body), ",,true,,,,,") {
		t.Errorf("csv row of a suppressed segment: %s", body)
	}
}

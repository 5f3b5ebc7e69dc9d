package host_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/aggregatortest"
	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/taxonomy"
	"github.com/wisp-project/wisp/testdata"
)

// TestClientCampaignsVerifies fetches signed campaign configs from a real
// aggregator, directly and through a proxy that rewrites a campaign's
// threshold: the rewritten config is refused, the others still arrive.
func TestClientCampaignsVerifies(t *testing.T) {
	ctx := context.Background()
	tax, err := taxonomy.ParseBytes(taxonomy.DefaultTSV())
	if err != nil {
		t.Fatal(err)
	}
	camps, err := campaign.ParseList(testdata.FitnessCampaigns, tax)
	if err != nil {
		t.Fatal(err)
	}
	agg := aggregatortest.Start(t, aggregator.Config{Taxonomy: tax, Campaigns: camps}, nil)
	// A man in the middle lowers a threshold: min_score 0.6 → 0.1.
	mitm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(agg.URL + r.URL.Path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		var list api.SignedCampaignList
		if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		for i, c := range list.Campaigns {
			if bytes.Contains(c.Config, []byte(`"min_score":0.6`)) {
				list.Campaigns[i].Config = bytes.Replace(c.Config, []byte(`"min_score":0.6`), []byte(`"min_score":0.1`), 1)
				break
			}
		}
		json.NewEncoder(w).Encode(list)
	}))
	defer mitm.Close()

	tests := []struct {
		name    string
		url     string
		good    int
		bad     int
		wantBad error
	}{
		{"direct", agg.URL, len(camps), 0, nil},
		{"through the tampering proxy", mitm.URL, len(camps) - 1, 1, campaign.ErrSignature},
	}
	for _, tt := range tests {
		c := &host.Client{BaseURL: tt.url}
		good, bad, err := c.Campaigns(ctx, agg.SigningKey(), tax)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(good) != tt.good || len(bad) != tt.bad {
			t.Fatalf("%s: %d good, %d bad (%v); want %d, %d", tt.name, len(good), len(bad), bad, tt.good, tt.bad)
		}
		if tt.wantBad != nil && !errors.Is(bad[0], tt.wantBad) {
			t.Errorf("%s: %v, want %v", tt.name, bad[0], tt.wantBad)
		}
	}
}

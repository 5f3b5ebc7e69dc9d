package aggregator_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/taxonomy"
)

// An aggregator on an embedded SQLite store: a marketer token, a campaign
// registered through the API's Go door, and a device that fetches and
// verifies the signed campaign configs.
func ExampleNew() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "wisp-example-")
	defer os.RemoveAll(dir)
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "agg.db")) // or "postgres:postgres://…"
	if err != nil {
		panic(err)
	}
	defer st.Close()
	tax, _ := taxonomy.ParseBytes(taxonomy.DefaultTSV())
	srv, err := aggregator.New(aggregator.Config{Store: st, Taxonomy: tax})
	if err != nil {
		panic(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()

	tok, _ := srv.CreateToken(ctx, api.CreateTokenRequest{Role: api.RoleMarketer, Tenant: "acme", Name: "dashboard"})
	fmt.Println("token:", strings.HasPrefix(tok.Token, "wisp_"), tok.Role, tok.Tenant)

	hikers := campaign.Campaign{ID: "hikers", Name: "Hikers", Question: campaign.Question{Type: "threshold", Category: 410, MinScore: 0.5},
		Epsilon: 1, EpochSeconds: 86400, K: 100}
	if _, err := srv.CreateCampaign(ctx, hikers, "acme"); err != nil {
		panic(err)
	}

	device := &host.Client{BaseURL: hs.URL}
	keys, _ := device.KeyConfigs(ctx)
	good, bad, _ := device.Campaigns(ctx, srv.SigningKey(), tax)
	fmt.Println("HPKE keys advertised:", len(keys.Configs))
	fmt.Println("verified campaigns:", len(good), good[0].ID, "rejected:", len(bad))
	// Output:
	// token: true marketer acme
	// HPKE keys advertised: 1
	// verified campaigns: 1 hikers rejected: 0
}

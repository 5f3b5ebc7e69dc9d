package aggregator_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/store/storetest"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/wire"
)

// TestTwoNodesOneStore runs two aggregator nodes, each with its own
// connection pool and HTTP listener, on one database. Every batch is sent
// to both nodes at once: each report must be accepted exactly once, the
// other copy rejected as a replay; a full replay afterwards is rejected
// 100%; a campaign created on one node is ingested by the other; both
// release the same result.
func TestTwoNodesOneStore(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec func(t testing.TB) string
	}{
		{"postgres", func(t testing.TB) string { return "postgres:" + storetest.PostgresDSN(t) }},
		{"sqlite", func(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "shared.db") }},
	} {
		t.Run(tc.name, func(t *testing.T) { testTwoNodes(t, tc.spec(t)) })
	}
}

func testTwoNodes(t *testing.T, spec string) {
	ctx := context.Background()
	clk := newClock()
	key, err := wire.GenerateKeyPair(7, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a := newNode(t, storetest.Open(t, spec), clk, func(c *aggregator.Config) {
		c.Keys = []*wire.KeyPair{key}
		c.Campaigns = []campaign.Campaign{runners}
		c.Ingest.Queue = 64
	})
	b := newNode(t, storetest.Open(t, spec), clk, func(c *aggregator.Config) { c.Ingest.Queue = 64 }) // learns keys and campaigns from the store

	const n, batchSize = 1200, 100
	reports := make([]wire.Envelope, n)
	for i := range reports {
		reports[i] = a.report(t, i%3 == 0)
	}
	accepted := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for start := 0; start < n; start += batchSize {
		for _, node := range []*fixture{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := node.client.Upload(ctx, reports[start:start+batchSize])
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for _, r := range resp.Results {
					switch {
					case r.Accepted:
						accepted[r.ReportID]++
					case r.Reason != api.ReasonReplay:
						t.Errorf("rejected with %q: %s", r.Reason, r.Detail)
					}
				}
			}()
		}
	}
	wg.Wait()
	if len(accepted) != n {
		t.Fatalf("%d distinct reports accepted, want %d", len(accepted), n)
	}
	for id, times := range accepted {
		if times != 1 {
			t.Fatalf("report %s accepted %d times", id, times)
		}
	}
	for _, node := range []*fixture{a, b} { // replay everything to each node
		for start := 0; start < n; start += batchSize {
			resp := node.upload(t, reports[start:start+batchSize]...)
			if resp.Accepted != 0 {
				t.Fatalf("replay accepted %d reports", resp.Accepted)
			}
			for _, r := range resp.Results {
				if r.Reason != api.ReasonReplay {
					t.Fatalf("replay rejected with %q", r.Reason)
				}
			}
		}
	}

	// A campaign created on node a is answered on node b at once.
	hikers := campaign.Campaign{ID: "hikers", Name: "Hikers", Question: campaign.Question{Type: "threshold", Category: 410, MinScore: 0.5},
		Epsilon: 1, EpochSeconds: 3600, K: 50}
	if _, err := a.agg.CreateCampaign(ctx, hikers, "acme"); err != nil {
		t.Fatal(err)
	}
	b.campaign = hikers
	if res := b.upload(t, b.report(t, true)).Results[0]; !res.Accepted {
		t.Fatalf("node b on a campaign node a just created: %+v", res)
	}

	a.closeEpoch()
	segsA, segsB := a.segments(t), b.segments(t)
	ja, _ := json.Marshal(segsA)
	jb, _ := json.Marshal(segsB)
	if string(ja) != string(jb) {
		t.Fatalf("nodes disagree:\n%s\n%s", ja, jb)
	}
	for _, s := range segsA {
		if s.Campaign == "runners" && s.Reports != n {
			t.Fatalf("runners counted %d reports, want %d", s.Reports, n)
		}
	}
}

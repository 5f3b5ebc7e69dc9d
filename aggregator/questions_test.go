package aggregator_test

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/wire"
)

var (
	topFitness = campaign.Campaign{ID: "top-fitness", Name: "Top 2 fitness interests",
		Question: campaign.Question{Type: campaign.QuestionTopK, Categories: []uint32{408, 410, 415, 625, 667, 672, 674}, K: 2},
		Epsilon:  2, EpochSeconds: 3600, K: 3}
	topAll = campaign.Campaign{ID: "top-all", Name: "Top 3 of all interests",
		Question: campaign.Question{Type: campaign.QuestionTopK, K: 3}, Epsilon: 1, EpochSeconds: 3600, K: 3}
	runMean = campaign.Campaign{ID: "run-mean", Name: "Mean running score",
		Question: campaign.Question{Type: campaign.QuestionMean, Category: 410}, Epsilon: 1, EpochSeconds: 3600, K: 3}
)

// TestQuestionTypesEndToEnd: simulated devices answer a top_k and a mean
// campaign through host.Reporter, upload over real HTTP to a real
// aggregator on SQLite, and the released estimates are within 4 standard
// errors of the known truth; the output names the mechanism and why.
func TestQuestionTypesEndToEnd(t *testing.T) {
	f := newFixture(t, func(c *aggregator.Config) { c.Campaigns = []campaign.Campaign{topFitness, topAll, runMean} })
	list, err := f.client.KeyConfigs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	rep := host.Reporter{Key: list.Configs[0]}
	camps := map[string]*campaign.Campaign{}
	for _, c := range []campaign.Campaign{topFitness, topAll, runMean} {
		c := c
		if err := c.Validate(mustTax(t)); err != nil {
			t.Fatal(err)
		}
		camps[c.ID] = &c
	}
	const n = 3000
	rng := rand.New(rand.NewPCG(1, 2))
	cats := topFitness.Question.Categories
	truthTop := map[uint32]float64{}
	truthAll := map[uint32]float64{}
	var sumScore float64
	var batch []wire.Envelope
	for i := range n {
		scores := map[uint32]float32{}
		for j, c := range cats { // earlier categories more popular
			if rng.Float64() < 0.8/float64(j+1) {
				scores[c] = float32(rng.Float64())
			}
		}
		for _, id := range []string{"top-fitness", "top-all", "run-mean"} {
			c := camps[id]
			codec, err := c.Codec()
			if err != nil {
				t.Fatal(err)
			}
			truth := codec.Truth(scores)
			for _, item := range truth.Set {
				if id == "top-fitness" {
					truthTop[c.Question.Categories[item]]++
				} else {
					truthAll[c.Question.Categories[item]]++
				}
			}
			if id == "run-mean" {
				sumScore += truth.Score
			}
			e, err := rep.ReportWith(c, codec, c.Epoch(f.clock.Now()), scores)
			if err != nil {
				t.Fatal(err)
			}
			batch = append(batch, e)
		}
		if len(batch) >= 900 || i == n-1 {
			if resp := f.upload(t, batch...); resp.Rejected != 0 {
				t.Fatalf("rejected %+v", resp.Results[0])
			}
			batch = batch[:0]
		}
	}
	f.closeEpoch()
	segs := f.segments(t)
	if len(segs) != 3 {
		t.Fatalf("%d segments, want 3", len(segs))
	}
	within := func(name string, est, variance, truth float64) {
		t.Helper()
		if se := math.Sqrt(variance); !(se > 0) || math.Abs(est-truth) > 4*se {
			t.Errorf("%s: estimate %.4g, truth %.4g, se %.3g", name, est, truth, se)
		}
	}
	for _, s := range segs {
		if s.Reports != n || s.Mechanism != camps[s.Campaign].MechanismName || s.MechanismReason == "" || s.Question != camps[s.Campaign].Question.Type {
			t.Errorf("%s: reports %d mechanism %q (%q) question %q", s.Campaign, s.Reports, s.Mechanism, s.MechanismReason, s.Question)
		}
		switch s.Campaign {
		case "top-fitness", "top-all":
			truth := truthTop
			if s.Campaign == "top-all" {
				truth = truthAll
			}
			if s.TopK == nil || s.SizeEstimate != nil || s.Mean != nil || len(s.TopK.Categories) != len(camps[s.Campaign].Question.Categories) {
				t.Fatalf("%s: result %+v", s.Campaign, s)
			}
			var sum float64
			for _, c := range s.TopK.Categories {
				if c.CategoryName == "" || c.Consistent < 0 || math.Abs(c.Share-c.Estimate/n) > 1e-9 {
					t.Errorf("%s %d: %+v", s.Campaign, c.Category, c)
				}
				sum += c.Estimate
				if truth[c.Category] > 0 || s.Campaign == "top-fitness" {
					within(s.Campaign, c.Estimate, c.Variance, truth[c.Category])
				}
			}
		case "run-mean":
			if s.Mean == nil || s.SizeEstimate != nil || s.TopK != nil {
				t.Fatalf("mean result %+v", s)
			}
			within("mean", s.Mean.Mean, s.Mean.Variance, sumScore/n)
		}
	}
	if m := camps["top-fitness"].MechanismName; m != "grr" {
		t.Errorf("top-fitness mechanism %q, want grr (d+k = 9 at ε=2)", m)
	}
	if m := camps["run-mean"].MechanismName; m != "duchi" {
		t.Errorf("run-mean mechanism %q, want duchi at ε=1", m)
	}
	// top-all is over all 497 Interest categories: OUE at ε=1, 63-byte answers.
	if c := camps["top-all"]; c.MechanismName != "oue" || len(c.Question.Categories) != 497 || c.ReportSize < 63 {
		t.Errorf("top-all: %s over %d categories, report size %d", c.MechanismName, len(c.Question.Categories), c.ReportSize)
	}

	// CSV: one row per top_k category, one for the mean.
	status, b := f.do(t, "GET", "/v1/segments?format=csv", f.operator, nil)
	rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if status != http.StatusOK || err != nil || len(rows) != 1+7+497+1 {
		t.Fatalf("csv: %d %v, %d rows", status, err, len(rows))
	}
	// OpenRTB: the popular fitness categories pass the share threshold;
	// the mean is not an audience.
	status, b = f.do(t, "GET", "/v1/segments?format=openrtb", f.operator, nil)
	var rtb aggregator.OpenRTBExport
	if err := json.Unmarshal(b, &rtb); status != http.StatusOK || err != nil {
		t.Fatalf("openrtb: %d %v", status, err)
	}
	found := map[string]bool{}
	for _, d := range rtb.User.Data {
		for _, s := range d.Segment {
			found[s.Ext.Campaign+"/"+s.ID] = true
			if s.Ext.Campaign == "run-mean" || d.ID != "wisp:"+s.Ext.Campaign {
				t.Errorf("data %q holds segment %+v", d.ID, s)
			}
		}
	}
	if !found["top-fitness/408"] || !found["top-fitness/410"] {
		t.Errorf("openrtb segments %v: want the two most popular fitness categories", found)
	}
}

// TestTopKAnswerOfWrongShapeIsRejected: a report whose answer does not
// decode under the campaign's mechanism is a bad answer, not stored.
func TestTopKAnswerOfWrongShapeIsRejected(t *testing.T) {
	f := newFixture(t, func(c *aggregator.Config) { c.Campaigns = []campaign.Campaign{topFitness} })
	list, err := f.client.KeyConfigs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	c := topFitness
	if err := c.Validate(mustTax(t)); err != nil {
		t.Fatal(err)
	}
	rep := host.Reporter{Key: list.Configs[0]}
	// An rr answer (one byte 0/1) under this campaign's id: the mechanism
	// byte differs, so it is refused.
	threshold := runners
	threshold.ID = c.ID
	threshold.EpochSeconds = c.EpochSeconds
	e, err := rep.Report(&threshold, c.Epoch(f.clock.Now()), map[uint32]float32{410: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	resp := f.upload(t, e)
	if resp.Rejected != 1 || resp.Results[0].Reason != "bad_answer" {
		t.Fatalf("%+v", resp)
	}
}

// TestLegacyThresholdConfig: a campaign config stored before campaigns
// named their mechanism still takes reports and its results say rr and why.
func TestLegacyThresholdConfig(t *testing.T) {
	f := newFixture(t)
	legacy := `{"id":"legacy","name":"Legacy","question":{"type":"threshold","category":410,"min_score":0.6},"epsilon":1,"epoch_seconds":3600,"k":1}`
	if err := f.store.AddCampaign(t.Context(), store.Campaign{ID: "legacy", Tenant: "acme", Config: []byte(legacy), Signature: []byte{0}, CreatedAt: f.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	node := newNode(t, f.store, f.clock) // loads the registry from the store
	if err := json.Unmarshal([]byte(legacy), &node.campaign); err != nil {
		t.Fatal(err)
	}
	if resp := node.upload(t, node.report(t, true), node.report(t, false)); resp.Accepted != 2 {
		t.Fatalf("%+v", resp)
	}
	node.closeEpoch()
	for _, s := range node.segments(t) {
		if s.Campaign == "legacy" && (s.Mechanism != "rr" || !strings.HasPrefix(s.MechanismReason, "rr has the least") || s.SizeEstimate == nil || s.Reports != 2) {
			t.Errorf("legacy result %+v", s)
		}
	}
}

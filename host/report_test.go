package host_test

import (
	"crypto/rand"
	"testing"

	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/taxonomy"
	"github.com/wisp-project/wisp/internal/wire"
)

func TestReporterSealsRandomizedAnswer(t *testing.T) {
	key, err := wire.GenerateKeyPair(2, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c := campaign.Campaign{ID: "runners", Question: campaign.Question{Type: "threshold", Category: 410, MinScore: 0.6},
		Epsilon: 1, EpochSeconds: 3600, K: 1}
	r := host.Reporter{Key: key.Config}
	const n = 4000
	yes, size := 0, -1
	ids := map[wire.ReportID]bool{}
	for range n {
		e, err := r.Report(&c, 42, map[uint32]float32{410: 0.8}) // truly a runner
		if err != nil {
			t.Fatal(err)
		}
		if e.Campaign != "runners" || e.Epoch != 42 || e.KeyID != 2 || ids[e.ID] {
			t.Fatalf("envelope %+v (duplicate id: %v)", e, ids[e.ID])
		}
		ids[e.ID] = true
		if size == -1 {
			size = len(e.Sealed)
		} else if len(e.Sealed) != size {
			t.Fatalf("report sizes differ: %d vs %d", len(e.Sealed), size)
		}
		p, err := key.Open(&e)
		if err != nil {
			t.Fatal(err)
		}
		if p.Mechanism != 1 || len(p.Answer) != 1 || p.Answer[0] > 1 {
			t.Fatalf("payload %+v", p)
		}
		yes += int(p.Answer[0])
	}
	// ε = 1: the true "yes" is kept with p = e/(1+e) ≈ 0.731; sd of the
	// share over 4000 reports ≈ 0.007.
	rr, _ := c.RR()
	if share := float64(yes) / n; share < rr.P()-0.03 || share > rr.P()+0.03 {
		t.Fatalf("%.3f of reports say yes, want ≈ %.3f: the answer is not randomized as claimed", share, rr.P())
	}
}

// TestReporterEveryQuestionType: top_k and mean answers are sealed with the
// campaign's chosen mechanism, decode under it, and every report of a
// campaign has one size whatever the truth (an OUE answer over all 497
// Interest categories included).
func TestReporterEveryQuestionType(t *testing.T) {
	key, err := wire.GenerateKeyPair(2, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tax, err := taxonomy.ParseBytes(taxonomy.DefaultTSV())
	if err != nil {
		t.Fatal(err)
	}
	camps := []campaign.Campaign{
		{ID: "top-all", Question: campaign.Question{Type: campaign.QuestionTopK, K: 3}, Epsilon: 1, EpochSeconds: 3600, K: 1},
		{ID: "top-few", Question: campaign.Question{Type: campaign.QuestionTopK, Categories: []uint32{410, 625, 667}, K: 1}, Epsilon: 2, EpochSeconds: 3600, K: 1},
		{ID: "mean", Question: campaign.Question{Type: campaign.QuestionMean, Category: 410}, Epsilon: 3, EpochSeconds: 3600, K: 1},
	}
	r := host.Reporter{Key: key.Config}
	for _, c := range camps {
		if err := c.Validate(tax); err != nil {
			t.Fatal(err)
		}
		codec, err := c.Codec()
		if err != nil {
			t.Fatal(err)
		}
		sizes := map[int]bool{}
		for _, scores := range []map[uint32]float32{nil, {410: 0.9}, {410: 0.2, 625: 0.7, 667: 0.5, 1: 0.3}} {
			e, err := r.Report(&c, 7, scores)
			if err != nil {
				t.Fatalf("%s: %v", c.ID, err)
			}
			sizes[len(e.Sealed)] = true
			p, err := key.Open(&e)
			if err != nil {
				t.Fatal(err)
			}
			if p.Mechanism != c.Mechanism() || codec.CheckAnswer(p.Mechanism, p.Answer) != nil {
				t.Errorf("%s: payload %v %x does not decode as %v", c.ID, p.Mechanism, p.Answer, c.Mechanism())
			}
		}
		if len(sizes) != 1 {
			t.Errorf("%s: report sizes %v, want one", c.ID, sizes)
		}
	}
}

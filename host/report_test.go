package host_test

import (
	"crypto/rand"
	"testing"

	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/internal/campaign"
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

package campaign

import (
	"math/rand/v2"
	"testing"

	"github.com/wisp-project/wisp/internal/taxonomy"
)

// FuzzParseList feeds the campaign list decoder (the aggregator's
// --campaigns file; a device decodes each verified config the same way)
// arbitrary bytes. It must never panic, and every campaign it accepts must
// be one a device can answer: its codec builds, and an answer drawn from
// any profile fits the padded report size.
func FuzzParseList(f *testing.F) {
	f.Add([]byte(`[{"id":"runners","name":"Runners","epsilon":1,"epoch_seconds":604800,"k":50,
		"question":{"type":"threshold","category":410,"min_score":0.5}}]`))
	f.Add([]byte(`[{"id":"top","name":"Top","epsilon":2,"epoch_seconds":86400,"k":10,
		"question":{"type":"top_k","k":3,"categories":[410,625,417]}}]`))
	f.Add([]byte(`[{"id":"m","name":"M","epsilon":0.5,"epoch_seconds":3600,"k":5,"report_size":16,
		"question":{"type":"mean","category":410}}]`))
	f.Add([]byte(`[{"id":"p","name":"P","epsilon":1,"epoch_seconds":604800,"k":50,"mode":"prio3",
		"question":{"type":"threshold","category":410,"min_score":0.5}}]`))
	tax := taxonomy.Default()
	f.Fuzz(func(t *testing.T, b []byte) {
		list, err := ParseList(b, tax)
		if err != nil {
			return
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range list {
			c := &list[i]
			k, err := c.Codec()
			if err != nil {
				t.Fatalf("accepted campaign %q has no codec: %v", c.ID, err)
			}
			if c.IsPrio3() {
				continue
			}
			scores := map[uint32]float32{}
			for _, id := range append([]uint32{c.Question.Category}, c.Question.Categories...) {
				scores[id] = rng.Float32()
			}
			truth := k.Truth(scores)
			if k.NeedsOffset() {
				if truth, err = k.Round(truth, rng.Float64()); err != nil {
					t.Fatalf("%q: round: %v", c.ID, err)
				}
			}
			perm, err := k.Permanent(truth, rng)
			if err != nil {
				t.Fatalf("%q: permanent answer: %v", c.ID, err)
			}
			report, err := k.Instant(perm, rng)
			if err != nil {
				t.Fatalf("%q: report: %v", c.ID, err)
			}
			if len(report) > c.PaddedSize() {
				t.Fatalf("%q: a %d-byte answer does not fit the %d-byte padded report", c.ID, len(report), c.PaddedSize())
			}
		}
	})
}

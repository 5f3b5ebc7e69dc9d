package fridge_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wisp-project/wisp/host/plugintest"
	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/plugins"
	"github.com/wisp-project/wisp/plugins/fridge/scorer"
	"github.com/wisp-project/wisp/sdk/abi"
	"github.com/wisp-project/wisp/sdk/guest"
)

func manifest(t *testing.T) sandbox.Manifest { return plugintest.ReadManifest(t, "manifest.json") }

// TestFixtures runs the C plugin, in both its input modes, in the real
// host against the fixtures.
func TestFixtures(t *testing.T) {
	plugintest.New(t, plugins.Fridge, manifest(t)).RunFile(t, "testdata/fixtures.json")
	plugintest.New(t, plugins.FridgeEvents, manifest(t)).RunFile(t, "testdata/fixtures.json")
}

// TestTwinsAgree checks the C plugin, its Go twin natively and the twin
// built as Go wasip1 give the same scores on random weeks, including broken
// readings and unknown codes.
func TestTwinsAgree(t *testing.T) {
	m := manifest(t)
	c := plugintest.New(t, plugins.Fridge, m)
	cEvents := plugintest.New(t, plugins.FridgeEvents, m)
	m.Limits.MemoryPages = 256 // the Go runtime needs more than the C build's 16 pages
	gowasm := plugintest.New(t, plugins.FridgeGo, m)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		events := RandomWeek(rng, rng.IntN(60))
		var native guest.Scores
		if err := scorer.Score(events, &native); err != nil {
			t.Fatal(err)
		}
		want := map[uint32]float32{}
		for _, s := range native.List() {
			want[s.Category] = s.Value
		}
		for name, h := range map[string]*plugintest.Harness{"C, summaries": c, "C, events": cEvents, "Go wasip1": gowasm} {
			got, err := h.Score(events)
			if err != nil {
				t.Fatalf("week %d, %s: %v", i, name, err)
			}
			if len(got) != len(want) {
				t.Fatalf("week %d, %s: %v, native %v", i, name, got, want)
			}
			for cat, v := range want {
				if math.Abs(float64(got[cat]-v)) > 2e-7 { // float32 rounding of sums taken in another order
					t.Fatalf("week %d, %s: category %d = %v, native %v", i, name, cat, got[cat], v)
				}
			}
		}
	}
}

// RandomWeek returns n plausible fridge events, some of them broken.
func RandomWeek(rng *rand.Rand, n int) []abi.Event {
	events := make([]abi.Event, n)
	for i := range events {
		e := abi.Event{Kind: uint32(1 + rng.IntN(3)), Code: uint32(1 + rng.IntN(13)), Time: int64(i) * 3600_000, Value: float64(rng.IntN(6))}
		if e.Kind == scorer.KindRecipe {
			e.Code = uint32(1 + rng.IntN(7))
			e.Value = float64(5 + rng.IntN(60))
		}
		switch rng.IntN(40) {
		case 0:
			e.Value = math.NaN()
		case 1:
			e.Value = math.Inf(1)
		case 2:
			e.Value = -2
		}
		events[i] = e
	}
	return events
}

package host

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/wisp-project/wisp/sdk/abi"
)

// TestSummarizeMatchesReference checks the fast path against abi.Summarize,
// including kinds and codes outside the flat table and broken readings, and
// that scratch space does not leak between calls.
func TestSummarizeMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var s summarizer
	for i := range 300 {
		n := rng.IntN(200)
		events := make([]abi.Event, n)
		for j := range events {
			e := abi.Event{Kind: uint32(rng.IntN(5)), Code: uint32(rng.IntN(20)), Value: float64(rng.IntN(100)) / 4}
			if i%7 == 0 && j == n/2 {
				e.Kind = 99 // forces the slow path
			}
			switch rng.IntN(20) {
			case 0:
				e.Value = math.NaN()
			case 1:
				e.Value = math.Inf(1)
			case 2:
				e.Value = -1
			}
			events[j] = e
		}
		got := append([]abi.Summary(nil), s.summarize(events)...)
		want := abi.Summarize(events)
		if len(got) == 0 && len(want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("batch %d: got %v, want %v", i, got, want)
		}
	}
}

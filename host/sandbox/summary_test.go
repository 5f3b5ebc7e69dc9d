package sandbox

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
			e := abi.Event{Kind: uint32(rng.IntN(5)), Code: uint32(rng.IntN(24)), Value: float64(rng.IntN(100)) / 4}
			if i%7 == 0 && j == n/2 {
				e.Kind = 99 // forces the slow path
			}
			switch rng.IntN(24) {
			case 0:
				e.Value = math.NaN()
			case 1:
				e.Value = math.Inf(1)
			case 2:
				e.Value = -1
			case 3:
				e.Value = math.Copysign(0, -1) // valid: -0 ≥ 0
			case 4:
				e.Value = math.Inf(-1)
			case 5:
				e.Value = -math.SmallestNonzeroFloat64
			case 6:
				e.Value = math.MaxFloat64
			case 7:
				e.Value = math.Float64frombits(0xfff8000000000001) // a negative NaN
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

func BenchmarkSummarize(b *testing.B) {
	events := make([]abi.Event, 1000)
	for i := range events {
		events[i] = abi.Event{Kind: uint32(1 + i%3), Code: uint32(1 + (i*7)%12), Time: int64(i) * 60_000, Value: float64(1 + i%5)}
	}
	var s summarizer
	for b.Loop() {
		s.summarize(events)
	}
}

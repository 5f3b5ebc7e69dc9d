package ldp_test

import (
	"math"
	"slices"
	"testing"

	"github.com/wisp-project/wisp/internal/ldp"
)

// TestSupportedItemsRoundTrip decodes single answers and checks them
// against each mechanism's definition: the fraction of answers for item 0
// that support item 0 must be p*, the fraction supporting item 1 must be
// q* (within 4σ), GRR answers support exactly one item and Hadamard
// answers half of D.
func TestSupportedItemsRoundTrip(t *testing.T) {
	const d, samples = 16, 20000
	rng := ldp.NewSeededRand(9)
	for _, m := range []ldp.Mechanism{ldp.MechanismRR, ldp.MechanismGRR, ldp.MechanismOUE, ldp.MechanismOLH, ldp.MechanismHadamard} {
		dm := d
		if m == ldp.MechanismRR {
			dm = 2
		}
		fo, err := ldp.NewOracle(m, 1, dm)
		if err != nil {
			t.Fatal(err)
		}
		var self, other int
		for range samples {
			a, _ := fo.AppendRandomized(nil, 0, rng)
			items, err := ldp.SupportedItems(fo, a)
			if err != nil {
				t.Fatal(err)
			}
			if slices.Contains(items, 0) {
				self++
			}
			if slices.Contains(items, 1) {
				other++
			}
			if (m == ldp.MechanismGRR || m == ldp.MechanismRR) && len(items) != 1 {
				t.Fatalf("%v answer supports %v", m, items)
			}
			// Row 0 of the Hadamard matrix is all ones: its answers support
			// every item or none; every other row splits the items in half.
			if n := len(items); m == ldp.MechanismHadamard && n != d/2 && n != 0 && n != d {
				t.Fatalf("hadamard answer supports %d items, want %d (or 0 or %d)", n, d/2, d)
			}
		}
		p, q := fo.Support()
		for _, c := range []struct {
			name string
			got  int
			want float64
		}{{"p*", self, p}, {"q*", other, q}} {
			if sd := math.Sqrt(c.want * (1 - c.want) / samples); math.Abs(float64(c.got)/samples-c.want) > 4*sd {
				t.Errorf("%v: %s measured %.4f, want %.4f", m, c.name, float64(c.got)/samples, c.want)
			}
		}
	}
	fo, _ := ldp.NewOUE(1, 10)
	items, err := ldp.SupportedItems(fo, []byte{0b0000_0101, 0b10})
	if err != nil || !slices.Equal(items, []int{0, 2, 9}) {
		t.Errorf("OUE bits 0, 2, 9: got %v, %v", items, err)
	}
	if _, err := ldp.SupportedItems(fo, []byte{1}); err == nil {
		t.Error("short OUE answer decoded")
	}
}

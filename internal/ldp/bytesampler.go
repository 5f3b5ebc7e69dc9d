package ldp

import (
	"math"
	"math/bits"
	"math/rand/v2"
)

// ByteSampler draws a byte whose 8 bits are independent Bernoulli(q), in
// O(1) with Walker's alias method over the 256 patterns. It is how OUE and
// the Bloom-filter baseline randomize hundreds of bits per answer without
// hundreds of random draws: exact up to float64 rounding of the table.
type ByteSampler struct {
	prob  [256]float64
	alias [256]uint8
}

// NewByteSampler returns a sampler of bytes whose 8 bits are independent
// Bernoulli(q).
func NewByteSampler(q float64) *ByteSampler {
	var w [256]float64
	for b := range 256 {
		k := bits.OnesCount8(uint8(b))
		w[b] = math.Pow(q, float64(k)) * math.Pow(1-q, float64(8-k)) * 256
	}
	s := &ByteSampler{}
	var small, large []int
	for b, x := range w {
		if x < 1 {
			small = append(small, b)
		} else {
			large = append(large, b)
		}
	}
	for len(small) > 0 && len(large) > 0 {
		l, g := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		s.prob[l], s.alias[l] = w[l], uint8(g)
		w[g] -= 1 - w[l]
		if w[g] < 1 {
			large = large[:len(large)-1]
			small = append(small, g)
		}
	}
	for _, b := range append(small, large...) {
		s.prob[b], s.alias[b] = 1, uint8(b)
	}
	return s
}

// Sample draws one byte.
func (s *ByteSampler) Sample(rng *rand.Rand) byte {
	u := rng.Uint64()
	b := uint8(u)
	// 53 high bits as a uniform in [0, 1).
	if float64(u>>11)*(1.0/(1<<53)) < s.prob[b] {
		return b
	}
	return s.alias[b]
}

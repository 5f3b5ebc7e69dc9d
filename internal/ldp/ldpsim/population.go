package ldpsim

import (
	"math"
	"math/rand/v2"
	"sort"

	"github.com/wisp-project/wisp/internal/ldp"
)

// zipfWeights returns item prevalence ∝ 1/(v+1)^s, normalized.
func zipfWeights(d int, s float64) []float64 {
	w, total := make([]float64, d), 0.0
	for v := range d {
		w[v] = math.Pow(float64(v+1), -s)
		total += w[v]
	}
	for v := range w {
		w[v] /= total
	}
	return w
}

// zipfCounts spreads n devices over d items as evenly as rounding allows
// (largest remainders), so the truth is exact and reproducible.
func zipfCounts(n, d int, s float64) []int {
	w := zipfWeights(d, s)
	counts, left := make([]int, d), n
	type rem struct {
		v int
		r float64
	}
	rems := make([]rem, d)
	for v := range d {
		x := float64(n) * w[v]
		counts[v] = int(x)
		left -= counts[v]
		rems[v] = rem{v, x - float64(counts[v])}
	}
	sort.Slice(rems, func(i, j int) bool { return rems[i].r > rems[j].r })
	for i := 0; i < left; i++ {
		counts[rems[i%d].v]++
	}
	return counts
}

// population is one simulated set of devices.
type population struct {
	n, d, l int
	counts  []int     // devices holding each item (single-item questions)
	sets    [][]int32 // each device's top-l set (set-valued questions)
	setHits []float64 // devices whose set contains each item
	values  []float64 // each device's numeric value in [-1, 1]
}

func newPopulation(n, d, l int, s float64, seed uint64) *population {
	p := &population{n: n, d: d, l: l, counts: zipfCounts(n, d, s)}
	rng := ldp.NewSeededRand(seed)
	// Sets: l distinct items drawn by Zipf weight (rejection on repeats).
	cdf := zipfWeights(d, s)
	for v := 1; v < d; v++ {
		cdf[v] += cdf[v-1]
	}
	draw := func() int32 {
		return int32(min(sort.SearchFloat64s(cdf, rng.Float64()), d-1))
	}
	p.sets = make([][]int32, n)
	p.setHits = make([]float64, d)
	flat := make([]int32, n*l)
	for i := range p.sets {
		set := flat[i*l : i*l : (i+1)*l]
		for len(set) < l {
			v := draw()
			dup := false
			for _, x := range set {
				dup = dup || x == v
			}
			if !dup {
				set = append(set, v)
				p.setHits[v]++
			}
		}
		p.sets[i] = set
	}
	// Values: skewed toward low values, like weekly workout minutes.
	p.values = make([]float64, n)
	for i := range p.values {
		u := rng.Float64()
		p.values[i] = 2*u*u - 1
	}
	return p
}

// seedFor derives independent seeds for (task, repeat) from the base seed.
func seedFor(base uint64, parts ...int) uint64 {
	r := rand.New(rand.NewPCG(base, 0x5eed))
	x := r.Uint64()
	for _, p := range parts {
		x = splitmix(x ^ uint64(p)*0x9e3779b97f4a7c15)
	}
	return x
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

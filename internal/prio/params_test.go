package prio

import (
	"encoding/hex"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/internal/dpnoise"
)

func TestParamsValidate(t *testing.T) {
	for _, tc := range cases {
		if err := tc.p.Validate(); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	for _, p := range []Params{
		{},
		{VDAF: 9},
		{VDAF: Count, Length: 1},
		{VDAF: Sum},
		{VDAF: Sum, Bits: 33},
		{VDAF: Sum, Bits: 8, ChunkLen: 1},
		{VDAF: Histogram, Length: 1, ChunkLen: 1},
		{VDAF: Histogram, Length: 10},
		{VDAF: Histogram, Length: 10, ChunkLen: 11},
		{VDAF: Histogram, Length: MaxLength + 1, ChunkLen: 10},
		{VDAF: MultihotCountVec, Length: 10, ChunkLen: 3},
		{VDAF: MultihotCountVec, Length: 10, ChunkLen: 3, MaxWeight: 11},
		{VDAF: SumVec, Length: 4, ChunkLen: 3},
		{VDAF: SumVec, Length: 4, Bits: 8, ChunkLen: 3, MaxWeight: 1},
		ForOneOf(-1),
		ForMean(300),
	} {
		if err := p.Validate(); !errors.Is(err, ErrParams) {
			t.Errorf("%+v: err %v, want ErrParams", p, err)
		}
		if _, err := NewClient(p, nil); !errors.Is(err, ErrParams) {
			t.Errorf("NewClient(%+v): err %v, want ErrParams", p, err)
		}
	}
}

func TestParamsSensitivity(t *testing.T) {
	for _, c := range []struct {
		p    Params
		want uint64
	}{
		{ForThreshold(), 1},
		{ForOneOf(20), 1},
		{ForTopK(20, 5), 5},
		{ForMean(8), 255},
		{ForMeans(3, 4), 45},
	} {
		if got := c.p.Sensitivity(); got != c.want {
			t.Errorf("%v: Δ = %d, want %d", c.p.VDAF, got, c.want)
		}
	}
}

func TestParamsEncoding(t *testing.T) {
	p := ForTopK(10, 3) // {1: 5, 2: 10, 4: 4, 5: 3}
	b, err := EncodeParams(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(b), "a40105020a04040503"; got != want {
		t.Fatalf("EncodeParams = %s, want %s", got, want)
	}
	back, err := DecodeParams(b)
	if err != nil || back != p {
		t.Fatalf("DecodeParams = %+v, %v", back, err)
	}
	for name, bad := range map[string]string{
		"keys out of order":   "a4 020a 0105 0404 0503",
		"zero field written":  "a5 0105 020a 0300 0404 0503",
		"unknown key":         "a5 0105 020a 0404 0503 0601",
		"non-shortest int":    "a4 011805 020a 0404 0503",
		"duplicate key":       "a4 0105 0105 0404 0503",
		"invalid instance":    "a1 0109",
		"trailing bytes":      "a4 0105 020a 0404 0503 00",
		"indefinite-length":   "bf 0105 020a 0404 0503 ff",
		"not a map":           "80",
		"empty":               "",
		"max weight too high": "a4 0105 020a 0404 050b",
	} {
		raw, err := hex.DecodeString(strings.ReplaceAll(bad, " ", ""))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := DecodeParams(raw); !errors.Is(err, ErrParams) {
			t.Errorf("%s (%x): err %v, want ErrParams", name, raw, err)
		}
	}
}

// TestNoiseVariance: 2·2q/(1−q)², q = e^(−ε/Δ), for the scales that are
// exact in binary (ε = 1 and ½; Δ = 1 and 3).
func TestNoiseVariance(t *testing.T) {
	for _, tt := range []struct {
		p   Params
		eps float64
	}{{ForThreshold(), 1}, {ForThreshold(), 0.5}, {ForTopK(10, 3), 1}} {
		q := math.Exp(-tt.eps / float64(tt.p.Sensitivity()))
		want := 4 * q / ((1 - q) * (1 - q))
		got, err := tt.p.NoiseVariance(tt.eps)
		if err != nil || math.Abs(got-want) > 1e-9*want {
			t.Errorf("%v at ε=%g: %v (%v), want %v", tt.p.VDAF, tt.eps, got, err, want)
		}
	}
	if _, err := ForThreshold().NoiseVariance(0); err == nil {
		t.Error("ε = 0 has a noise variance")
	}
}

// TestNoiseHalfWidth: against a direct convolution of the two draws'
// pmfs, and the coverage the figure (±4 for a count at ε = 1)
// has.
func TestNoiseHalfWidth(t *testing.T) {
	for _, tt := range []struct {
		p    Params
		eps  float64
		want int64
	}{{ForThreshold(), 1, 4}, {ForTopK(10, 3), 1, 0}, {ForMean(4), 0.5, 0}} {
		h, err := tt.p.NoiseHalfWidth(tt.eps, 0.95)
		if err != nil {
			t.Fatal(err)
		}
		if tt.want != 0 && h != tt.want {
			t.Errorf("%v: h = %d, want %d", tt.p.VDAF, h, tt.want)
		}
		scale, _ := dpnoise.LaplaceScale(tt.p.Sensitivity(), tt.eps)
		lap, _ := dpnoise.NewLaplace(scale)
		m := int64(60 * scale.Float64())
		within := func(h int64) float64 { // Σ_{|z|≤h} Σ_x pmf(x)·pmf(z−x)
			s := 0.0
			for z := -h; z <= h; z++ {
				for x := -m; x <= m; x++ {
					s += lap.PMF(x) * lap.PMF(z-x)
				}
			}
			return s
		}
		if in, below := within(h), within(h-1); in < 0.95 || below >= 0.95 {
			t.Errorf("%v at ε=%g: P(|noise| ≤ %d) = %.4f, P(≤ %d) = %.4f; want the first ≥ 0.95 > the second",
				tt.p.VDAF, tt.eps, h, in, h-1, below)
		}
	}
	if _, err := ForThreshold().NoiseHalfWidth(1, 1); err == nil {
		t.Error("a 100% interval has a half-width")
	}
}

package prio

import (
	"errors"
	"fmt"
	"math"
	"math/bits"

	"github.com/fxamacker/cbor/v2"
)

// VDAF names a Prio3 variant by its algorithm id in draft-irtf-cfrg-vdaf
// (the id is bound into every XOF derivation, so it is also the wire id).
type VDAF uint32

// The Prio3 variants Wisp uses, with the question each answers.
const (
	Count            VDAF = 1 // threshold: one bit per device
	Sum              VDAF = 2 // mean of one value quantized to Bits bits
	SumVec           VDAF = 3 // means of Length values of Bits bits each
	Histogram        VDAF = 4 // one of Length categories (exactly one)
	MultihotCountVec VDAF = 5 // a set of at most MaxWeight of Length categories (top-k)
)

func (v VDAF) String() string {
	switch v {
	case Count:
		return "Prio3Count"
	case Sum:
		return "Prio3Sum"
	case SumVec:
		return "Prio3SumVec"
	case Histogram:
		return "Prio3Histogram"
	case MultihotCountVec:
		return "Prio3MultihotCountVec"
	}
	return fmt.Sprintf("VDAF(%d)", uint32(v))
}

// Limits on parameters a campaign may carry. They bound what a hostile or
// mistaken config can make a device or aggregator allocate, and keep every
// honest aggregate far below half the field (see Unshard).
const (
	MaxLength = 1 << 14 // categories or vector entries
	MaxBits   = 32      // bits of a quantized value
)

// Params is the canonical description of one Prio3 instance, the part of a
// signed campaign config that both devices and both aggregators must agree
// on bit for bit. Encode it with EncodeParams (deterministic CBOR, integer
// keys) or embed the struct in a larger CBOR config; zero fields are
// omitted.
//
//	VDAF              Length  Bits  ChunkLen  MaxWeight
//	Count             -       -     -         -
//	Sum               -       1–32  -         -
//	SumVec            ≥ 1     1–32  ≥ 1       -
//	Histogram         ≥ 2     -     ≥ 1       -
//	MultihotCountVec  ≥ 1     -     ≥ 1       1–Length
type Params struct {
	VDAF      VDAF   `cbor:"1,keyasint"`
	Length    uint32 `cbor:"2,keyasint,omitempty"`
	Bits      uint8  `cbor:"3,keyasint,omitempty"`
	ChunkLen  uint32 `cbor:"4,keyasint,omitempty"`
	MaxWeight uint32 `cbor:"5,keyasint,omitempty"`
}

// ForThreshold is the instance for a threshold question: does this device's
// score for the category reach the threshold? One bit, summed.
func ForThreshold() Params { return Params{VDAF: Count} }

// ForOneOf is the instance for a one-of-d question (which of d categories
// is this device's top one?): a one-hot vector, proven to have exactly one
// 1. A device cannot send a null report with it; use ForTopK(d, 1) (at
// most one) when null reports are needed.
func ForOneOf(d int) Params {
	return Params{VDAF: Histogram, Length: u32(d), ChunkLen: chunk(d)}
}

// ForTopK is the instance for a top-k set question: a 0/1 vector over d
// categories with at most k ones, proven.
func ForTopK(d, k int) Params {
	mlen := d + bits.Len(uint(k)) // MultihotCountVec's measurement: d bits and the weight's bits
	return Params{VDAF: MultihotCountVec, Length: u32(d), ChunkLen: chunk(mlen), MaxWeight: u32(k)}
}

// ForMean is the instance for the mean of one value quantized to b bits
// (an integer in [0, 2^b − 1]); the aggregate is the sum.
func ForMean(b int) Params { return Params{VDAF: Sum, Bits: u8(b)} }

// ForMeans is the instance for the means of n values, each quantized to b
// bits.
func ForMeans(n, b int) Params {
	return Params{VDAF: SumVec, Length: u32(n), Bits: u8(b), ChunkLen: chunk(n * b)}
}

// chunk is the gadget chunk length that minimizes the proof, ≈ √(measurement
// length) (draft-irtf-cfrg-vdaf, "Selection of ParallelSum chunk length").
func chunk(measLen int) uint32 {
	if measLen < 1 {
		return 1
	}
	return u32(int(math.Ceil(math.Sqrt(float64(measLen)))))
}

func u32(n int) uint32 {
	if n < 0 || n > math.MaxUint32 {
		return 0 // refused by Validate
	}
	return uint32(n)
}

func u8(n int) uint8 {
	if n < 0 || n > math.MaxUint8 {
		return 0 // refused by Validate
	}
	return uint8(n)
}

// ErrParams reports a Params that is not a valid instance.
var ErrParams = errors.New("prio: invalid parameters")

// Validate reports whether p names a valid instance within Wisp's limits.
func (p Params) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %v: %s", ErrParams, p.VDAF, fmt.Sprintf(format, a...))
	}
	unused := func(names ...string) error {
		for _, n := range names {
			var v uint64
			switch n {
			case "length":
				v = uint64(p.Length)
			case "bits":
				v = uint64(p.Bits)
			case "chunk length":
				v = uint64(p.ChunkLen)
			case "max weight":
				v = uint64(p.MaxWeight)
			}
			if v != 0 {
				return bad("%s must be zero", n)
			}
		}
		return nil
	}
	length := func(lo uint32) error {
		if p.Length < lo || p.Length > MaxLength {
			return bad("length %d outside [%d, %d]", p.Length, lo, MaxLength)
		}
		return nil
	}
	bitsOK := func() error {
		if p.Bits < 1 || p.Bits > MaxBits {
			return bad("bits %d outside [1, %d]", p.Bits, MaxBits)
		}
		return nil
	}
	chunkOK := func(measLen uint64) error {
		if p.ChunkLen < 1 || uint64(p.ChunkLen) > measLen {
			return bad("chunk length %d outside [1, %d]", p.ChunkLen, measLen)
		}
		return nil
	}
	switch p.VDAF {
	case Count:
		return unused("length", "bits", "chunk length", "max weight")
	case Sum:
		if err := unused("length", "chunk length", "max weight"); err != nil {
			return err
		}
		return bitsOK()
	case SumVec:
		if err := unused("max weight"); err != nil {
			return err
		}
		if err := errors.Join(length(1), bitsOK()); err != nil {
			return err
		}
		return chunkOK(uint64(p.Length) * uint64(p.Bits))
	case Histogram:
		if err := unused("bits", "max weight"); err != nil {
			return err
		}
		if err := length(2); err != nil {
			return err
		}
		return chunkOK(uint64(p.Length))
	case MultihotCountVec:
		if err := unused("bits"); err != nil {
			return err
		}
		if err := length(1); err != nil {
			return err
		}
		if p.MaxWeight < 1 || p.MaxWeight > p.Length {
			return bad("max weight %d outside [1, %d]", p.MaxWeight, p.Length)
		}
		return chunkOK(uint64(p.Length) + uint64(bits.Len32(p.MaxWeight)))
	}
	return fmt.Errorf("%w: unknown VDAF %d", ErrParams, uint32(p.VDAF))
}

// OutputLen is the number of coordinates of the aggregate.
func (p Params) OutputLen() int {
	switch p.VDAF {
	case Count, Sum:
		return 1
	}
	return int(p.Length)
}

// MaxValue is the largest value one device may put in one coordinate: 1
// for the counting variants, 2^Bits − 1 for the sums.
func (p Params) MaxValue() uint64 {
	switch p.VDAF {
	case Sum, SumVec:
		return 1<<p.Bits - 1
	}
	return 1
}

// Sensitivity is the L1 sensitivity of the aggregate to adding or removing
// one device's report, as enforced by the validity proof: 1 for Count and
// Histogram (one coordinate moves by 1), MaxWeight for MultihotCountVec (at
// most MaxWeight coordinates move by 1), 2^Bits − 1 for Sum, and
// Length·(2^Bits − 1) for SumVec. Replacing one report by another moves the
// aggregate by up to twice this (Histogram: exactly 2).
func (p Params) Sensitivity() uint64 {
	switch p.VDAF {
	case Count, Histogram:
		return 1
	case MultihotCountVec:
		return uint64(p.MaxWeight)
	case Sum:
		return p.MaxValue()
	case SumVec:
		return uint64(p.Length) * p.MaxValue()
	}
	return 0
}

// MaxReports is the largest batch whose aggregate, with noise, still
// decodes unambiguously: n·MaxValue must stay below 2⁶¹ (Unshard maps field
// elements within 2⁶² of 0 to signed integers, leaving 2⁶¹ for noise).
func (p Params) MaxReports() uint64 { return (1 << 61) / p.MaxValue() }

var (
	paramsEnc cbor.EncMode
	paramsDec cbor.DecMode
)

func init() {
	var err error
	if paramsEnc, err = cbor.CoreDetEncOptions().EncMode(); err != nil {
		panic(err)
	}
	paramsDec, err = cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxNestedLevels:   4,
		MaxMapPairs:       16,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

// EncodeParams is the canonical encoding of p: deterministic CBOR (RFC 8949
// §4.2.1), a map with integer keys 1–5, zero fields left out.
func EncodeParams(p Params) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return paramsEnc.Marshal(p)
}

// DecodeParams decodes and validates a canonical encoding. Any other
// encoding of the same value (keys out of order, a non-shortest integer, an
// unknown key, a zero field written out) is refused, so one Params has one
// encoding and a signature over a config covers exactly one instance.
func DecodeParams(b []byte) (Params, error) {
	var p Params
	if err := paramsDec.Unmarshal(b, &p); err != nil {
		return Params{}, fmt.Errorf("%w: %v", ErrParams, err)
	}
	if err := p.Validate(); err != nil {
		return Params{}, err
	}
	again, err := paramsEnc.Marshal(p)
	if err != nil || string(again) != string(b) {
		return Params{}, fmt.Errorf("%w: not the canonical encoding", ErrParams)
	}
	return p, nil
}

package prio

import (
	"fmt"

	"github.com/cloudflare/circl/vdaf/prio3/arith"
	"github.com/cloudflare/circl/vdaf/prio3/arith/fp128"
	"github.com/cloudflare/circl/vdaf/prio3/arith/fp64"
)

// signedBound: Unshard reads a field element x as the integer x when
// x < 2⁶², as −(p − x) when p − x < 2⁶², and refuses anything else. Both
// fields have p > 2⁶³, so the two ranges never overlap: a total of
// magnitude below 2⁶² has exactly one reading.
const signedBound = 1 << 62

// fieldVec is a vector over Field64 (Count, Sum) or Field128 (the others),
// the type of out shares and aggregate shares.
type fieldVec interface {
	len() int
	add(o fieldVec)
	addSigned(xs []int64) error
	signed() ([]int64, error)
	encode() []byte
	clone() fieldVec
}

type vec[V arith.Vec[V, E], E arith.Elt, F arith.Fp[E]] struct{ v V }

func (x *vec[V, E, F]) len() int       { return len(x.v) }
func (x *vec[V, E, F]) add(o fieldVec) { x.v.AddAssign(o.(*vec[V, E, F]).v) }

func (x *vec[V, E, F]) clone() fieldVec {
	c := arith.NewVec[V](uint(len(x.v)))
	copy(c, x.v)
	return &vec[V, E, F]{c}
}

// addSigned adds each xs[i] as a field element: x ≥ 0 as x, x < 0 as
// p − |x|.
func (x *vec[V, E, F]) addSigned(xs []int64) error {
	if len(xs) != len(x.v) {
		return fmt.Errorf("prio: %d values for %d coordinates", len(xs), len(x.v))
	}
	for i, s := range xs {
		mag := uint64(s)
		if s < 0 {
			mag = -mag
		}
		if mag >= signedBound {
			return fmt.Errorf("%w: |%d| ≥ 2⁶²", ErrOutOfRange, s)
		}
		var e E
		if err := F(&e).SetUint64(mag); err != nil {
			return err
		}
		if s < 0 {
			F(&x.v[i]).SubAssign(&e)
		} else {
			F(&x.v[i]).AddAssign(&e)
		}
	}
	return nil
}

// signed reads each element as a signed integer (see signedBound).
func (x *vec[V, E, F]) signed() ([]int64, error) {
	out := make([]int64, len(x.v))
	for i := range x.v {
		if u, err := F(&x.v[i]).GetUint64(); err == nil && u < signedBound {
			out[i] = int64(u)
			continue
		}
		var neg E
		F(&neg).Sub(&neg, &x.v[i])
		if u, err := F(&neg).GetUint64(); err == nil && u < signedBound {
			out[i] = -int64(u)
			continue
		}
		return nil, fmt.Errorf("%w: coordinate %d is not within 2⁶² of zero", ErrOutOfRange, i)
	}
	return out, nil
}

func (x *vec[V, E, F]) encode() []byte {
	b, err := x.v.MarshalBinary()
	if err != nil {
		panic(err) // a fixed-length vector always encodes
	}
	return b
}

// field makes vectors of one field.
type field interface {
	zero(n int) fieldVec
	decode(b []byte, n int) (fieldVec, error)
}

type fieldOf[V arith.Vec[V, E], E arith.Elt, F arith.Fp[E]] struct{}

func (fieldOf[V, E, F]) zero(n int) fieldVec { return &vec[V, E, F]{arith.NewVec[V](uint(n))} }

func (fieldOf[V, E, F]) decode(b []byte, n int) (fieldVec, error) {
	v := arith.NewVec[V](uint(n))
	if len(b) != int(v.Size()) {
		return nil, fmt.Errorf("%w: %d bytes for %d field elements", ErrMalformed, len(b), n)
	}
	if err := v.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return &vec[V, E, F]{v}, nil
}

var (
	field64  field = fieldOf[fp64.Vec, fp64.Fp, *fp64.Fp]{}
	field128 field = fieldOf[fp128.Vec, fp128.Fp, *fp128.Fp]{}
)

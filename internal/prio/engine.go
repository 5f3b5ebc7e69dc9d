package prio

import (
	"encoding"
	"fmt"

	"github.com/cloudflare/circl/vdaf/prio3/count"
	"github.com/cloudflare/circl/vdaf/prio3/histogram"
	"github.com/cloudflare/circl/vdaf/prio3/mhcv"
	"github.com/cloudflare/circl/vdaf/prio3/sum"
	"github.com/cloudflare/circl/vdaf/prio3/sumvec"
)

// The share types circl names per variant are aliases of one generic set in
// an internal package; count's aliases name the non-generic ones (nonce,
// verify key, public share, prep message) for all five.
type (
	circlNonce     = count.Nonce
	circlVerifyKey = count.VerifyKey
	circlPublic    = count.PublicShare
	circlPrepMsg   = count.PrepMessage
)

// engine is one circl Prio3 instance behind byte-level messages. An engine
// is not safe for concurrent use (circl keeps one TurboSHAKE state).
type engine interface {
	randSize() int
	shard(m Measurement, nonce *Nonce, rnd []byte) (pub, leader, helper []byte, err error)
	prepInit(vk *VerifyKey, nonce *Nonce, role Role, pub, input []byte) (state any, prepShare []byte, err error)
	prepSharesToPrep(leader, helper []byte) ([]byte, error)
	prepNext(state any, msg []byte) (fieldVec, error)
	encodeState(state any) ([]byte, error)
	decodeState(b []byte) (any, error)
}

// circlEngine adapts one circl variant: M is its measurement type, IS, PS,
// ST and OS its input share, prep share, prep state and out share.
type circlEngine[M, IS, PS, ST, OS any] struct {
	encode func(Measurement) (M, error)

	shardF            func(M, *circlNonce, []byte) (circlPublic, []IS, error)
	prepInitF         func(*circlVerifyKey, *circlNonce, uint8, circlPublic, IS) (*ST, *PS, error)
	prepSharesToPrepF func([]PS) (*circlPrepMsg, error)
	prepNextF         func(*ST, *circlPrepMsg) (*OS, error)

	newInput     func(aggID uint) *IS
	newPrepShare func() *PS
	newPrepMsg   func() *circlPrepMsg
	newState     func() *ST

	rand   int
	pubLen int // 0 without joint randomness, 2·32 with
	outLen int
	field  field
}

func marshal(x any) ([]byte, error) { return x.(encoding.BinaryMarshaler).MarshalBinary() }

func unmarshal(x any, b []byte) error {
	if b == nil {
		b = []byte{} // circl refuses nil even where the encoding is empty
	}
	return x.(encoding.BinaryUnmarshaler).UnmarshalBinary(b)
}

func (e *circlEngine[M, IS, PS, ST, OS]) randSize() int { return e.rand }

func (e *circlEngine[M, IS, PS, ST, OS]) shard(m Measurement, nonce *Nonce, rnd []byte) (pub, leader, helper []byte, err error) {
	meas, err := e.encode(m)
	if err != nil {
		return nil, nil, nil, err
	}
	ps, shares, err := e.shardF(meas, (*circlNonce)(nonce), rnd)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrMeasurement, err)
	}
	if len(shares) != 2 {
		return nil, nil, nil, fmt.Errorf("prio: circl returned %d input shares", len(shares))
	}
	if leader, err = marshal(&shares[0]); err != nil {
		return nil, nil, nil, err
	}
	if helper, err = marshal(&shares[1]); err != nil {
		return nil, nil, nil, err
	}
	return append([]byte{}, ps...), leader, helper, nil
}

func (e *circlEngine[M, IS, PS, ST, OS]) prepInit(vk *VerifyKey, nonce *Nonce, role Role, pub, input []byte) (any, []byte, error) {
	if len(pub) != e.pubLen {
		return nil, nil, fmt.Errorf("%w: public share of %d bytes, want %d", ErrMalformed, len(pub), e.pubLen)
	}
	is := e.newInput(uint(role))
	if err := unmarshal(is, input); err != nil {
		return nil, nil, fmt.Errorf("%w: input share: %v", ErrMalformed, err)
	}
	var ps circlPublic
	if e.pubLen > 0 {
		ps = append(circlPublic{}, pub...)
	}
	st, share, err := e.prepInitF((*circlVerifyKey)(vk), (*circlNonce)(nonce), uint8(role), ps, *is)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrRejected, err)
	}
	b, err := marshal(share)
	if err != nil {
		return nil, nil, err
	}
	return st, b, nil
}

func (e *circlEngine[M, IS, PS, ST, OS]) prepSharesToPrep(leader, helper []byte) ([]byte, error) {
	shares := make([]PS, 2)
	for i, b := range [][]byte{leader, helper} {
		ps := e.newPrepShare()
		if err := unmarshal(ps, b); err != nil {
			return nil, fmt.Errorf("%w: %v prep share: %v", ErrMalformed, Role(i), err)
		}
		shares[i] = *ps
	}
	msg, err := e.prepSharesToPrepF(shares)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRejected, err)
	}
	return marshal(msg)
}

func (e *circlEngine[M, IS, PS, ST, OS]) prepNext(state any, msg []byte) (fieldVec, error) {
	st, ok := state.(*ST)
	if !ok || st == nil {
		return nil, fmt.Errorf("%w: prep state of another instance", ErrMalformed)
	}
	m := e.newPrepMsg()
	if err := unmarshal(m, msg); err != nil {
		return nil, fmt.Errorf("%w: prep message: %v", ErrMalformed, err)
	}
	out, err := e.prepNextF(st, m)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRejected, err)
	}
	b, err := marshal(out)
	if err != nil {
		return nil, err
	}
	return e.field.decode(b, e.outLen)
}

func (e *circlEngine[M, IS, PS, ST, OS]) encodeState(state any) ([]byte, error) {
	st, ok := state.(*ST)
	if !ok || st == nil {
		return nil, fmt.Errorf("%w: prep state of another instance", ErrMalformed)
	}
	return marshal(st)
}

func (e *circlEngine[M, IS, PS, ST, OS]) decodeState(b []byte) (any, error) {
	st := e.newState()
	if err := unmarshal(st, b); err != nil {
		return nil, fmt.Errorf("%w: prep state: %v", ErrMalformed, err)
	}
	return st, nil
}

// newEngine builds the circl instance for p (already validated) with the
// application context ctx.
func newEngine(p Params, ctx []byte) (engine, error) {
	const shares = 2
	wrap := func(err error) error { return fmt.Errorf("%w: %v: %v", ErrParams, p.VDAF, err) }
	switch p.VDAF {
	case Count:
		c, err := count.New(shares, ctx)
		if err != nil {
			return nil, wrap(err)
		}
		params := c.Params()
		return &circlEngine[bool, count.InputShare, count.PrepShare, count.PrepState, count.OutShare]{
			encode:            p.encodeBool,
			shardF:            c.Shard,
			prepInitF:         c.PrepInit,
			prepSharesToPrepF: c.PrepSharesToPrep,
			prepNextF:         c.PrepNext,
			newInput:          func(id uint) *count.InputShare { return new(count.InputShare).New(&params, id) },
			newPrepShare:      func() *count.PrepShare { return new(count.PrepShare).New(&params) },
			newPrepMsg:        func() *circlPrepMsg { return new(circlPrepMsg).New(&params) },
			newState:          func() *count.PrepState { return new(count.PrepState).New(&params) },
			rand:              int(params.RandSize()),
			pubLen:            pubLen(params.JointRandLength()),
			outLen:            int(params.OutputLength()),
			field:             field64,
		}, nil
	case Sum:
		s, err := sum.New(shares, p.MaxValue(), ctx)
		if err != nil {
			return nil, wrap(err)
		}
		params := s.Params()
		return &circlEngine[uint64, sum.InputShare, sum.PrepShare, sum.PrepState, sum.OutShare]{
			encode:            p.encodeScalar,
			shardF:            s.Shard,
			prepInitF:         s.PrepInit,
			prepSharesToPrepF: s.PrepSharesToPrep,
			prepNextF:         s.PrepNext,
			newInput:          func(id uint) *sum.InputShare { return new(sum.InputShare).New(&params, id) },
			newPrepShare:      func() *sum.PrepShare { return new(sum.PrepShare).New(&params) },
			newPrepMsg:        func() *circlPrepMsg { return new(circlPrepMsg).New(&params) },
			newState:          func() *sum.PrepState { return new(sum.PrepState).New(&params) },
			rand:              int(params.RandSize()),
			pubLen:            pubLen(params.JointRandLength()),
			outLen:            int(params.OutputLength()),
			field:             field64,
		}, nil
	case SumVec:
		s, err := sumvec.New(shares, uint(p.Length), uint(p.Bits), uint(p.ChunkLen), ctx)
		if err != nil {
			return nil, wrap(err)
		}
		params := s.Params()
		return &circlEngine[[]uint64, sumvec.InputShare, sumvec.PrepShare, sumvec.PrepState, sumvec.OutShare]{
			encode:            p.encodeVector,
			shardF:            s.Shard,
			prepInitF:         s.PrepInit,
			prepSharesToPrepF: s.PrepSharesToPrep,
			prepNextF:         s.PrepNext,
			newInput:          func(id uint) *sumvec.InputShare { return new(sumvec.InputShare).New(&params, id) },
			newPrepShare:      func() *sumvec.PrepShare { return new(sumvec.PrepShare).New(&params) },
			newPrepMsg:        func() *circlPrepMsg { return new(circlPrepMsg).New(&params) },
			newState:          func() *sumvec.PrepState { return new(sumvec.PrepState).New(&params) },
			rand:              int(params.RandSize()),
			pubLen:            pubLen(params.JointRandLength()),
			outLen:            int(params.OutputLength()),
			field:             field128,
		}, nil
	case Histogram:
		h, err := histogram.New(shares, uint(p.Length), uint(p.ChunkLen), ctx)
		if err != nil {
			return nil, wrap(err)
		}
		params := h.Params()
		return &circlEngine[uint64, histogram.InputShare, histogram.PrepShare, histogram.PrepState, histogram.OutShare]{
			encode:            p.encodeOneHot,
			shardF:            h.Shard,
			prepInitF:         h.PrepInit,
			prepSharesToPrepF: h.PrepSharesToPrep,
			prepNextF:         h.PrepNext,
			newInput:          func(id uint) *histogram.InputShare { return new(histogram.InputShare).New(&params, id) },
			newPrepShare:      func() *histogram.PrepShare { return new(histogram.PrepShare).New(&params) },
			newPrepMsg:        func() *circlPrepMsg { return new(circlPrepMsg).New(&params) },
			newState:          func() *histogram.PrepState { return new(histogram.PrepState).New(&params) },
			rand:              int(params.RandSize()),
			pubLen:            pubLen(params.JointRandLength()),
			outLen:            int(params.OutputLength()),
			field:             field128,
		}, nil
	case MultihotCountVec:
		m, err := mhcv.New(shares, uint(p.Length), uint(p.MaxWeight), uint(p.ChunkLen), ctx)
		if err != nil {
			return nil, wrap(err)
		}
		params := m.Params()
		return &circlEngine[[]bool, mhcv.InputShare, mhcv.PrepShare, mhcv.PrepState, mhcv.OutShare]{
			encode:            p.encodeMultiHot,
			shardF:            m.Shard,
			prepInitF:         m.PrepInit,
			prepSharesToPrepF: m.PrepSharesToPrep,
			prepNextF:         m.PrepNext,
			newInput:          func(id uint) *mhcv.InputShare { return new(mhcv.InputShare).New(&params, id) },
			newPrepShare:      func() *mhcv.PrepShare { return new(mhcv.PrepShare).New(&params) },
			newPrepMsg:        func() *circlPrepMsg { return new(circlPrepMsg).New(&params) },
			newState:          func() *mhcv.PrepState { return new(mhcv.PrepState).New(&params) },
			rand:              int(params.RandSize()),
			pubLen:            pubLen(params.JointRandLength()),
			outLen:            int(params.OutputLength()),
			field:             field128,
		}, nil
	}
	return nil, fmt.Errorf("%w: unknown VDAF %d", ErrParams, uint32(p.VDAF))
}

func pubLen(jointRandLen uint) int {
	if jointRandLen == 0 {
		return 0
	}
	return 2 * 32
}

// field returns the field of p's out shares: Field64 for Count and Sum,
// Field128 for the others (as in draft-irtf-cfrg-vdaf).
func (p Params) field() field {
	switch p.VDAF {
	case Count, Sum:
		return field64
	}
	return field128
}

// Measurement encoders: from Wisp's one representation (the vector the
// device adds to the aggregate) to circl's per-variant type. They refuse
// what the proof would refuse, so an honest device never sends a report
// that is then rejected.

func (p Params) checkLen(m Measurement) error {
	if len(m) != p.OutputLen() {
		return fmt.Errorf("%w: %d coordinates, want %d", ErrMeasurement, len(m), p.OutputLen())
	}
	return nil
}

func (p Params) encodeBool(m Measurement) (bool, error) {
	if err := p.checkLen(m); err != nil {
		return false, err
	}
	if m[0] > 1 {
		return false, fmt.Errorf("%w: a count is 0 or 1, not %d", ErrMeasurement, m[0])
	}
	return m[0] == 1, nil
}

func (p Params) encodeScalar(m Measurement) (uint64, error) {
	if err := p.checkLen(m); err != nil {
		return 0, err
	}
	if m[0] > p.MaxValue() {
		return 0, fmt.Errorf("%w: %d exceeds %d bits", ErrMeasurement, m[0], p.Bits)
	}
	return m[0], nil
}

func (p Params) encodeVector(m Measurement) ([]uint64, error) {
	if err := p.checkLen(m); err != nil {
		return nil, err
	}
	for i, x := range m {
		if x > p.MaxValue() {
			return nil, fmt.Errorf("%w: coordinate %d: %d exceeds %d bits", ErrMeasurement, i, x, p.Bits)
		}
	}
	return append([]uint64{}, m...), nil
}

func (p Params) encodeOneHot(m Measurement) (uint64, error) {
	if err := p.checkLen(m); err != nil {
		return 0, err
	}
	idx, ones := -1, 0
	for i, x := range m {
		switch x {
		case 0:
		case 1:
			idx, ones = i, ones+1
		default:
			return 0, fmt.Errorf("%w: coordinate %d is %d, not 0 or 1", ErrMeasurement, i, x)
		}
	}
	if ones != 1 {
		return 0, fmt.Errorf("%w: a one-hot vector has exactly one 1, not %d", ErrMeasurement, ones)
	}
	return uint64(idx), nil
}

func (p Params) encodeMultiHot(m Measurement) ([]bool, error) {
	if err := p.checkLen(m); err != nil {
		return nil, err
	}
	out := make([]bool, len(m))
	w := 0
	for i, x := range m {
		switch x {
		case 0:
		case 1:
			out[i] = true
			w++
		default:
			return nil, fmt.Errorf("%w: coordinate %d is %d, not 0 or 1", ErrMeasurement, i, x)
		}
	}
	if uint32(w) > p.MaxWeight {
		return nil, fmt.Errorf("%w: %d ones, at most %d", ErrMeasurement, w, p.MaxWeight)
	}
	return out, nil
}

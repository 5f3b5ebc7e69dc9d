package prio

import (
	crand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/wisp-project/wisp/internal/dpnoise"
)

// Sentinel errors, for errors.Is.
var (
	// ErrMeasurement: the device's measurement is not valid for the
	// instance (Shard refuses it; the proof would too).
	ErrMeasurement = errors.New("prio: invalid measurement")
	// ErrMalformed: a share, message or state does not decode.
	ErrMalformed = errors.New("prio: malformed message")
	// ErrRejected: preparation refused the report: the validity proof
	// failed, or the joint randomness does not match the shares (a share
	// was changed after sharding). Drop the report.
	ErrRejected = errors.New("prio: report rejected")
	// ErrOutOfRange: an aggregate coordinate is not within 2⁶² of zero, so
	// it has no signed reading (never for a batch within MaxReports).
	ErrOutOfRange = errors.New("prio: aggregate out of range")
	// ErrNoised: noise was already added to this aggregate share.
	ErrNoised = errors.New("prio: aggregate share already noised")
	// ErrMismatch: shares of different instances, or of different batches.
	ErrMismatch = errors.New("prio: shares do not match")
)

// Role is an aggregator's place in the protocol, its Prio3 aggregator id.
type Role uint8

const (
	Leader Role = 0 // receives the report, holds the full-length input share
	Helper Role = 1 // holds a 32-byte seed that expands to its share
)

func (r Role) String() string {
	switch r {
	case Leader:
		return "leader"
	case Helper:
		return "helper"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// Nonce is a report's public random value (16 bytes); it binds the shares
// and proof to one report. Aggregators must refuse a nonce seen before in
// the same task (replay).
type Nonce [16]byte

// VerifyKey is the 32-byte secret both aggregators share and devices never
// see: it seeds the query randomness of the proof check, so a device cannot
// tailor an invalid proof to pass.
type VerifyKey [32]byte

// NewVerifyKey draws a verify key from crypto/rand.
func NewVerifyKey() VerifyKey {
	var k VerifyKey
	crand.Read(k[:]) // never returns an error (crypto/rand, Go ≥ 1.24)
	return k
}

// AppContext is the application context Wisp binds into every Prio3
// instance of a campaign: a report sharded for one campaign fails
// preparation in any other (its joint randomness and proof are derived
// under another context).
func AppContext(campaign string) []byte { return append([]byte("wisp/prio3/v1/"), campaign...) }

// Measurement is what one device adds to the aggregate, one value per
// coordinate: [b] for Count, [v] for Sum, a one-hot vector for Histogram,
// a 0/1 vector of weight ≤ MaxWeight for MultihotCountVec, a vector of
// values < 2^Bits for SumVec.
type Measurement []uint64

// Bit is a Count measurement.
func Bit(b bool) Measurement {
	if b {
		return Measurement{1}
	}
	return Measurement{0}
}

// Value is a Sum measurement.
func Value(v uint64) Measurement { return Measurement{v} }

// OneHot is a Histogram measurement: category i of d.
func OneHot(d, i int) Measurement {
	m := make(Measurement, d)
	if i >= 0 && i < d {
		m[i] = 1
	}
	return m
}

// MultiHot is a MultihotCountVec measurement: the categories in set, of d.
func MultiHot(d int, set ...int) Measurement {
	m := make(Measurement, d)
	for _, i := range set {
		if i >= 0 && i < d {
			m[i] = 1
		}
	}
	return m
}

// Null is the measurement that adds nothing: all zeros. Every variant
// accepts it except Histogram, whose proof demands exactly one 1.
func (p Params) Null() Measurement { return make(Measurement, p.OutputLen()) }

// Report is what Shard makes of one measurement. Nonce and Public go to
// both aggregators in the clear; Leader and Helper are each sealed (HPKE)
// to their aggregator.
type Report struct {
	Nonce  Nonce  `cbor:"1,keyasint"`
	Public []byte `cbor:"2,keyasint"` // empty for Count and Sum (no joint randomness)
	Leader []byte `cbor:"3,keyasint"`
	Helper []byte `cbor:"4,keyasint"`
}

// Client shards measurements on a device. It is not safe for concurrent
// use; make one per goroutine.
type Client struct {
	p Params
	e engine
}

// NewClient returns a client for the instance p under the application
// context ctx (AppContext).
func NewClient(p Params, ctx []byte) (*Client, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	e, err := newEngine(p, ctx)
	if err != nil {
		return nil, err
	}
	return &Client{p: p, e: e}, nil
}

// Params is the client's instance.
func (c *Client) Params() Params { return c.p }

// Shard splits m into a public share and one input share per aggregator,
// with a proof of validity, drawing the nonce and all randomness from
// crypto/rand.
func (c *Client) Shard(m Measurement) (Report, error) { return c.ShardFrom(m, crand.Reader) }

// ShardFrom is Shard with the nonce and randomness read from r (tests and
// simulations; a device uses Shard).
func (c *Client) ShardFrom(m Measurement, r io.Reader) (Report, error) {
	var rep Report
	if _, err := io.ReadFull(r, rep.Nonce[:]); err != nil {
		return Report{}, err
	}
	rnd := make([]byte, c.e.randSize())
	if _, err := io.ReadFull(r, rnd); err != nil {
		return Report{}, err
	}
	return c.shard(m, rep.Nonce, rnd)
}

func (c *Client) shard(m Measurement, nonce Nonce, rnd []byte) (Report, error) {
	pub, l, h, err := c.e.shard(m, &nonce, rnd)
	if err != nil {
		return Report{}, err
	}
	return Report{Nonce: nonce, Public: pub, Leader: l, Helper: h}, nil
}

// Aggregator runs preparation for one role. It is not safe for concurrent
// use; make one per goroutine (they are cheap) and merge their AggShares.
type Aggregator struct {
	p    Params
	e    engine
	role Role
	vk   VerifyKey
}

// NewAggregator returns the aggregator of the given role for the instance
// p under the application context ctx, with the verify key both
// aggregators share.
func NewAggregator(p Params, ctx []byte, role Role, vk VerifyKey) (*Aggregator, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if role != Leader && role != Helper {
		return nil, fmt.Errorf("%w: %v", ErrParams, role)
	}
	e, err := newEngine(p, ctx)
	if err != nil {
		return nil, err
	}
	return &Aggregator{p: p, e: e, role: role, vk: vk}, nil
}

// Params is the aggregator's instance.
func (a *Aggregator) Params() Params { return a.p }

// Role is the aggregator's role.
func (a *Aggregator) Role() Role { return a.role }

// PrepState is an aggregator's state between PrepInit and PrepNext for one
// report. It can be stored (MarshalBinary, DecodePrepState).
type PrepState struct {
	role Role
	st   any
}

// PrepInit starts preparing one report from the aggregator's input share:
// it checks the share against the public share (joint randomness) and
// returns the state to keep and the prep share to send to the other
// aggregator. ErrMalformed or ErrRejected: drop the report.
func (a *Aggregator) PrepInit(nonce Nonce, public, input []byte) (*PrepState, []byte, error) {
	st, ps, err := a.e.prepInit(&a.vk, &nonce, a.role, public, input)
	if err != nil {
		return nil, nil, err
	}
	return &PrepState{role: a.role, st: st}, ps, nil
}

// PrepSharesToPrep combines the two prep shares (either aggregator may run
// it; in DAP the helper does and returns the result) into the prep
// message, deciding the validity proof. ErrRejected: the proof failed,
// drop the report on both sides.
func (a *Aggregator) PrepSharesToPrep(leader, helper []byte) ([]byte, error) {
	return a.e.prepSharesToPrep(leader, helper)
}

// PrepNext finishes preparing one report with the prep message and returns
// the aggregator's out share.
func (a *Aggregator) PrepNext(st *PrepState, msg []byte) (*OutShare, error) {
	if st == nil || st.role != a.role {
		return nil, fmt.Errorf("%w: prep state of another role", ErrMismatch)
	}
	v, err := a.e.prepNext(st.st, msg)
	if err != nil {
		return nil, err
	}
	return &OutShare{p: a.p, v: v}, nil
}

// MarshalState encodes the state (circl's encoding: the out share and, with
// joint randomness, the corrected seed). It is secret: store it as such.
func (a *Aggregator) MarshalState(st *PrepState) ([]byte, error) {
	if st == nil || st.role != a.role {
		return nil, fmt.Errorf("%w: prep state of another role", ErrMismatch)
	}
	return a.e.encodeState(st.st)
}

// DecodePrepState decodes a state written by MarshalState.
func (a *Aggregator) DecodePrepState(b []byte) (*PrepState, error) {
	st, err := a.e.decodeState(b)
	if err != nil {
		return nil, err
	}
	return &PrepState{role: a.role, st: st}, nil
}

// OutShare is one aggregator's share of one prepared report.
type OutShare struct {
	p Params
	v fieldVec
}

// AggShare is one aggregator's running sum of out shares, in the field. It
// is not safe for concurrent use.
type AggShare struct {
	p      Params
	v      fieldVec
	n      uint64
	noised bool
}

// NewAggShare returns an empty aggregate share for p.
func NewAggShare(p Params) (*AggShare, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &AggShare{p: p, v: p.field().zero(p.OutputLen())}, nil
}

// Add aggregates one out share.
func (s *AggShare) Add(o *OutShare) error {
	if o == nil || o.p != s.p {
		return fmt.Errorf("%w: out share of another instance", ErrMismatch)
	}
	if s.noised {
		return ErrNoised
	}
	s.v.add(o.v)
	s.n++
	return nil
}

// Merge adds another aggregate share of the same role and instance (the
// shares of several goroutines or nodes).
func (s *AggShare) Merge(o *AggShare) error {
	if o == nil || o.p != s.p {
		return fmt.Errorf("%w: aggregate share of another instance", ErrMismatch)
	}
	if s.noised || o.noised {
		return ErrNoised
	}
	s.v.add(o.v)
	s.n += o.n
	return nil
}

// Clone returns an independent copy (to release a noised copy of a share
// that keeps aggregating: each release spends ε again).
func (s *AggShare) Clone() *AggShare {
	c := *s
	c.v = s.v.clone()
	return &c
}

// Reports is the number of out shares aggregated (0 for a decoded share).
func (s *AggShare) Reports() uint64 { return s.n }

// Noised reports whether AddNoise has run on this share.
func (s *AggShare) Noised() bool { return s.noised }

// NoiseVariance is the exact variance of one released coordinate's noise
// at epsilon: both aggregators' discrete Laplace draws of scale Δ/ε
// (AddNoise), 2·Var(Lap_ℤ(LaplaceScale(Δ, ε))). It is what a release's
// interval is computed from.
func (p Params) NoiseVariance(epsilon float64) (float64, error) {
	scale, err := dpnoise.LaplaceScale(p.Sensitivity(), epsilon)
	if err != nil {
		return 0, err
	}
	lap, err := dpnoise.NewLaplace(scale)
	if err != nil {
		return 0, err
	}
	return 2 * lap.Variance(), nil
}

// NoiseHalfWidth is the exact interval of a released coordinate's noise
// at epsilon: the smallest integer h with P(|X + Y| ≤ h) ≥ level, X and
// Y the two aggregators' discrete Laplace draws. A release's level
// interval is its value ± h. The normal approximation 1.96·√NoiseVariance
// undercovers here (the noise is discrete and heavier-tailed than a
// Gaussian): for a count at ε = 1 it is ±3.76, which covers 92.7%
// (P(|noise| ≤ 3)); h = 4 covers about 97%.
func (p Params) NoiseHalfWidth(epsilon, level float64) (int64, error) {
	if !(level > 0 && level < 1) {
		return 0, fmt.Errorf("prio: interval level %v is not in (0, 1)", level)
	}
	scale, err := dpnoise.LaplaceScale(p.Sensitivity(), epsilon)
	if err != nil {
		return 0, err
	}
	// With q = e^(−u), u = 1/τ, each draw has pmf c·q^|x|, c = (1−q)/(1+q),
	// and the sum's upper tail has the closed form
	// P(X + Y ≥ m) = c²·q^m·((m + 1 + a)/(1−q) + q/(1−q)²), a = 2q²/((1−q)(1+q)),
	// for m ≥ 1; by symmetry P(|X + Y| > h) = 2·P(X + Y ≥ h + 1).
	u := 1 / scale.Float64()
	q, oneMinusQ := math.Exp(-u), -math.Expm1(-u)
	c, a := oneMinusQ/(1+q), 2*q*q/(oneMinusQ*(1+q))
	tail := func(m int64) float64 {
		fm := float64(m)
		return c * c * math.Exp(-u*fm) * ((fm+1+a)/oneMinusQ + q/(oneMinusQ*oneMinusQ))
	}
	target := (1 - level) / 2
	lo, hi := int64(-1), int64(1) // tail(lo+1) > target ≥ tail(hi+1)
	for tail(hi+1) > target {
		lo, hi = hi, 2*hi
	}
	for hi-lo > 1 {
		if mid := (lo + hi) / 2; tail(mid+1) > target {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi, nil
}

// AddNoise adds central noise to every coordinate, in the field: an
// independent discrete Laplace of scale Δ/ε (Δ = p.Sensitivity()), a
// negative draw x entering as p − |x|. Each aggregator calls it once on its
// share before sending it, drawing from its own dpnoise.CryptoSource, so
// the released total carries both draws and stays ε-DP if either
// aggregator is honest. The share refuses further Adds and a second noise.
func (s *AggShare) AddNoise(src dpnoise.Source, epsilon float64) error {
	if s.noised {
		return ErrNoised
	}
	scale, err := dpnoise.LaplaceScale(s.p.Sensitivity(), epsilon)
	if err != nil {
		return err
	}
	lap, err := dpnoise.NewLaplace(scale)
	if err != nil {
		return err
	}
	xs := make([]int64, s.v.len())
	for i := range xs {
		xs[i] = lap.Sample(src)
	}
	if err := s.v.addSigned(xs); err != nil {
		return err
	}
	clear(xs)
	s.noised = true
	return nil
}

// MarshalBinary is the VDAF encoding of the aggregate share: OutputLen
// field elements, little-endian (8 bytes each for Count and Sum, 16 for the
// others).
func (s *AggShare) MarshalBinary() ([]byte, error) { return s.v.encode(), nil }

// DecodeAggShare decodes an aggregate share of p (from the other
// aggregator, or from storage); reports is the count it claims (Unshard
// checks that both claims agree). Whether it carries noise is for the
// caller to know: the encoding does not say.
func DecodeAggShare(p Params, reports uint64, b []byte) (*AggShare, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	v, err := p.field().decode(b, p.OutputLen())
	if err != nil {
		return nil, err
	}
	return &AggShare{p: p, v: v, n: reports}, nil
}

// Unshard recombines the leader's and the helper's aggregate shares into
// the signed totals, one per coordinate.
//
// It does not use circl's Unshard: circl decodes each total as an unsigned
// integer below 2⁶⁴, which refuses the Field128 representative p − |x| of
// a negative total and reads a Field64 one as a huge count. With central
// noise a total can be negative (a category no device chose, plus noise
// −2), so Unshard adds the two shares itself and reads an element within
// 2⁶² of zero as signed: x, or −(p − x).
func Unshard(p Params, leader, helper *AggShare) ([]int64, error) {
	if leader == nil || helper == nil || leader.p != p || helper.p != p {
		return nil, fmt.Errorf("%w: aggregate shares of another instance", ErrMismatch)
	}
	if leader.n != helper.n {
		return nil, fmt.Errorf("%w: leader aggregated %d reports, helper %d", ErrMismatch, leader.n, helper.n)
	}
	if leader.n > p.MaxReports() {
		return nil, fmt.Errorf("%w: %d reports exceed %d", ErrOutOfRange, leader.n, p.MaxReports())
	}
	sum := leader.v.clone()
	sum.add(helper.v)
	return sum.signed()
}

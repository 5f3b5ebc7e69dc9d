package campaign

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/wisp-project/wisp/internal/ldp"
	"github.com/wisp-project/wisp/internal/prio"
)

// MeanLevels is how finely a mean question's score was quantized on the
// device by configs signed before answers had two layers (no
// report_epsilon): round(score·MeanLevels)/MeanLevels, memoized per level.
// Every other mean question rounds the score onto the mechanism's
// α-rounding grid (ldp.MeanGrid) with a per-device offset, which is
// unbiased and re-randomizes a drifting score only when it crosses a grid
// point's threshold.
const MeanLevels = 100

// Codec is a validated campaign's mechanism, built once: what a device
// needs to randomize an answer and what the aggregator needs to check and
// decode one. Build it with Campaign.Codec.
//
// A device answers in two steps: Permanent, memoized under MemoKey (after
// Round, for a mean question, with the device's offset stored under
// OffsetKey), and Instant on the memoized answer for every report.
type Codec struct {
	question Question
	mech     ldp.Mechanism
	legacy   bool // signed before two layers: one layer, memo keyed by campaign id
	id       string
	rr       ldp.RR
	long     *ldp.Longitudinal // threshold (two layers)
	set      ldp.SetSampler
	mean     ldp.MeanMechanism
	grid     ldp.Grid
	digest   [32]byte
	prio3    *prio.Params   // a prio3 campaign's instance; nil for LDP
	index    map[uint32]int // top_k: category → item
	// check holds scratch accumulators of the top_k oracle: CheckAnswer
	// validates an answer by adding it to one, which costs what decoding
	// one answer costs, without allocating an accumulator (up to MBs for
	// OLH at large ε) or computing the support per report.
	check *sync.Pool
}

// Codec builds c's mechanism.
func (c *Campaign) Codec() (*Codec, error) {
	if c.IsPrio3() {
		return c.prio3Codec()
	}
	k := &Codec{question: c.Question, mech: c.Mechanism(), legacy: c.ReportEpsilon == 0, id: c.ID}
	var err error
	switch c.Question.Type {
	case QuestionThreshold:
		if k.mech != ldp.MechanismRR {
			return nil, fmt.Errorf("%w: campaign %q: threshold answers use rr, not %v", ErrInvalid, c.ID, k.mech)
		}
		k.rr, err = c.RR()
		if err == nil && c.twoLayer() {
			k.long, err = ldp.NewLongitudinal(ldp.MechanismRR, c.Epsilon, c.ReportEpsilon, 2)
		}
	case QuestionTopK:
		d := len(c.Question.Categories)
		if c.twoLayer() {
			k.set, err = ldp.NewLongitudinalSetSampler(k.mech, c.Epsilon, c.ReportEpsilon, d, c.Question.K)
		} else {
			k.set, err = ldp.NewSetSampler(k.mech, c.Epsilon, d, c.Question.K)
		}
		if err == nil {
			fo := k.set.Oracle()
			k.check = &sync.Pool{New: func() any { return fo.NewAccumulator() }}
		}
		k.index = make(map[uint32]int, len(c.Question.Categories))
		for i, id := range c.Question.Categories {
			k.index[id] = i
		}
	case QuestionMean:
		k.mean, err = ldp.NewMeanMechanism(k.mech, c.Epsilon)
		if !k.legacy {
			k.grid = ldp.MeanGrid(k.mech)
		}
	default:
		err = fmt.Errorf("%w: campaign %q: question type %q", ErrInvalid, c.ID, c.Question.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("campaign %q: %w", c.ID, err)
	}
	if !k.legacy {
		if k.digest, err = c.digest(k.grid); err != nil {
			return nil, fmt.Errorf("campaign %q: %w", c.ID, err)
		}
	}
	return k, nil
}

// Mechanism is the codec's mechanism.
func (k *Codec) Mechanism() ldp.Mechanism { return k.mech }

// RR is a threshold question's one-layer randomizer at Epsilon: the
// permanent layer of a two-layer threshold answer. Oracle is what decodes
// its reports.
func (k *Codec) RR() ldp.RR { return k.rr }

// Oracle is the frequency oracle a threshold or top_k question's reports
// decode with (EstimateCounts): two-layer (ldp.Longitudinal) unless the
// campaign was signed before two layers. Nil for a mean question.
func (k *Codec) Oracle() ldp.FrequencyOracle {
	switch {
	case k.question.Type == QuestionTopK:
		return k.set.Oracle()
	case k.question.Type == QuestionMean:
		return nil
	case k.long != nil:
		return k.long
	}
	return k.rr
}

// Sampler is a top_k question's padding-and-sampling randomizer; item i
// of its domain is Question.Categories[i].
func (k *Codec) Sampler() ldp.SetSampler { return k.set }

// Mean is a mean question's mechanism; it randomizes the score mapped
// from [0, 1] to [−1, 1] (MeanBounds).
func (k *Codec) Mean() ldp.MeanMechanism { return k.mean }

// MeanGrid is the α-rounding grid a mean question's scores are rounded to
// before they are randomized (no steps for a campaign signed before two
// layers, whose scores are rounded to 1/MeanLevels).
func (k *Codec) MeanGrid() ldp.Grid { return k.grid }

// Legacy reports whether the campaign was signed before answers had two
// layers: its answers have one layer at Epsilon and are memoized under
// the campaign id.
func (k *Codec) Legacy() bool { return k.legacy }

// MeanBounds returns the bounds a mean question's score lives in.
func MeanBounds() ldp.Bounds { return ldp.Bounds{Lo: 0, Hi: 1} }

// Truth is a device's true answer to a question. It never leaves the
// device; Key is its canonical memo value (ldp.MemoKey.Value).
type Truth struct {
	Bit   bool    // threshold
	Set   []int   // top_k: items (indices into Question.Categories), highest score first
	Score float64 // mean: the score in [0, 1] (quantized to 1/MeanLevels for a legacy campaign; a grid point once Round)
	Key   string  // empty for a mean question's score before Round
	// Point is a rounded mean score's grid point (Round); −1 before.
	Point int
}

// Truth evaluates the question on a device's local scores. A top_k
// answer is the device's K highest-scoring categories among the question's
// with a positive score (ties go to the earlier category in the list); a
// device that scores fewer has a shorter set, which padding fills. A mean
// question's score must still be rounded (Round) before it is memoized.
func (k *Codec) Truth(scores map[uint32]float32) Truth {
	q := k.question
	switch q.Type {
	case QuestionTopK:
		var set []int
		for i, id := range q.Categories {
			if scores[id] > 0 {
				set = append(set, i)
			}
		}
		slices.SortStableFunc(set, func(a, b int) int { return cmp.Compare(scores[q.Categories[b]], scores[q.Categories[a]]) })
		set = set[:min(len(set), q.K)]
		return Truth{Set: set, Key: k.mech.String() + ":" + ldp.SetKey(set), Point: -1}
	case QuestionMean:
		score := math.Min(math.Max(float64(scores[q.Category]), 0), 1)
		if !k.legacy {
			return Truth{Score: score, Point: -1}
		}
		level := int(math.Round(score * MeanLevels))
		return Truth{Score: float64(level) / MeanLevels, Key: k.mech.String() + ":" + ldp.ValueKey(level), Point: -1}
	}
	bit := float64(scores[q.Category]) >= q.MinScore
	// The key of a threshold answer is the bit alone, as before campaigns
	// had other question types, so memos stored then stay valid.
	return Truth{Bit: bit, Key: ldp.ValueKey(b2i(bit)), Point: -1}
}

// NeedsOffset reports whether Truth must be rounded with the device's
// α-rounding offset (Round) before it is memoized: a mean question of a
// two-layer-era campaign.
func (k *Codec) NeedsOffset() bool { return k.grid.Steps > 0 }

// Round rounds a mean truth's score onto the grid with the device's
// offset alpha ∈ [0, 1) (ldp.Grid.Round; the offset is drawn once per
// device and question and kept, under OffsetKey) and sets its Key to the
// point. Other truths are returned unchanged.
func (k *Codec) Round(t Truth, alpha float64) (Truth, error) {
	if !k.NeedsOffset() {
		return t, nil
	}
	x, err := MeanBounds().Normalize(t.Score)
	if err != nil {
		return t, err
	}
	i, z, err := k.grid.Round(x, alpha)
	if err != nil {
		return t, err
	}
	t.Score, t.Point = (z+1)/2, i
	t.Key = fmt.Sprintf("%v:a%d:%d", k.mech, k.grid.Steps, i)
	return t, nil
}

// MemoKey is where the device memoizes the permanent answer to t: under
// the question's digest (MemoDigest), so the same question asked by any
// campaign gets the same answer and no fresh permanent noise; for a
// campaign signed before two layers, under its id, as before.
func (k *Codec) MemoKey(t Truth) (ldp.MemoKey, error) {
	if k.prio3 != nil {
		return ldp.MemoKey{}, errPrio3
	}
	if t.Key == "" {
		return ldp.MemoKey{}, fmt.Errorf("campaign %q: a mean score must be rounded (Codec.Round) before it is memoized", k.id)
	}
	if k.legacy {
		return ldp.MemoKey{Campaign: k.id, Value: t.Key}, nil
	}
	return ldp.MemoKey{Campaign: memoScope + hex.EncodeToString(k.digest[:]), Value: t.Key}, nil
}

// OffsetKey is where the device keeps its α-rounding offset for the
// question (8 bytes, drawn once, first writer wins).
func (k *Codec) OffsetKey() ldp.MemoKey {
	return ldp.MemoKey{Campaign: offsetScope + hex.EncodeToString(k.digest[:])}
}

// Memo scopes: a campaign id never contains ':', so neither collides with
// a legacy memo keyed by campaign id.
const (
	memoScope   = "q:"
	offsetScope = "alpha:"
)

// Offset decodes an offset stored under OffsetKey.
func Offset(b []byte) (float64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("campaign: rounding offset of %d bytes", len(b))
	}
	return float64(binary.LittleEndian.Uint64(b)>>11) / (1 << 53), nil
}

// NewOffset draws an offset to store under OffsetKey.
func NewOffset(rng *rand.Rand) []byte {
	return binary.LittleEndian.AppendUint64(nil, rng.Uint64())
}

// Permanent draws the permanent answer to t, what the device memoizes
// under MemoKey(t): the first layer at Epsilon (ε∞). For a legacy
// campaign it is the one-layer answer that is sent as is.
func (k *Codec) Permanent(t Truth, rng *rand.Rand) ([]byte, error) {
	if k.prio3 != nil {
		return nil, errPrio3
	}
	switch k.question.Type {
	case QuestionTopK:
		if long, ok := k.set.Oracle().(*ldp.Longitudinal); ok {
			item, err := k.set.Sample(t.Set, rng)
			if err != nil {
				return nil, err
			}
			return long.Permanent(nil, item, rng)
		}
		return k.set.AppendRandomized(nil, t.Set, rng)
	case QuestionMean:
		x, err := MeanBounds().Normalize(t.Score)
		if err != nil {
			return nil, err
		}
		return k.mean.AppendRandomized(nil, x, rng)
	}
	return []byte{byte(b2i(k.rr.Randomize(t.Bit, rng)))}, nil
}

// Instant draws one report from a memoized permanent answer: fresh noise
// at ReportEpsilon (ε1) for threshold and top_k questions, so that re-sent
// answers are not byte-identical; the answer itself for a mean question
// and for a legacy campaign.
func (k *Codec) Instant(perm []byte, rng *rand.Rand) ([]byte, error) {
	if k.prio3 != nil {
		return nil, errPrio3
	}
	var long *ldp.Longitudinal
	switch k.question.Type {
	case QuestionTopK:
		long, _ = k.set.Oracle().(*ldp.Longitudinal)
	case QuestionThreshold:
		long = k.long
	}
	if long == nil {
		return bytes.Clone(perm), nil
	}
	return long.Instant(nil, perm, rng)
}

// Randomize draws one report for t with rng (ldp.NewCryptoRand on
// devices) without a memo: Instant of a fresh Permanent. A mean score is
// randomized as it is (unrounded, unless Round was applied), which is
// unbiased as well.
func (k *Codec) Randomize(t Truth, rng *rand.Rand) ([]byte, error) {
	perm, err := k.Permanent(t, rng)
	if err != nil {
		return nil, err
	}
	return k.Instant(perm, rng)
}

// CheckAnswer reports whether a decrypted payload's mechanism and answer
// are well-formed for the campaign; the aggregator rejects any other.
func (k *Codec) CheckAnswer(mech ldp.Mechanism, answer []byte) error {
	if k.prio3 != nil {
		return errPrio3
	}
	if mech != k.mech {
		return fmt.Errorf("mechanism %d answer of %d bytes for a %v campaign", mech, len(answer), k.mech)
	}
	switch k.question.Type {
	case QuestionTopK:
		acc := k.check.Get().(ldp.Accumulator)
		defer k.check.Put(acc)
		return acc.Add(answer) // checks length and range; the counts are scratch
	case QuestionMean:
		_, err := k.mean.Decode(answer)
		return err
	}
	if len(answer) != 1 || answer[0] > 1 {
		return fmt.Errorf("rr answer of %d bytes", len(answer))
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

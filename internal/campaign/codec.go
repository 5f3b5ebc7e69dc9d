package campaign

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/wisp-project/wisp/internal/ldp"
)

// MeanLevels is how finely a mean question's score is quantized on the
// device before it is randomized: round(score·MeanLevels)/MeanLevels. The
// memo is keyed by the quantized value, so a device's longitudinal loss is
// at most ε per distinct level it ever reports (RAPPOR's bound); rounding
// to the nearest level moves a score by at most 1/(2·MeanLevels).
const MeanLevels = 100

// Codec is a validated campaign's mechanism, built once: what a device
// needs to randomize an answer and what the aggregator needs to check and
// decode one. Build it with Campaign.Codec.
type Codec struct {
	question Question
	mech     ldp.Mechanism
	rr       ldp.RR
	set      ldp.SetSampler
	mean     ldp.MeanMechanism
	index    map[uint32]int // top_k: category → item
	// check holds scratch accumulators of the top_k oracle: CheckAnswer
	// validates an answer by adding it to one, which costs what decoding
	// one answer costs, without allocating an accumulator (up to MBs for
	// OLH at large ε) or computing the support per report.
	check *sync.Pool
}

// Codec builds c's mechanism.
func (c *Campaign) Codec() (*Codec, error) {
	k := &Codec{question: c.Question, mech: c.Mechanism()}
	var err error
	switch c.Question.Type {
	case QuestionThreshold:
		if k.mech != ldp.MechanismRR {
			return nil, fmt.Errorf("%w: campaign %q: threshold answers use rr, not %v", ErrInvalid, c.ID, k.mech)
		}
		k.rr, err = c.RR()
	case QuestionTopK:
		k.set, err = ldp.NewSetSampler(k.mech, c.Epsilon, len(c.Question.Categories), c.Question.K)
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
	default:
		err = fmt.Errorf("%w: campaign %q: question type %q", ErrInvalid, c.ID, c.Question.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("campaign %q: %w", c.ID, err)
	}
	return k, nil
}

// Mechanism is the codec's mechanism.
func (k *Codec) Mechanism() ldp.Mechanism { return k.mech }

// RR is a threshold question's randomizer.
func (k *Codec) RR() ldp.RR { return k.rr }

// Sampler is a top_k question's padding-and-sampling randomizer; item i
// of its domain is Question.Categories[i].
func (k *Codec) Sampler() ldp.SetSampler { return k.set }

// Mean is a mean question's mechanism; it randomizes the score mapped
// from [0, 1] to [−1, 1] (MeanBounds).
func (k *Codec) Mean() ldp.MeanMechanism { return k.mean }

// MeanBounds returns the bounds a mean question's score lives in.
func MeanBounds() ldp.Bounds { return ldp.Bounds{Lo: 0, Hi: 1} }

// Truth is a device's true answer to a question. It never leaves the
// device; Key is its canonical memo value (ldp.MemoKey.Value).
type Truth struct {
	Bit   bool    // threshold
	Set   []int   // top_k: items (indices into Question.Categories), highest score first
	Score float64 // mean: the quantized score
	Key   string
}

// Truth evaluates the question on a device's local scores. A top_k
// answer is the device's K highest-scoring categories among the question's
// with a positive score (ties go to the earlier category in the list); a
// device that scores fewer has a shorter set, which padding fills.
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
		return Truth{Set: set, Key: k.mech.String() + ":" + ldp.SetKey(set)}
	case QuestionMean:
		level := int(math.Round(math.Min(math.Max(float64(scores[q.Category]), 0), 1) * MeanLevels))
		return Truth{Score: float64(level) / MeanLevels, Key: k.mech.String() + ":" + ldp.ValueKey(level)}
	}
	bit := float64(scores[q.Category]) >= q.MinScore
	// The key of a threshold answer is the bit alone, as before campaigns
	// had other question types, so memos stored then stay valid.
	return Truth{Bit: bit, Key: ldp.ValueKey(b2i(bit))}
}

// Randomize draws the ε-LDP answer to t with rng (ldp.NewCryptoRand on
// devices).
func (k *Codec) Randomize(t Truth, rng *rand.Rand) ([]byte, error) {
	switch k.question.Type {
	case QuestionTopK:
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

// CheckAnswer reports whether a decrypted payload's mechanism and answer
// are well-formed for the campaign; the aggregator rejects any other.
func (k *Codec) CheckAnswer(mech ldp.Mechanism, answer []byte) error {
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

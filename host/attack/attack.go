// Package attack replays the attacks of an operator who defines every
// campaign against one device over its life (issue 14) on a population of
// simulated devices, and measures what the attacker gets against the
// bound the device's long-term ε allows.
//
// Each simulated device answers through the device's own answer path
// (host/internal/answer: the campaign's codec, the memo keyed by the
// question's digest, the permanent and instantaneous layers, α-rounding),
// with its own seeded randomness. What the device's budget lets through is
// decided by the real ledger (host/internal/ledger, on a file in a
// temporary directory) for a reference device that is charged exactly as
// a device charges (answer.Charge); every simulated device sends in the
// slots the reference device was allowed. That is exact when the ledger's
// decisions do not depend on the device's data — true of every attack
// here, which Run checks (the daily mean's reference is the device that
// drew the most memos). host's attacks_test.go runs the same attacks
// through a real Device, scheduler, outbox and aggregator and checks that
// they send what the reference ledger allows.
package attack

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/wisp-project/wisp/host/internal/answer"
	"github.com/wisp-project/wisp/host/internal/ledger"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/ldp"
	"github.com/wisp-project/wisp/internal/taxonomy"
)

// Result is one attack's outcome over the simulated population.
type Result struct {
	Attack string `json:"attack"`
	// AttackerSuccess is the fraction of devices whose secret the attacker
	// got right (for "resend-fingerprint": the fraction of re-sent answers
	// identical to an earlier one of the same device).
	AttackerSuccess float64 `json:"attacker_success"`
	// Bound is the largest success the long-term ε (Epsilon) allows any
	// attacker, whatever it computes (see Bounds).
	Bound float64 `json:"bound"`
	// Epsilon is the long-term ε the ledger charged one device on the
	// attacked category: what the bound is computed from.
	Epsilon float64 `json:"epsilon"`
	Devices int     `json:"devices"`
	// Answers and Refused are what one device's ledger let through and
	// refused over the attack.
	Answers int `json:"answers"`
	Refused int `json:"refused"`
	// FreshMedian and FreshMax are the permanent randomizations (memos)
	// drawn per device.
	FreshMedian float64 `json:"fresh_median"`
	FreshMax    int     `json:"fresh_max"`
	// MedianError is, for the score attacks, the median over devices of
	// |estimate − score|.
	MedianError float64 `json:"median_error,omitempty"`
	// Detail says what the secret and the attack were.
	Detail string `json:"detail"`
}

// Config is the population and the device's budget policy.
type Config struct {
	Devices int
	Seed    uint64
	// DailyCap, CategoryCap, DeviceCap and Window are the device maker's
	// budgets (host's defaults in DefaultConfig).
	DailyCap, CategoryCap, DeviceCap float64
	Window                           time.Duration
}

// DefaultConfig is host's default budgets (ε 4 a day; ε 8 per category and
// 64 per device over 365 days) over 2,000 devices.
func DefaultConfig() Config {
	return Config{Devices: 2000, Seed: 1, DailyCap: 4, CategoryCap: ledger.DefaultCategoryCap,
		DeviceCap: ledger.DefaultDeviceCap, Window: ledger.DefaultLongWindow}
}

// Running is the category every attack is about (IAB 1.1 "Running and
// Jogging").
const Running = 410

// Identification bins: the score attacks count a guess right when it
// falls in the true score's tenth of [0, 1].
const scoreBins = 10

// BinaryBound is the best success any attacker can have at guessing a
// uniformly drawn binary secret from an ε-DP view: e^ε/(1+e^ε).
func BinaryBound(eps float64) float64 { return IdentifyBound(eps, 2) }

// IdentifyBound is the best success any attacker can have at naming which
// of m equally likely hypotheses holds from an ε-DP view: e^ε/(e^ε+m−1).
// (For each view y, max_j P(y|j) ≤ e^ε·P(y|i) for every i, so
// max_j P(y|j) ≤ e^ε/(e^ε+m−1)·Σ_i P(y|i); integrate over y, divide by m.)
// A score drawn uniformly from [0, 1] and guessed to its tenth is m = 10
// hypotheses, each a mixture over its tenth, for which the same ratio
// bound holds.
func IdentifyBound(eps float64, m int) float64 {
	e := math.Exp(eps)
	return e / (e + float64(m) - 1)
}

// Run runs every attack: SameQuestion, Thresholds, DailyMean and Resend.
func Run(ctx context.Context, cfg Config) ([]Result, error) {
	var out []Result
	for _, f := range []func(context.Context, Config) (Result, error){SameQuestion, Thresholds, DailyMean, Resend} {
		r, err := f(ctx, cfg)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// SameQuestionCampaigns are the campaigns of SameQuestion: one threshold
// question on Running (min_score 0.5, ε∞ 1, ε1 0.5) under 100 ids, each
// with one epoch of 1,000 days, so each id asks once.
func SameQuestionCampaigns() []campaign.Campaign {
	out := make([]campaign.Campaign, 100)
	for i := range out {
		out[i] = campaign.Campaign{ID: fmt.Sprintf("same-%03d", i), Name: "Runners?", Epsilon: 1, K: 1,
			Question:     campaign.Question{Type: campaign.QuestionThreshold, Category: Running, MinScore: 0.5},
			EpochSeconds: 1000 * 86400}
	}
	return out
}

// ThresholdCampaigns are the campaigns of Thresholds: min_score j/100 on
// Running for j = 1…100 at ε∞ 1, one epoch of 1,000 days each.
func ThresholdCampaigns() []campaign.Campaign {
	out := make([]campaign.Campaign, 100)
	for i := range out {
		out[i] = campaign.Campaign{ID: fmt.Sprintf("min-%03d", i+1), Name: "Runners?", Epsilon: 1, K: 1,
			Question:     campaign.Question{Type: campaign.QuestionThreshold, Category: Running, MinScore: float64(i+1) / 100},
			EpochSeconds: 1000 * 86400}
	}
	return out
}

// DailyMeanCampaign is the campaign of DailyMean: the mean Running score,
// ε 1, a daily epoch.
func DailyMeanCampaign() campaign.Campaign {
	return campaign.Campaign{ID: "daily-mean", Name: "Mean running score", Epsilon: 1, K: 1,
		Question: campaign.Question{Type: campaign.QuestionMean, Category: Running}, EpochSeconds: 86400}
}

// ResendCampaign is the campaign of Resend: the top interest among every
// Interest category (497; OUE), ε∞ 1, a daily epoch.
func ResendCampaign() campaign.Campaign {
	return campaign.Campaign{ID: "top-interest", Name: "Top interest", Epsilon: 1, K: 1,
		Question: campaign.Question{Type: campaign.QuestionTopK, K: 1}, EpochSeconds: 86400}
}

// The attacks' schedules, one pass a day: the 100 ids of SameQuestion
// over 30 days (the 24-hour cap pays for 4 a day), the 100 thresholds over
// 10 (the category's cap binds on day 2), the daily mean over 60 epochs
// while the score decays as s0·2^(−t/7 days), the re-sent top interest
// over 30.
const (
	SameQuestionDays = 30
	ThresholdDays    = 10
	MeanEpochs       = 60
	DecayHalfLife    = 7.0 // days
	ResendEpochs     = 30
)

// DecayedScore is a DailyMean device's score on day t.
func DecayedScore(s0 float64, day int) float64 { return s0 * math.Exp2(-float64(day)/DecayHalfLife) }

// SameQuestion: the same threshold question under 100 campaign ids; the
// attacker takes the majority of each device's reports. Every report is
// drawn from one memo, so the ledger charges the category once (ε∞ 1) and
// the majority recovers at best the memo's bit.
func SameQuestion(ctx context.Context, cfg Config) (Result, error) {
	camps, codecs, err := validated(SameQuestionCampaigns())
	if err != nil {
		return Result{}, err
	}
	res := Result{Attack: "same-question-100-ids", Devices: cfg.Devices,
		Detail: "secret: is the Running score ≥ 0.5 (half the devices); attack: majority of the device's reports"}
	rf, err := reference(ctx, cfg, camps, codecs, SameQuestionDays, func(int) map[uint32]float32 { return map[uint32]float32{Running: 0.8} })
	if err != nil {
		return res, err
	}
	right := 0
	var fresh []int
	for dev := range cfg.Devices {
		rng := ldp.NewSeededRand(cfg.Seed*1_000_003 + uint64(dev))
		bit := dev%2 == 0
		score := float32(0.2)
		if bit {
			score = 0.8
		}
		d := newDevice(rng)
		ones, n := 0, 0
		for _, s := range rf.slots {
			a, err := d.answer(ctx, codecs[s.campaign], map[uint32]float32{Running: score})
			if err != nil {
				return res, err
			}
			ones += int(a[0])
			n++
		}
		guess := 2*ones > n || (2*ones == n && rng.IntN(2) == 0)
		if guess == bit {
			right++
		}
		fresh = append(fresh, d.fresh)
	}
	res.finish(right, fresh, rf, 2)
	return res, nil
}

// Thresholds: min_score j/100 on one category for j = 1…100; the attacker
// estimates each device's score (uniform on [0, 1]) by maximum likelihood
// from the answers it gets and must name its tenth. Every threshold is a
// question of its own, so the category's cap stops the device at
// CategoryCap/ε∞ answers.
func Thresholds(ctx context.Context, cfg Config) (Result, error) {
	camps, codecs, err := validated(ThresholdCampaigns())
	if err != nil {
		return Result{}, err
	}
	res := Result{Attack: "thresholds-100", Devices: cfg.Devices,
		Detail: "secret: the Running score, uniform on [0, 1], to its tenth; attack: maximum likelihood over the answered thresholds"}
	rf, err := reference(ctx, cfg, camps, codecs, ThresholdDays, func(int) map[uint32]float32 { return map[uint32]float32{Running: 0.5} })
	if err != nil {
		return res, err
	}
	p1 := math.Exp(camps[0].ReportEpsilon) / (1 + math.Exp(camps[0].ReportEpsilon)) // one report: RR at ε1
	agree, disagree := math.Log(p1), math.Log(1-p1)
	right := 0
	var fresh []int
	var errs []float64
	for dev := range cfg.Devices {
		rng := ldp.NewSeededRand(cfg.Seed*2_000_003 + uint64(dev))
		score := rng.Float64()
		// The device's order is its own permutation (host's fairOrder);
		// the ledger allows the same slots whatever the campaigns in them.
		order := rng.Perm(len(camps))
		d := newDevice(rng)
		type obs struct {
			min float64
			yes bool
		}
		var seen []obs
		for _, s := range rf.slots {
			a, err := d.answer(ctx, codecs[order[s.campaign]], map[uint32]float32{Running: float32(score)})
			if err != nil {
				return res, err
			}
			seen = append(seen, obs{camps[order[s.campaign]].Question.MinScore, a[0] == 1})
		}
		best, bestLL := 0.0, math.Inf(-1)
		for g := range 1000 {
			s := (float64(g) + 0.5) / 1000
			ll := 0.0
			for _, o := range seen {
				if (float64(float32(s)) >= o.min) == o.yes {
					ll += agree
				} else {
					ll += disagree
				}
			}
			if ll > bestLL {
				best, bestLL = s, ll
			}
		}
		if bin(best) == bin(score) {
			right++
		}
		errs = append(errs, math.Abs(best-score))
		fresh = append(fresh, d.fresh)
	}
	res.finish(right, fresh, rf, scoreBins)
	res.MedianError = median(errs)
	return res, nil
}

// DailyMean: a daily mean question over 60 epochs while the score decays
// (DecayedScore from s0 uniform on [0, 1]); the attacker averages each
// device's linked reports, undoes the known decay and must name s0's
// tenth. α-rounding keeps the memo while the score drifts, so a device
// draws few memos, and the ledger charges each once.
func DailyMean(ctx context.Context, cfg Config) (Result, error) {
	camps, codecs, err := validated([]campaign.Campaign{DailyMeanCampaign()})
	if err != nil {
		return Result{}, err
	}
	codec := codecs[0]
	res := Result{Attack: "daily-mean-60-epochs", Devices: cfg.Devices,
		Detail: fmt.Sprintf("secret: the starting Running score s0, uniform on [0, 1], to its tenth, decaying with a %g-day half-life; attack: average of the device's %d linked reports, decay undone", DecayHalfLife, MeanEpochs)}
	var decay float64
	for t := range MeanEpochs {
		decay += DecayedScore(1, t) / MeanEpochs
	}
	right, worst, worstFresh := 0, 0, -1
	var fresh []int
	var errs []float64
	var worstMemos *memoStore // the memos (and rounding offset) of the device that drew most
	s0s := make([]float64, cfg.Devices)
	for dev := range cfg.Devices {
		rng := ldp.NewSeededRand(cfg.Seed*3_000_003 + uint64(dev))
		s0s[dev] = rng.Float64()
		d := newDevice(rng)
		sum := 0.0
		for t := range MeanEpochs {
			a, err := d.answer(ctx, codec, map[uint32]float32{Running: float32(DecayedScore(s0s[dev], t))})
			if err != nil {
				return res, err
			}
			x, err := codec.Mean().Decode(a)
			if err != nil {
				return res, err
			}
			sum += x
		}
		est := math.Min(math.Max(((sum/MeanEpochs+1)/2)/decay, 0), 1) // s0 is in [0, 1]
		if bin(est) == bin(s0s[dev]) {
			right++
		}
		errs = append(errs, math.Abs(est-s0s[dev]))
		fresh = append(fresh, d.fresh)
		if d.fresh > worstFresh {
			worst, worstFresh, worstMemos = dev, d.fresh, d.memos
		}
	}
	// The ledger's decisions depend on the device only through how many
	// memos it drew: the device that drew most is the reference.
	rf, err := reference(ctx, cfg, camps, codecs, MeanEpochs, func(t int) map[uint32]float32 {
		return map[uint32]float32{Running: float32(DecayedScore(s0s[worst], t))}
	}, worstMemos)
	if err != nil {
		return res, err
	}
	if len(rf.slots) != MeanEpochs {
		return res, fmt.Errorf("attack: the reference device's ledger allowed %d of %d daily means: the simulation assumes all", len(rf.slots), MeanEpochs)
	}
	res.finish(right, fresh, rf, scoreBins)
	res.MedianError = median(errs)
	return res, nil
}

// Resend: one top_k answer over every Interest category (OUE, ~500 bits)
// re-sent every day for 30 days; the attacker links a device's reports by
// comparing them byte for byte. Success is the fraction of re-sends equal
// to an earlier report of the same device; the bound is what the
// instantaneous layer allows: a union bound over the earlier reports of
// the chance that two reports of one permanent answer are equal, (f² +
// (1−f)²)^d for OUE's per-bit flip f.
func Resend(ctx context.Context, cfg Config) (Result, error) {
	camps, codecs, err := validated([]campaign.Campaign{ResendCampaign()})
	if err != nil {
		return Result{}, err
	}
	c, codec := &camps[0], codecs[0]
	if c.Mechanism() != ldp.MechanismOUE {
		return Result{}, fmt.Errorf("attack: the top interest question uses %v, the bound is OUE's", c.Mechanism())
	}
	res := Result{Attack: "resend-fingerprint", Devices: cfg.Devices,
		Detail: fmt.Sprintf("a top-1 answer over %d categories (OUE) re-sent for %d days; attack: a re-send equal byte for byte to an earlier report of the device", len(c.Question.Categories), ResendEpochs)}
	top := map[uint32]float32{Running: 0.9}
	rf, err := reference(ctx, cfg, camps, codecs, ResendEpochs, func(int) map[uint32]float32 { return top })
	if err != nil {
		return res, err
	}
	d := codec.Oracle().Params().D
	qInf, q1 := 1/(math.Exp(c.Epsilon)+1), 1/(math.Exp(c.ReportEpsilon)+1)
	f := (q1 - qInf) / (1 - 2*qInf)
	pair := math.Pow(f*f+(1-f)*(1-f), float64(d))
	same, resends := 0, 0
	var fresh []int
	for dev := range cfg.Devices {
		d := newDevice(ldp.NewSeededRand(cfg.Seed*4_000_003 + uint64(dev)))
		seen := map[string]bool{}
		for range rf.slots {
			a, err := d.answer(ctx, codec, top)
			if err != nil {
				return res, err
			}
			if len(seen) > 0 {
				resends++
				if seen[string(a)] {
					same++
				}
			}
			seen[string(a)] = true
		}
		fresh = append(fresh, d.fresh)
	}
	res.finish(0, fresh, rf, 0)
	res.AttackerSuccess = float64(same) / float64(resends)
	res.Bound = pair * float64(len(rf.slots)) / 2 // mean over re-sends t of (t−1)·pair
	return res, nil
}

// ref is what the reference device's ledger did.
type ref struct {
	slots []slot
	// refused counts the campaigns never answered (of those with one
	// epoch over the attack) and the days a daily campaign was refused.
	refused int
	lt      ledger.LongTermSpend
}

// slot is one answer the reference device's ledger allowed: the campaign
// at position campaign of the device's order, on a day.
type slot struct{ campaign, day int }

// reference runs one device's charges through the real ledger: each day
// for days, every campaign (in the given order) not answered yet — or
// every campaign, for campaigns whose epoch is a day — is charged as
// answer.Charge does, with the memo key the device's answer path gives
// for scores(day). It returns the allowed slots and the long-term spend
// at the end. memos, if given, are a simulated device's (a copy is used),
// so the reference draws its memo keys with that device's rounding offset.
func reference(ctx context.Context, cfg Config, camps []campaign.Campaign, codecs []*campaign.Codec, days int, scores func(day int) map[uint32]float32, memos ...*memoStore) (ref, error) {
	dir, err := os.MkdirTemp("", "wisp-attack-")
	if err != nil {
		return ref{}, err
	}
	defer os.RemoveAll(dir)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	l, err := ledger.Open(ctx, filepath.Join(dir, "ledger.db"), ledger.NewConfig(cfg.DailyCap).
		WithLongTerm(cfg.CategoryCap, cfg.DeviceCap, cfg.Window).WithClock(func() time.Time { return now }))
	if err != nil {
		return ref{}, err
	}
	defer l.Close()
	store := newMemoStore()
	if len(memos) > 0 {
		store = memos[0].clone()
	}
	done := make([]bool, len(camps))
	var r ref
	for day := range days {
		now = start.Add(time.Duration(day) * 24 * time.Hour)
		for i := range camps {
			c := &camps[i]
			daily := c.EpochSeconds <= 86400
			if done[i] && !daily {
				continue
			}
			_, key, err := answer.Key(ctx, store, codecs[i], scores(day), ldp.NewSeededRand(cfg.Seed), false)
			if err != nil {
				return ref{}, err
			}
			_, err = l.Spend(ctx, answer.Charge(c, c.Epoch(now), key))
			if errors.Is(err, ledger.ErrOverBudget) {
				if daily {
					r.refused++
				}
				continue
			}
			if err != nil {
				return ref{}, err
			}
			done[i] = true
			r.slots = append(r.slots, slot{campaign: i, day: day})
		}
	}
	for i, ok := range done {
		if !ok && camps[i].EpochSeconds > 86400 {
			r.refused++
		}
	}
	r.lt, err = l.LongTerm(ctx)
	return r, err
}

// finish fills in the figures: success out of Devices, the bound for m
// hypotheses at the long-term ε the reference was charged on Running
// (none for m = 0), what the ledger allowed and refused.
func (r *Result) finish(right int, fresh []int, ref ref, m int) {
	r.AttackerSuccess = float64(right) / float64(r.Devices)
	r.Epsilon = ref.lt.Category(Running)
	if m > 0 {
		r.Bound = IdentifyBound(r.Epsilon, m)
	}
	r.Answers, r.Refused = len(ref.slots), ref.refused
	sort.Ints(fresh)
	if len(fresh) > 0 {
		r.FreshMax = fresh[len(fresh)-1]
		r.FreshMedian = float64(fresh[(len(fresh)-1)/2]+fresh[len(fresh)/2]) / 2
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return (s[(len(s)-1)/2] + s[len(s)/2]) / 2
}

func bin(score float64) int { return min(max(int(score*scoreBins), 0), scoreBins-1) }

// device is one simulated device: its memos and randomness.
type device struct {
	memos *memoStore
	rng   *rand.Rand
	fresh int // permanent answers drawn
}

func newDevice(rng *rand.Rand) *device { return &device{memos: newMemoStore(), rng: rng} }

// answer is one report's answer to codec's question, through the
// device's answer path.
func (d *device) answer(ctx context.Context, codec *campaign.Codec, scores map[uint32]float32) ([]byte, error) {
	truth, key, err := answer.Key(ctx, d.memos, codec, scores, d.rng, false)
	if err != nil {
		return nil, err
	}
	a, fresh, err := answer.Draw(ctx, d.memos, codec, truth, key, d.rng)
	if fresh {
		d.fresh++
	}
	return a, err
}

// memoStore is an in-memory ldp.MemoStore: a simulated device's memos.
type memoStore struct {
	mu sync.Mutex
	m  map[ldp.MemoKey][]byte
}

func newMemoStore() *memoStore { return &memoStore{m: map[ldp.MemoKey][]byte{}} }

func (s *memoStore) LoadMemo(_ context.Context, k ldp.MemoKey) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[k]
	return b, ok, nil
}

func (s *memoStore) StoreMemo(_ context.Context, k ldp.MemoKey, b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[k]; ok {
		return errors.New("attack: memo already stored")
	}
	s.m[k] = slices.Clone(b)
	return nil
}

// clone copies the store.
func (s *memoStore) clone() *memoStore {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := newMemoStore()
	for k, v := range s.m {
		out.m[k] = v
	}
	return out
}

// validated validates the campaigns against the default taxonomy (which
// fills in ReportEpsilon, the mechanism and a top_k's categories), as an
// aggregator does before it signs them.
// It also returns their codecs.
func validated(camps []campaign.Campaign) ([]campaign.Campaign, []*campaign.Codec, error) {
	tax, err := taxonomy.ParseBytes(taxonomy.DefaultTSV())
	if err != nil {
		return nil, nil, err
	}
	out := slices.Clone(camps)
	codecs := make([]*campaign.Codec, len(out))
	for i := range out {
		if err := out[i].Validate(tax); err != nil {
			return nil, nil, fmt.Errorf("attack: %s: %w", out[i].ID, err)
		}
		if codecs[i], err = out[i].Codec(); err != nil {
			return nil, nil, fmt.Errorf("attack: %s: %w", out[i].ID, err)
		}
	}
	return out, codecs, nil
}

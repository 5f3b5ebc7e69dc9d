package aggregator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/ldp"
)

// Segment is one campaign's released result for one epoch.
type Segment struct {
	Campaign     string `json:"campaign"`
	Name         string `json:"name"`
	Category     uint32 `json:"category"`
	CategoryName string `json:"category_name"`
	Epoch        uint32 `json:"epoch"`
	// Mode is "prio3" for a two-aggregator campaign (central noise; the
	// intervals are exact quantiles of the noise); absent for LDP.
	Mode string `json:"mode,omitempty"`
	// Question is the campaign's question type ("threshold", "top_k",
	// "mean"); Mechanism is its LDP mechanism and MechanismReason why it
	// was chosen (from the signed campaign config).
	Question        QuestionType `json:"question,omitempty"`
	Mechanism       string       `json:"mechanism"`
	MechanismReason string       `json:"mechanism_reason,omitempty"`
	Epsilon         float64      `json:"epsilon"`
	// Reports is how many reports the estimate used. It is absent when
	// Suppressed: an exact small count says how few devices took part
	// (one report is one device answering), which k exists to hide.
	Reports int `json:"reports,omitempty"`
	// Suppressed is true when fewer than k reports arrived; no estimate and
	// no count are released then and the estimate fields are absent.
	Suppressed bool `json:"suppressed"`
	// A threshold campaign's estimate: its fields appear inline.
	*SizeEstimate
	// TopK is a top_k campaign's histogram; Mean a mean campaign's mean.
	TopK *TopKResult `json:"top_k,omitempty"`
	Mean *MeanResult `json:"mean,omitempty"`
	// EpochStart and EpochEnd bound the epoch; ReleasedAt is when the
	// result was first released (it never changes afterwards).
	EpochStart time.Time `json:"epoch_start"`
	EpochEnd   time.Time `json:"epoch_end"`
	ReleasedAt time.Time `json:"released_at"`
}

// SizeEstimate is a released segment size.
type SizeEstimate struct {
	// Estimate is the unbiased estimate of how many reporters are in the
	// segment, with its variance and 95% interval (not clipped).
	Estimate float64 `json:"estimate"`
	Variance float64 `json:"variance"`
	CILow    float64 `json:"ci_low"`
	CIHigh   float64 `json:"ci_high"`
	// Consistent is the estimate clipped to [0, reports]: biased, but never
	// impossible. Released beside the unbiased estimate, not instead of it.
	Consistent float64 `json:"consistent"`
}

// SegmentsResponse is the body of GET /v1/segments.
type SegmentsResponse struct {
	Segments []Segment `json:"segments"`
}

// tally accumulates a campaign epoch's answers as the store streams them
// — (answer bytes, reports) groups in byte order, so every node computes a
// release the same way down to float rounding — and writes the released
// estimate into a segment. Memory is the mechanism's (d counters), never
// the number of reports. One per mechanism family: a new mechanism adds a
// case to newTally and nothing in the store, whose answers are already
// (mechanism, bytes).
type tally interface {
	add(answer []byte, n int64) error
	finish(seg *Segment)
}

// newTally returns the tally of r's mechanism.
func newTally(r *registered) (tally, error) {
	m := r.Mechanism()
	var want QuestionType
	switch m {
	case ldp.MechanismRR:
		return &rrTally{r: r, acc: r.codec.Oracle().NewAccumulator()}, nil
	case ldp.MechanismGRR, ldp.MechanismOUE, ldp.MechanismOLH, ldp.MechanismHadamard:
		if r.Question.Type == campaign.QuestionTopK {
			return &topKTally{r: r, acc: r.codec.Sampler().Oracle().NewAccumulator()}, nil
		}
		want = campaign.QuestionTopK
	case ldp.MechanismDuchi, ldp.MechanismPiecewise:
		if r.Question.Type == campaign.QuestionMean {
			return &meanTally{acc: ldp.NewRoundedMeanAccumulator(r.codec.Mean(), r.codec.MeanGrid())}, nil
		}
		want = campaign.QuestionMean
	default:
		return nil, fmt.Errorf("no estimator for mechanism %v", m)
	}
	return nil, fmt.Errorf("a %v answer belongs to a %q question, not %q", m, want, r.Question.Type)
}

// rrTally counts the yes answers of binary randomized response, and
// estimates through the campaign's oracle: both layers inverted for a
// two-layer campaign (ldp.Longitudinal, p* of RR at ε1), one for a legacy
// one; the interval is the yes count's score interval mapped through the
// estimator.
type rrTally struct {
	r   *registered
	acc ldp.Accumulator
}

func (t *rrTally) add(answer []byte, n int64) error { return addN(t.acc, answer, n) }

func (t *rrTally) finish(seg *Segment) {
	e := ldp.EstimateCounts(t.r.codec.Oracle(), t.acc)[1]
	seg.SizeEstimate = &SizeEstimate{Estimate: e.Value, Variance: e.Variance, CILow: e.Low, CIHigh: e.High,
		Consistent: math.Min(math.Max(e.Value, 0), float64(seg.Reports))}
}

// addN adds a group of n identical answers to an accumulator.
func addN(acc interface{ Add([]byte) error }, answer []byte, n int64) error {
	for range n {
		if err := acc.Add(answer); err != nil {
			return err
		}
	}
	return nil
}

// topKTally decodes padding-and-sampling answers: the oracle's unbiased
// counts over the d categories scaled by K (ldp.SetSampler).
type topKTally struct {
	r   *registered
	acc ldp.Accumulator
}

func (t *topKTally) add(answer []byte, n int64) error { return addN(t.acc, answer, n) }

func (t *topKTally) finish(seg *Segment) {
	ests := t.r.codec.Sampler().Estimate(t.acc)
	consistent := ldp.ClipNonNegative(ldp.Values(ests))
	res := &TopKResult{K: t.r.Question.K, Consistency: "clip_non_negative", Categories: make([]api.CategoryEstimate, len(ests))}
	for i, e := range ests {
		res.Categories[i] = api.CategoryEstimate{Category: t.r.Question.Categories[i], Estimate: e.Value, Variance: e.Variance,
			CILow: e.Low, CIHigh: e.High, Share: e.Value / float64(seg.Reports), Consistent: consistent[i]}
	}
	seg.TopK = res
}

// meanTally averages the unbiased numeric answers and maps the mean back
// from [−1, 1] to the score range [0, 1]. Its variance is the mechanism's
// closed-form worst case over the true value (with the α-rounding grid's
// share), over n: an interval that covers at small n and high ε, where the
// outputs' sample variance did not.
type meanTally struct{ acc *ldp.MeanAccumulator }

func (t *meanTally) add(answer []byte, n int64) error { return addN(t.acc, answer, n) }

func (t *meanTally) finish(seg *Segment) {
	e := campaign.MeanBounds().Denormalize(t.acc.Estimate())
	seg.Mean = &MeanResult{Mean: e.Value, Variance: e.Variance, CILow: e.Low, CIHigh: e.High,
		Consistent: math.Min(math.Max(e.Value, 0), 1)}
}

// estimate computes a campaign epoch's segment from the stored reports.
func (s *Server) estimate(ctx context.Context, r *registered, epoch uint32) (Segment, error) {
	start, end := epochBounds(&r.Campaign, epoch)
	seg := Segment{Campaign: r.ID, Name: r.Name, Category: r.Question.Category, Epoch: epoch,
		Question: r.Question.Type, Mechanism: r.Mechanism().String(), MechanismReason: r.MechanismReason,
		Epsilon: r.Epsilon, EpochStart: start.UTC(), EpochEnd: end.UTC()}
	if cat, ok := s.tax.Lookup(r.Question.Category); ok {
		seg.CategoryName = cat.Name()
	}
	t, err := newTally(r)
	if err != nil {
		return Segment{}, fmt.Errorf("aggregator: campaign %q: %w", r.ID, err)
	}
	err = s.store.Tally(ctx, r.ID, epoch, func(mech ldp.Mechanism, answer []byte, n int64) error {
		if mech != r.Mechanism() {
			return fmt.Errorf("stored answer of mechanism %d in a %v campaign", mech, r.Mechanism())
		}
		seg.Reports += int(n)
		return t.add(answer, n)
	})
	if err != nil {
		return Segment{}, fmt.Errorf("aggregator: campaign %q epoch %d: %w", r.ID, epoch, err)
	}
	if seg.Reports < r.K {
		seg.Suppressed, seg.Reports = true, 0
		return seg, nil
	}
	t.finish(&seg)
	if seg.TopK != nil {
		for i := range seg.TopK.Categories {
			if cat, ok := s.tax.Lookup(seg.TopK.Categories[i].Category); ok {
				seg.TopK.Categories[i].CategoryName = cat.Name()
			}
		}
	}
	return seg, nil
}

// release stores the result of every closed epoch of r not yet released
// and deletes released epochs' reports. A release is stored before its
// reports are deleted, and the first stored release wins on every node, so
// a result never changes once anyone has seen it. Only ReleaseDue calls
// it: reading results never writes.
func (s *Server) release(ctx context.Context, r *registered) error {
	have, err := s.releasedEpochs(ctx, r.ID)
	if err != nil {
		return err
	}
	epochs, err := s.store.Epochs(ctx, r.ID)
	if err != nil {
		return err
	}
	now := s.now()
	for _, epoch := range epochs {
		if have[epoch] { // released, reports left by a crash or another node
			if err := s.dropReleased(ctx, r.ID, epoch); err != nil {
				return err
			}
			continue
		}
		if !s.releasable(&r.Campaign, epoch, now) {
			continue
		}
		seg, err := s.estimate(ctx, r, epoch)
		if err != nil {
			return err
		}
		seg.ReleasedAt = now.UTC()
		body, err := json.Marshal(seg)
		if err != nil {
			return err
		}
		if _, err := s.store.Release(ctx, store.Release{Campaign: r.ID, Epoch: epoch, ReleasedAt: now, Body: body}); err != nil {
			return err
		}
		if err := s.dropReleased(ctx, r.ID, epoch); err != nil {
			return err
		}
	}
	return nil
}

// results returns a campaign's released results, as stored.
func (s *Server) results(ctx context.Context, r *registered) ([]Segment, error) {
	released, err := s.store.Releases(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	segs := make([]Segment, 0, len(released))
	for _, rel := range released {
		var seg Segment
		if err := json.Unmarshal(rel.Body, &seg); err != nil {
			return nil, fmt.Errorf("aggregator: release %s/%d: %w", r.ID, rel.Epoch, err)
		}
		if seg.Suppressed { // releases stored before counts were withheld
			seg.Reports = 0
		}
		segs = append(segs, seg)
	}
	return segs, nil
}

// dropReleased deletes a released epoch's reports unless the policy keeps
// them. It runs only after the release is stored, so a crash in between
// leaves reports that the next pass deletes, never a result without them.
func (s *Server) dropReleased(ctx context.Context, campaign string, epoch uint32) error {
	if s.policy.KeepReports {
		return nil
	}
	n, err := s.store.DeleteReports(ctx, campaign, epoch)
	if err != nil {
		return fmt.Errorf("aggregator: campaign %q epoch %d: deleting released reports: %w", campaign, epoch, err)
	}
	if n > 0 {
		s.log.Info("released epoch's reports deleted", "campaign", campaign, "epoch", epoch, "reports", n)
	}
	return nil
}

// ReleaseDue releases every campaign's closed epochs (and deletes their
// reports, unless the policy keeps them). `wisp aggregator serve` runs it
// every minute and `wisp aggregator release` once; reading segments never
// releases (a GET does not write), so results appear at the next pass.
func (s *Server) ReleaseDue(ctx context.Context) error {
	snap := s.current(ctx)
	var prio3 []error // a prio3 batch waiting for its helper holds up no other release
	for _, id := range snap.order {
		if r := snap.campaigns[id]; isPrio3(r) {
			prio3 = append(prio3, s.releasePrio3(ctx, r))
			continue
		}
		if err := s.release(ctx, snap.campaigns[id]); err != nil {
			return err
		}
	}
	return errors.Join(prio3...)
}

// Segments returns the released results of every campaign p may see.
func (s *Server) Segments(ctx context.Context, p Principal) ([]Segment, error) {
	snap := s.current(ctx)
	segs := []Segment{}
	for _, id := range snap.order {
		r := snap.campaigns[id]
		if !p.sees(r.tenant) {
			continue
		}
		got, err := s.results(ctx, r)
		if err != nil {
			return nil, err
		}
		segs = append(segs, got...)
	}
	return segs, nil
}

func (s *Server) handleSegments(w http.ResponseWriter, r *http.Request) {
	segs, err := s.Segments(r.Context(), principalOf(r.Context()))
	if err != nil {
		s.fail(w, err)
		return
	}
	s.export(w, r, segs)
}

func (s *Server) handleResults(w http.ResponseWriter, r *http.Request) {
	c, err := s.visible(r.Context(), principalOf(r.Context()), r.PathValue("id"))
	if err != nil {
		s.fail(w, err)
		return
	}
	segs, err := s.results(r.Context(), c)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.export(w, r, segs)
}

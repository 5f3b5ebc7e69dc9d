package aggregator

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
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
	// Question is the campaign's question type ("threshold", "top_k",
	// "mean"); Mechanism is its LDP mechanism and MechanismReason why it
	// was chosen (from the signed campaign config).
	Question        string  `json:"question,omitempty"`
	Mechanism       string  `json:"mechanism"`
	MechanismReason string  `json:"mechanism_reason,omitempty"`
	Epsilon         float64 `json:"epsilon"`
	Reports         int     `json:"reports"`
	// Suppressed is true when fewer than k reports arrived; no estimate is
	// released then and the estimate fields are absent.
	Suppressed bool `json:"suppressed"`
	// A threshold campaign's estimate: its fields appear inline.
	*SizeEstimate
	// TopK is a top_k campaign's histogram; Mean a mean campaign's mean.
	TopK *api.TopKResult `json:"top_k,omitempty"`
	Mean *api.MeanResult `json:"mean,omitempty"`
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

// estimator turns a campaign epoch's answer histogram (answer bytes →
// reports) into its released estimate in seg. One per mechanism family: a
// new mechanism adds an entry here and nothing in the store, whose
// answers are already (mechanism, bytes).
type estimator func(r *registered, tally map[string]int64, seg *Segment) error

// estimatorFor returns the estimator of mechanism m, if there is one.
func estimatorFor(m ldp.Mechanism) (estimator, bool) {
	switch m {
	case ldp.MechanismRR:
		return estimateRR, true
	case ldp.MechanismGRR, ldp.MechanismOUE, ldp.MechanismOLH, ldp.MechanismHadamard:
		return estimateTopK, true
	case ldp.MechanismDuchi, ldp.MechanismPiecewise:
		return estimateMean, true
	}
	return nil, false
}

func estimateRR(r *registered, tally map[string]int64, seg *Segment) error {
	e := r.codec.RR().EstimateCount(seg.Reports, int(tally["\x01"]))
	seg.SizeEstimate = &SizeEstimate{Estimate: e.Value, Variance: e.Variance, CILow: e.Low, CIHigh: e.High,
		Consistent: math.Min(math.Max(e.Value, 0), float64(seg.Reports))}
	return nil
}

// estimateTopK decodes padding-and-sampling answers: the oracle's
// unbiased counts over the d categories scaled by K (ldp.SetSampler).
func estimateTopK(r *registered, tally map[string]int64, seg *Segment) error {
	if r.Question.Type != campaign.QuestionTopK {
		return fmt.Errorf("a %v answer in a %q campaign", r.Mechanism(), r.Question.Type)
	}
	set := r.codec.Sampler()
	acc := set.Oracle().NewAccumulator()
	for _, answer := range sortedAnswers(tally) {
		for range tally[answer] {
			if err := acc.Add([]byte(answer)); err != nil {
				return err
			}
		}
	}
	ests := set.Estimate(acc)
	consistent := ldp.ClipNonNegative(ldp.Values(ests))
	res := &api.TopKResult{K: r.Question.K, Consistency: "clip_non_negative", Categories: make([]api.CategoryEstimate, len(ests))}
	for i, e := range ests {
		res.Categories[i] = api.CategoryEstimate{Category: r.Question.Categories[i], Estimate: e.Value, Variance: e.Variance,
			CILow: e.Low, CIHigh: e.High, Share: e.Value / float64(seg.Reports), Consistent: consistent[i]}
	}
	seg.TopK = res
	return nil
}

// estimateMean averages the unbiased numeric answers and maps the mean
// back from [−1, 1] to the score range [0, 1].
func estimateMean(r *registered, tally map[string]int64, seg *Segment) error {
	if r.Question.Type != campaign.QuestionMean {
		return fmt.Errorf("a %v answer in a %q campaign", r.Mechanism(), r.Question.Type)
	}
	acc := ldp.NewMeanAccumulator(r.codec.Mean())
	for _, answer := range sortedAnswers(tally) {
		for range tally[answer] {
			if err := acc.Add([]byte(answer)); err != nil {
				return err
			}
		}
	}
	e := campaign.MeanBounds().Denormalize(acc.Estimate())
	seg.Mean = &api.MeanResult{Mean: e.Value, Variance: e.Variance, CILow: e.Low, CIHigh: e.High,
		Consistent: math.Min(math.Max(e.Value, 0), 1)}
	return nil
}

// sortedAnswers orders a tally's answers so a release is computed the same
// way (down to float rounding) on every node.
func sortedAnswers(tally map[string]int64) []string {
	out := make([]string, 0, len(tally))
	for a := range tally {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
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
	tally := map[string]int64{}
	err := s.store.Tally(ctx, r.ID, epoch, func(mech uint8, answer []byte, n int64) error {
		if ldp.Mechanism(mech) != r.Mechanism() {
			return fmt.Errorf("stored answer of mechanism %d in a %v campaign", mech, r.Mechanism())
		}
		tally[string(answer)] += n
		seg.Reports += int(n)
		return nil
	})
	if err != nil {
		return Segment{}, fmt.Errorf("aggregator: campaign %q epoch %d: %w", r.ID, epoch, err)
	}
	if seg.Reports < r.K {
		seg.Suppressed = true
		return seg, nil
	}
	est, ok := estimatorFor(r.Mechanism())
	if !ok {
		return Segment{}, fmt.Errorf("aggregator: no estimator for mechanism %v", r.Mechanism())
	}
	if err := est(r, tally, &seg); err != nil {
		return Segment{}, fmt.Errorf("aggregator: campaign %q epoch %d: %w", r.ID, epoch, err)
	}
	if seg.TopK != nil {
		for i := range seg.TopK.Categories {
			if cat, ok := s.tax.Lookup(seg.TopK.Categories[i].Category); ok {
				seg.TopK.Categories[i].CategoryName = cat.Name()
			}
		}
	}
	return seg, nil
}

// results returns a campaign's released results, releasing first every
// closed epoch not yet released. A release is stored before it is shown
// and the first stored release wins on every node, so a result never
// changes once anyone has seen it.
func (s *Server) results(ctx context.Context, r *registered) ([]Segment, error) {
	released, err := s.store.Releases(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	have := map[uint32]bool{}
	for _, rel := range released {
		have[rel.Epoch] = true
	}
	epochs, err := s.store.Epochs(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	fresh := false
	for _, epoch := range epochs {
		if have[epoch] || !s.releasable(&r.Campaign, epoch, now) {
			continue
		}
		seg, err := s.estimate(ctx, r, epoch)
		if err != nil {
			return nil, err
		}
		seg.ReleasedAt = now.UTC()
		body, err := json.Marshal(seg)
		if err != nil {
			return nil, err
		}
		if _, err := s.store.Release(ctx, store.Release{Campaign: r.ID, Epoch: epoch, ReleasedAt: now, Body: body}); err != nil {
			return nil, err
		}
		fresh = true
	}
	if fresh {
		if released, err = s.store.Releases(ctx, r.ID); err != nil {
			return nil, err
		}
	}
	segs := make([]Segment, 0, len(released))
	for _, rel := range released {
		var seg Segment
		if err := json.Unmarshal(rel.Body, &seg); err != nil {
			return nil, fmt.Errorf("aggregator: release %s/%d: %w", r.ID, rel.Epoch, err)
		}
		segs = append(segs, seg)
	}
	return segs, nil
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

package aggregator

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/ldp"
)

// Segment is one campaign's released result for one epoch.
type Segment struct {
	Campaign     string  `json:"campaign"`
	Name         string  `json:"name"`
	Category     uint32  `json:"category"`
	CategoryName string  `json:"category_name"`
	Epoch        uint32  `json:"epoch"`
	Mechanism    string  `json:"mechanism"`
	Epsilon      float64 `json:"epsilon"`
	Reports      int     `json:"reports"`
	// Suppressed is true when fewer than k reports arrived; no estimate is
	// released then and the estimate fields are absent.
	Suppressed bool `json:"suppressed"`
	*SizeEstimate
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

// estimator turns a campaign epoch's answer histogram into a size
// estimate. One per mechanism: a new mechanism adds an entry here and
// nothing in the store, whose answers are already (mechanism, bytes).
type estimator func(r *registered, tally map[string]int64, reports int) (*SizeEstimate, error)

// estimatorFor returns the estimator of mechanism m, if there is one.
func estimatorFor(m ldp.Mechanism) (estimator, bool) {
	switch m {
	case ldp.MechanismRR:
		return estimateRR, true
	}
	return nil, false
}

func estimateRR(r *registered, tally map[string]int64, reports int) (*SizeEstimate, error) {
	rr, err := r.RR()
	if err != nil {
		return nil, err
	}
	e := rr.EstimateCount(reports, int(tally["\x01"]))
	return &SizeEstimate{Estimate: e.Value, Variance: e.Variance, CILow: e.Low, CIHigh: e.High,
		Consistent: math.Min(math.Max(e.Value, 0), float64(reports))}, nil
}

// estimate computes a campaign epoch's segment from the stored reports.
func (s *Server) estimate(ctx context.Context, r *registered, epoch uint32) (Segment, error) {
	start, end := epochBounds(&r.Campaign, epoch)
	seg := Segment{Campaign: r.ID, Name: r.Name, Category: r.Question.Category, Epoch: epoch,
		Mechanism: r.Mechanism().String(), Epsilon: r.Epsilon, EpochStart: start.UTC(), EpochEnd: end.UTC()}
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
	if seg.SizeEstimate, err = est(r, tally, seg.Reports); err != nil {
		return Segment{}, err
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

package aggregator

import (
	"context"
	"fmt"
	"math"
	"net/http"

	"github.com/wisp-project/wisp/internal/campaign"
)

// Segment is one campaign's estimate for one epoch.
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

func (s *Server) handleSegments(w http.ResponseWriter, r *http.Request) {
	segs, err := s.Segments(r.Context())
	if err != nil {
		s.problem(w, http.StatusInternalServerError, "cannot compute segments", err)
		return
	}
	writeJSON(w, http.StatusOK, SegmentsResponse{Segments: segs})
}

// Segments estimates every campaign for every epoch that has reports.
func (s *Server) Segments(ctx context.Context) ([]Segment, error) {
	segs := []Segment{}
	for _, id := range s.order {
		c := s.campaigns[id]
		epochs, err := s.store.Epochs(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, epoch := range epochs {
			seg, err := s.estimate(ctx, c, epoch)
			if err != nil {
				return nil, err
			}
			segs = append(segs, seg)
		}
	}
	return segs, nil
}

func (s *Server) estimate(ctx context.Context, c *campaign.Campaign, epoch uint32) (Segment, error) {
	seg := Segment{Campaign: c.ID, Name: c.Name, Category: c.Question.Category, Epoch: epoch,
		Mechanism: c.Mechanism().String(), Epsilon: c.Epsilon}
	if cat, ok := s.tax.Lookup(c.Question.Category); ok {
		seg.CategoryName = cat.Name()
	}
	var ones int
	err := s.store.Scan(ctx, c.ID, epoch, func(_ uint8, answer []byte) error {
		seg.Reports++
		ones += int(answer[0])
		return nil
	})
	if err != nil {
		return Segment{}, fmt.Errorf("aggregator: campaign %q epoch %d: %w", c.ID, epoch, err)
	}
	if seg.Reports < c.K {
		seg.Suppressed = true
		return seg, nil
	}
	rr, err := c.RR()
	if err != nil {
		return Segment{}, err
	}
	e := rr.EstimateCount(seg.Reports, ones)
	seg.SizeEstimate = &SizeEstimate{Estimate: e.Value, Variance: e.Variance, CILow: e.Low, CIHigh: e.High,
		Consistent: math.Min(math.Max(e.Value, 0), float64(seg.Reports))}
	return seg, nil
}

package aggregator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"

	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/prio"
)

// Release of a prio3 batch, by the leader: once the epoch is closed (with
// the same settle time as LDP), every report prepared, and both
// aggregators hold at least MinBatch reports, each aggregator adds its
// central noise to its share once and stores the noised share; the
// leader fetches the helper's, unshards, and stores the release (the
// first stored release wins, on every node). A batch below MinBatch is
// released suppressed, without noise or counts, as an LDP epoch below k.
// While the helper is unreachable nothing is released: the reports stay
// pending, the status says why, and the next pass tries again.

// ErrReleased: the batch was collected and released already; it is never
// collected again.
var ErrReleased = errors.New("aggregator: prio3 batch already collected")

// CollectPrio3 collects and releases one batch of a prio3 campaign
// (leader): ReleaseDue calls it for every closed batch; operators and
// tests may call it directly. It refuses an open epoch, a batch already
// released (ErrReleased), and fails (nothing released, nothing lost) while
// the helper is down.
func (s *Server) CollectPrio3(ctx context.Context, campaignID string, epoch uint32) (Segment, error) {
	if s.prio3.role != RoleLeader {
		return Segment{}, errorf(EConflict, "only a prio3 leader collects")
	}
	r, err := s.prio3Campaign(ctx, campaignID)
	if err != nil {
		return Segment{}, err
	}
	released, err := s.releasedEpochs(ctx, r.ID)
	if err != nil {
		return Segment{}, err
	}
	if released[epoch] {
		return Segment{}, fmt.Errorf("%w: %q epoch %d", ErrReleased, r.ID, epoch)
	}
	if !s.releasable(&r.Campaign, epoch, s.now()) {
		return Segment{}, errorf(EConflict, fmt.Sprintf("epoch %d of %q is not closed yet", epoch, r.ID))
	}
	s.prio3.jobs.Lock() // the job loop may be on this batch: let it finish (a second runner would only repeat its jobs)
	err = s.drainBatch(ctx, r, epoch)
	s.prio3.jobs.Unlock()
	if err != nil {
		return Segment{}, fmt.Errorf("campaign %q epoch %d: reports kept pending: %w", r.ID, epoch, err)
	}
	p, err := prio3Params(r)
	if err != nil {
		return Segment{}, err
	}
	seg := s.prio3SegmentBase(r, epoch, p)
	var n int64
	batches, err := s.store.Prio3Batches(ctx, r.ID)
	if err != nil {
		return Segment{}, err
	}
	for _, b := range batches {
		if b.Epoch == epoch {
			n = b.Aggregated
		}
	}
	if n < int64(r.Prio3.MinBatch) {
		seg.Suppressed = true
		return s.storePrio3Release(ctx, r, seg)
	}
	own, err := s.collectShare(ctx, r, p, epoch, -1)
	if err != nil {
		return Segment{}, err
	}
	theirs, err := callHelper[prio3CollectResult](ctx, s, r, "/v1/prio3/collect",
		prio3Collect{Version: prio3PeerVersion, Campaign: r.ID, Epoch: epoch, Reports: uint64(own.Reports)})
	if err != nil {
		return Segment{}, err
	}
	leader, err := prio.DecodeAggShare(p, uint64(own.Reports), own.Noised)
	if err != nil {
		return Segment{}, err
	}
	helper, err := prio.DecodeAggShare(p, theirs.Reports, theirs.Share)
	if err != nil {
		return Segment{}, fmt.Errorf("%w: aggregate share: %v", ErrHelper, err)
	}
	totals, err := prio.Unshard(p, leader, helper)
	if err != nil {
		return Segment{}, err
	}
	seg.Reports = int(own.Reports)
	if err := s.prio3Estimate(&seg, r, p, totals); err != nil {
		return Segment{}, err
	}
	return s.storePrio3Release(ctx, r, seg)
}

func (s *Server) storePrio3Release(ctx context.Context, r *registered, seg Segment) (Segment, error) {
	now := s.now()
	seg.ReleasedAt = now.UTC()
	body, err := json.Marshal(seg)
	if err != nil {
		return Segment{}, err
	}
	got, err := s.store.Release(ctx, store.Release{Campaign: r.ID, Epoch: seg.Epoch, ReleasedAt: now, Body: body})
	if err != nil {
		return Segment{}, err
	}
	var stored Segment
	err = json.Unmarshal(got.Body, &stored)
	return stored, err
}

// collectShare noises this aggregator's share of a batch once and returns
// it (both roles). want is the leader's count (the helper refuses another),
// or −1.
func (s *Server) collectShare(ctx context.Context, r *registered, p prio.Params, epoch uint32, want int64) (store.Prio3Aggregate, error) {
	if !s.releasable(&r.Campaign, epoch, s.now()) {
		return store.Prio3Aggregate{}, errorf(EConflict, fmt.Sprintf("epoch %d of %q is not closed yet", epoch, r.ID))
	}
	check := func(n int64) error {
		switch {
		case n < int64(r.Prio3.MinBatch):
			return errorf(EPolicy, fmt.Sprintf("the batch has %d reports, below min_batch %d", n, r.Prio3.MinBatch))
		case want >= 0 && n != want:
			return errorf(EConflict, fmt.Sprintf("this aggregator holds %d reports of the batch, the leader %d", n, want))
		}
		return nil
	}
	a, err := s.store.CollectPrio3(ctx, r.ID, epoch, s.now(), func(share []byte, n int64) ([]byte, error) {
		if err := check(n); err != nil {
			return nil, err
		}
		agg, err := decodeShare(p, share, n)
		if err != nil {
			return nil, err
		}
		if err := s.prio3.addNoise(agg, r.Prio3.CentralEpsilon); err != nil {
			return nil, err
		}
		return agg.MarshalBinary()
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.Prio3Aggregate{}, errorf(EConflict, fmt.Sprintf("nothing aggregated in epoch %d of %q", epoch, r.ID))
	}
	if err != nil {
		return store.Prio3Aggregate{}, err
	}
	// Collected before: the same noised share, never fresh noise — but
	// only for the same batch.
	if err := check(a.Reports); err != nil {
		return store.Prio3Aggregate{}, err
	}
	return a, nil
}

// handlePrio3Collect answers the leader's collection with this helper's
// noised aggregate share.
func (s *Server) handlePrio3Collect(w http.ResponseWriter, req *http.Request) {
	body, err := readPeerBody(w, req)
	if err != nil {
		s.fail(w, err)
		return
	}
	m, err := decodePeer[prio3Collect](body)
	if err != nil {
		s.fail(w, errorf(EInvalid, err.Error()))
		return
	}
	r, err := s.prio3Campaign(req.Context(), m.Campaign)
	if err != nil {
		s.fail(w, err)
		return
	}
	p, err := prio3Params(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	if m.Reports > math.MaxInt64 {
		s.fail(w, errorf(EInvalid, "report count out of range"))
		return
	}
	a, err := s.collectShare(req.Context(), r, p, m.Epoch, int64(m.Reports))
	if err != nil {
		s.fail(w, err)
		return
	}
	s.writeCBOR(w, prio3CollectResult{Version: prio3PeerVersion, Reports: uint64(a.Reports), Share: a.Noised})
}

// releasePrio3 collects every closed, unreleased batch of r (leader).
// A batch that cannot be released yet (helper down, counts disagree) is
// logged with the reason and tried again at the next pass.
func (s *Server) releasePrio3(ctx context.Context, r *registered) error {
	if s.prio3.role != RoleLeader {
		return nil
	}
	batches, err := s.store.Prio3Batches(ctx, r.ID)
	if err != nil {
		return err
	}
	have, err := s.releasedEpochs(ctx, r.ID)
	if err != nil {
		return err
	}
	var errs []error
	for _, b := range batches {
		if have[b.Epoch] || !s.releasable(&r.Campaign, b.Epoch, s.now()) {
			continue
		}
		_, err := s.CollectPrio3(ctx, r.ID, b.Epoch)
		s.noteBatch(r.ID, b.Epoch, err)
		if err != nil {
			s.log.Warn("prio3 batch not released", "campaign", r.ID, "epoch", b.Epoch, "err", err)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// releasedEpochs is the set of campaign's released epochs.
func (s *Server) releasedEpochs(ctx context.Context, campaign string) (map[uint32]bool, error) {
	released, err := s.store.Releases(ctx, campaign)
	if err != nil {
		return nil, err
	}
	have := make(map[uint32]bool, len(released))
	for _, rel := range released {
		have[rel.Epoch] = true
	}
	return have, nil
}

// prio3SegmentBase is a prio3 segment without its estimate.
func (s *Server) prio3SegmentBase(r *registered, epoch uint32, p prio.Params) Segment {
	start, end := epochBounds(&r.Campaign, epoch)
	seg := Segment{Campaign: r.ID, Name: r.Name, Category: r.Question.Category, Epoch: epoch, Mode: campaign.ModePrio3,
		Question: r.Question.Type, Mechanism: p.VDAF.String(),
		MechanismReason: "two aggregators: Prio3 secret shares with validity proofs, discrete Laplace noise added by each",
		Epsilon:         r.Prio3.CentralEpsilon, EpochStart: start.UTC(), EpochEnd: end.UTC()}
	if cat, ok := s.tax.Lookup(r.Question.Category); ok {
		seg.CategoryName = cat.Name()
	}
	return seg
}

// prio3Estimate writes the estimate of the noised totals into seg. Each
// total carries two independent discrete Laplace draws of scale Δ/ε (one
// per aggregator): its variance is twice one draw's, and its 95% interval
// is the exact quantile of their sum (prio.Params.NoiseHalfWidth), not a normal
// approximation.
func (s *Server) prio3Estimate(seg *Segment, r *registered, p prio.Params, totals []int64) error {
	variance, err := p.NoiseVariance(r.Prio3.CentralEpsilon)
	if err != nil {
		return err
	}
	h, err := p.NoiseHalfWidth(r.Prio3.CentralEpsilon, 0.95)
	if err != nil {
		return err
	}
	half := float64(h)
	n := float64(seg.Reports)
	switch r.Question.Type {
	case campaign.QuestionThreshold:
		t := float64(totals[0])
		seg.SizeEstimate = &SizeEstimate{Estimate: t, Variance: variance, CILow: t - half, CIHigh: t + half,
			Consistent: math.Min(math.Max(t, 0), n)}
	case campaign.QuestionTopK:
		cats := r.Question.Categories
		if len(cats) != len(totals) {
			return fmt.Errorf("aggregator: campaign %q: %d totals for %d categories", r.ID, len(totals), len(cats))
		}
		res := &TopKResult{K: r.Question.K, Consistency: "clip_non_negative", Categories: make([]api.CategoryEstimate, len(totals))}
		for i, x := range totals {
			t := float64(x)
			res.Categories[i] = api.CategoryEstimate{Category: cats[i], Estimate: t, Variance: variance, CILow: t - half, CIHigh: t + half,
				Share: t / n, Consistent: math.Min(math.Max(t, 0), n)}
			if cat, ok := s.tax.Lookup(cats[i]); ok {
				res.Categories[i].CategoryName = cat.Name()
			}
		}
		seg.TopK = res
	case campaign.QuestionMean:
		// A score in [0, 1] quantized to MaxValue steps: the mean is the
		// total over n·MaxValue.
		d := n * float64(p.MaxValue())
		m := float64(totals[0]) / d
		seg.Mean = &MeanResult{Mean: m, Variance: variance / (d * d), CILow: m - half/d, CIHigh: m + half/d,
			Consistent: math.Min(math.Max(m, 0), 1)}
	default:
		return fmt.Errorf("aggregator: campaign %q: no prio3 estimate for question %q", r.ID, r.Question.Type)
	}
	return nil
}

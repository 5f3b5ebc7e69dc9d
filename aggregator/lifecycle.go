package aggregator

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/wisp-project/wisp/aggregator/store"
)

// Campaign lifecycle. A marketer (or the operator) pauses a campaign to
// stop collecting, resumes it, or archives it for good. Pausing withdraws
// its config from GET /v1/campaign-configs, so devices stop answering
// (spending no more of their budget on it) at their next fetch; reports for
// the epoch in which it was paused are still accepted and released as
// usual — that epoch's devices were asked in good faith — and reports for
// later epochs are refused as campaign_paused. Released results stay. Other
// nodes learn a change at their next snapshot reload (Config.Refresh).

// lifecycle is r's state; campaigns stored before lifecycles are active.
func (r *registered) lifecycle() store.CampaignState {
	if r.state == "" {
		return store.CampaignActive
	}
	return r.state
}

// acceptsEpoch refuses a report for an epoch that began after the campaign
// was paused or archived.
func (r *registered) acceptsEpoch(epoch uint32) error {
	if r.lifecycle() == store.CampaignActive || r.EpochSeconds <= 0 {
		return nil
	}
	if last := uint32(r.since.Unix() / r.EpochSeconds); epoch > last {
		return fmt.Errorf("campaign %q was %s at %s, before epoch %d began", r.ID, r.lifecycle(), r.since.UTC().Format("2006-01-02T15:04:05Z"), epoch)
	}
	return nil
}

// lifecycleMoves are the actions of POST /v1/campaigns/{id}/{action}:
// the states each may start from and the state it leads to.
var lifecycleMoves = map[string]struct {
	from []store.CampaignState
	to   store.CampaignState
}{
	"pause":   {[]store.CampaignState{store.CampaignActive}, store.CampaignPaused},
	"resume":  {[]store.CampaignState{store.CampaignPaused}, store.CampaignActive},
	"archive": {[]store.CampaignState{store.CampaignActive, store.CampaignPaused}, store.CampaignArchived},
}

// SetLifecycle applies action ("pause", "resume" or "archive") to the
// campaign id that p may see, and returns its new info. A move from a
// state it does not start from (resuming an archived campaign) is a
// conflict that names the state.
func (s *Server) SetLifecycle(ctx context.Context, p Principal, id, action string) (CampaignInfo, error) {
	move, ok := lifecycleMoves[action]
	if !ok {
		return CampaignInfo{}, errorf(ENotFound, fmt.Sprintf("no campaign action %q (pause, resume, archive)", action))
	}
	c, err := s.visible(ctx, p, id)
	if err != nil {
		return CampaignInfo{}, err
	}
	if !slices.Contains(move.from, c.lifecycle()) {
		return CampaignInfo{}, errorf(EConflict, fmt.Sprintf("campaign %q is %s; it cannot %s", id, c.lifecycle(), action))
	}
	if err := s.store.SetCampaignState(ctx, id, move.from, move.to, s.now()); err != nil {
		return CampaignInfo{}, err
	}
	if err := s.reloadState(ctx); err != nil {
		return CampaignInfo{}, err
	}
	return campaignInfo(s.state.Load().campaigns[id]), nil
}

func (s *Server) handleLifecycle(w http.ResponseWriter, r *http.Request) {
	info, err := s.SetLifecycle(r.Context(), principalOf(r.Context()), r.PathValue("id"), r.PathValue("action"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

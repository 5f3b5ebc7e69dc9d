package aggregator

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/prio"
	"github.com/wisp-project/wisp/internal/privpass"
	"github.com/wisp-project/wisp/internal/wire"
)

// prio3Indexes marks the reports of a batch that are prio3 reports (by
// their mode, read before anything is decoded); nil if there are none.
func prio3Indexes(raw []cbor.RawMessage) []bool {
	var marks []bool
	for i, b := range raw {
		if m, err := wire.PeekMode(b); err == nil && m == wire.ModePrio3 {
			if marks == nil {
				marks = make([]bool, len(raw))
			}
			marks[i] = true
		}
	}
	return marks
}

// ingestMixed ingests a batch holding prio3 reports: LDP envelopes go
// through ingest, prio3 reports through ingestPrio3, and the results come
// back in the batch's order.
func (s *Server) ingestMixed(ctx context.Context, raw []cbor.RawMessage, tokens []*sentToken, prio3 []bool) (api.IngestResponse, error) {
	var ldpRaw, prioRaw []cbor.RawMessage
	var ldpTokens, prioTokens []*sentToken
	for i, b := range raw {
		if prio3[i] {
			prioRaw, prioTokens = append(prioRaw, b), append(prioTokens, tokens[i])
		} else {
			ldpRaw, ldpTokens = append(ldpRaw, b), append(ldpTokens, tokens[i])
		}
	}
	resp := api.IngestResponse{Results: make([]api.Result, 0, len(raw))}
	var ldp, pr api.IngestResponse
	var err error
	if len(ldpRaw) > 0 {
		if ldp, err = s.ingestAt(ctx, ldpRaw, ldpTokens, nil); err != nil {
			return api.IngestResponse{}, err
		}
	}
	if pr, err = s.ingestPrio3(ctx, prioRaw, prioTokens); err != nil {
		return api.IngestResponse{}, err
	}
	for i := range raw {
		if prio3[i] {
			resp.Results, pr.Results = append(resp.Results, pr.Results[0]), pr.Results[1:]
		} else {
			resp.Results, ldp.Results = append(resp.Results, ldp.Results[0]), ldp.Results[1:]
		}
	}
	resp.Accepted, resp.Rejected = ldp.Accepted+pr.Accepted, ldp.Rejected+pr.Rejected
	resp.DetailsOmitted = ldp.DetailsOmitted
	capDetails(&resp) // the LDP part is capped already; this caps the whole batch
	return resp, nil
}

// ingestPrio3 opens and stores prio3 reports (leader): the cheap checks on
// the clear fields, the leader's own share opened, then one transaction
// (with replay check) before anything is acknowledged. The helper's share
// is stored still sealed; aggregation jobs carry it to the helper.
func (s *Server) ingestPrio3(ctx context.Context, raw []cbor.RawMessage, tokens []*sentToken) (api.IngestResponse, error) {
	snap := s.current(ctx)
	now := s.now()
	resp := api.IngestResponse{Results: make([]api.Result, len(raw))}
	reports := make([]store.Prio3Report, len(raw))
	verified := make([]*privpass.Token, len(raw))
	var issuer firstErr
	openAll := func(only []int) {
		inParallel(len(only), noWorker, func(_ struct{}, j int) {
			i := only[j]
			var err error
			reports[i], resp.Results[i], verified[i], err = s.openPrio3(ctx, snap, now, raw[i], tokens[i])
			if err != nil {
				issuer.set(err)
			}
		})
	}
	all := make([]int, len(raw))
	for i := range all {
		all[i] = i
	}
	openAll(all)
	// A key or campaign another node just added: reload once and retry those.
	var retry []int
	for i, res := range resp.Results {
		if res.Reason == api.ReasonUnknownCampaign || res.Reason == api.ReasonUnknownKey {
			retry = append(retry, i)
		}
	}
	if len(retry) > 0 && s.reloadAfter(ctx, time.Now()) {
		snap = s.state.Load()
		openAll(retry)
	}
	if issuer.err != nil {
		return api.IngestResponse{}, issuer.err
	}
	if err := s.claimTokens(ctx, resp.Results, verified, func(i int) (store.ReportID, string, uint32) {
		return reports[i].ID, reports[i].Campaign, reports[i].Epoch
	}); err != nil {
		return api.IngestResponse{}, err
	}
	if err := commitOpened(ctx, s, &resp, reports, s.store.InsertPrio3); err != nil {
		return api.IngestResponse{}, err
	}
	byCampaign := make([]store.Report, len(reports)) // what the per-campaign counters read
	for i := range reports {
		byCampaign[i].Campaign = reports[i].Campaign
	}
	s.metrics.countCampaigns(s.state.Load(), byCampaign, resp.Results)
	return resp, nil
}

// errNotLeader: a prio3 report sent to an aggregator that is not a leader.
var errNotLeader = errors.New("this aggregator is not a prio3 leader; send prio3 reports to the campaign's leader")

// openPrio3 decodes, checks and opens the leader's share of one report,
// and verifies its report token (as open does): verified is the token to
// claim, and is kept with the report to go to the helper.
func (s *Server) openPrio3(ctx context.Context, snap *snapshot, now time.Time, raw []byte, tok *sentToken) (_ store.Prio3Report, _ api.Result, verified *privpass.Token, _ error) {
	rep, res := s.openPrio3Report(snap, now, raw)
	if res.Reason != "" {
		return rep, res, nil, nil
	}
	c := snap.campaigns[rep.Campaign]
	reason, why, err := s.checkToken(ctx, &c.Campaign, rep.Epoch, tok)
	switch {
	case err != nil:
		return store.Prio3Report{}, res, nil, err
	case reason != "":
		return store.Prio3Report{}, api.Result{ReportID: res.ReportID, Reason: reason, Detail: why.Error()}, nil, nil
	case c.RequiresTokens():
		verified = &tok.token
		rep.Token = tok.token.Marshal()
	}
	return rep, res, verified, nil
}

// openPrio3Report is openPrio3 but for the token.
func (s *Server) openPrio3Report(snap *snapshot, now time.Time, raw []byte) (store.Prio3Report, api.Result) {
	reject := func(reason api.Reason, err error) (store.Prio3Report, api.Result) {
		return store.Prio3Report{}, api.Result{Reason: reason, Detail: err.Error()}
	}
	if s.prio3.role != RoleLeader {
		return reject(api.ReasonMalformed, errNotLeader)
	}
	rep, err := wire.DecodePrio3Report(raw)
	if errors.Is(err, wire.ErrVersion) {
		return reject(api.ReasonVersion, err)
	} else if err != nil {
		return reject(api.ReasonMalformed, err)
	}
	withID := func(r store.Prio3Report, res api.Result) (store.Prio3Report, api.Result) {
		res.ReportID = hex.EncodeToString(rep.ID[:])
		return r, res
	}
	c, ok := snap.campaigns[rep.Campaign]
	switch {
	case !ok:
		return withID(reject(api.ReasonUnknownCampaign, fmt.Errorf("campaign %q", rep.Campaign)))
	case !isPrio3(c):
		return withID(reject(api.ReasonMalformed, fmt.Errorf("campaign %q is not a prio3 campaign", rep.Campaign)))
	}
	if reason, err := s.epochRule(&c.Campaign, rep.Epoch, now); reason != "" {
		return withID(reject(reason, err))
	}
	if err := c.acceptsEpoch(rep.Epoch); err != nil {
		return withID(reject(api.ReasonCampaignPaused, err))
	}
	key, ok := snap.keys[rep.Leader.KeyID]
	switch {
	case !ok:
		return withID(reject(api.ReasonUnknownKey, fmt.Errorf("key id %d", rep.Leader.KeyID)))
	case key.state == store.KeyExpired:
		return withID(reject(api.ReasonKeyExpired, fmt.Errorf("key id %d was rotated out; fetch /v1/hpke-config and report again", rep.Leader.KeyID)))
	}
	share, err := key.pair.OpenShare(rep.Leader, rep.AAD(prio.Leader))
	if err != nil {
		return withID(reject(api.ReasonDecrypt, err))
	}
	helper, err := peerEnc.Marshal(rep.Helper)
	if err != nil {
		return withID(reject(api.ReasonMalformed, err))
	}
	return withID(store.Prio3Report{ID: rep.ID, Campaign: rep.Campaign, Epoch: rep.Epoch, Public: rep.Public, Leader: share, Helper: helper}, api.Result{})
}

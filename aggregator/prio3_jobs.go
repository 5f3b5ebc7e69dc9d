package aggregator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/prio"
	"github.com/wisp-project/wisp/internal/privpass"
	"github.com/wisp-project/wisp/internal/wire"
)

// Aggregation jobs (docs/PRIO3.md, "Flow"). The leader takes up to JobSize
// pending reports of one batch, runs PrepInit on its shares (a share that
// fails it is rejected and never sent), and sends the rest to the helper
// with its prep shares. The helper opens its shares, runs PrepInit,
// decides the proof (PrepSharesToPrep), finishes (PrepNext), adds the out
// shares to its aggregate and stores each outcome — all in one
// transaction — before it answers with the prep messages. The leader then
// finishes its side and stores its outcomes and aggregate the same way.
//
// Nothing is lost when either side fails: a job the helper did not answer
// leaves the leader's reports pending, and the next pass sends them again;
// the helper answers a report it has already prepared with its stored
// outcome and does not count it twice. A report rejected at either side is
// counted by neither.

// RunPrio3Jobs runs aggregation jobs until no prio3 report is pending, or
// the helper fails (leader only; a no-op otherwise). serve runs it every
// few seconds; tests and operators may call it at any time.
func (s *Server) RunPrio3Jobs(ctx context.Context) error {
	if s.prio3.role != RoleLeader {
		return nil
	}
	s.prio3.jobs.Lock() // one job runner per node; nodes on one store take turns per batch (AggregatePrio3)
	defer s.prio3.jobs.Unlock()
	snap := s.current(ctx)
	var errs []error
	for _, id := range snap.order {
		r := snap.campaigns[id]
		if !isPrio3(r) {
			continue
		}
		batches, err := s.store.Prio3Batches(ctx, r.ID)
		if err != nil {
			return err
		}
		for _, b := range batches {
			if b.Pending == 0 || b.Collected {
				continue
			}
			if err := s.drainBatch(ctx, r, b.Epoch); err != nil {
				errs = append(errs, fmt.Errorf("campaign %q epoch %d: %w", r.ID, b.Epoch, err))
				break
			}
		}
	}
	return errors.Join(errs...)
}

// drainBatch runs jobs on a batch until none of its reports is pending.
func (s *Server) drainBatch(ctx context.Context, r *registered, epoch uint32) error {
	if err := s.provision(ctx, r); err != nil {
		return err
	}
	for {
		pending, err := s.store.PendingPrio3(ctx, r.ID, epoch, s.prio3.jobSize)
		if err != nil || len(pending) == 0 {
			return err
		}
		if err := s.runJob(ctx, r, epoch, pending); err != nil {
			return err
		}
	}
}

// runJob prepares pending reports of one batch with the helper.
func (s *Server) runJob(ctx context.Context, r *registered, epoch uint32, pending []store.Prio3Report) error {
	agg, p, err := s.newPrio3Aggregator(ctx, r, prio.Leader)
	if err != nil {
		return err
	}
	outcomes := make([]store.Prio3Outcome, len(pending))
	states := make([]*prio.PrepState, len(pending))
	outs := make([]*prio.OutShare, len(pending))
	job := prio3Job{Version: prio3PeerVersion, Campaign: r.ID, Epoch: epoch}
	prepShares := make([][]byte, len(pending))
	helpers := make([]wire.SealedShare, len(pending))
	bad := make([]error, len(pending))
	err = inParallel(len(pending), func() (*prio.Aggregator, error) {
		a, _, err := s.newPrio3Aggregator(ctx, r, prio.Leader)
		return a, err
	}, func(a *prio.Aggregator, i int) {
		rep := &pending[i]
		if bad[i] = peerDec.Unmarshal(rep.Helper, &helpers[i]); bad[i] == nil {
			states[i], prepShares[i], _ = a.PrepInit(prio.Nonce(rep.ID), rep.Public, rep.Leader)
		}
	})
	if err != nil {
		return err
	}
	var sent []int
	for i := range pending {
		rep := &pending[i]
		outcomes[i] = store.Prio3Outcome{ID: rep.ID, State: store.Prio3Rejected}
		if bad[i] != nil {
			return fmt.Errorf("aggregator: stored helper share of a prio3 report: %w", bad[i])
		}
		if states[i] == nil { // PrepInit refused the leader's share
			s.metrics.rejected.WithLabelValues(string(api.ReasonBadAnswer)).Inc()
			continue
		}
		job.Reports = append(job.Reports, prio3JobReport{ID: rep.ID, Public: rep.Public, Share: helpers[i], LeaderPrep: prepShares[i], Token: rep.Token})
		sent = append(sent, i)
	}
	if len(sent) > 0 {
		res, err := callHelper[prio3JobResult](ctx, s, r, "/v1/prio3/aggregate", job)
		if err != nil {
			return err // the reports stay pending; the job runs again
		}
		if len(res.Results) != len(sent) {
			return fmt.Errorf("%w: %d results for a job of %d reports", ErrHelper, len(res.Results), len(sent))
		}
		for j, i := range sent {
			hr := res.Results[j]
			if hr.ID != pending[i].ID {
				return fmt.Errorf("%w: result %d is for another report", ErrHelper, j)
			}
			if hr.Outcome != prepContinue {
				s.metrics.rejected.WithLabelValues(string(helperReason(hr.Reason))).Inc()
				continue
			}
			out, err := agg.PrepNext(states[i], hr.Message)
			if err != nil {
				// The helper counted it and we cannot: the counts now
				// differ, and collection refuses the batch (Unshard checks).
				s.log.Error("prio3: the helper's prep message does not finish a report it aggregated", "campaign", r.ID, "epoch", epoch, "err", err)
				continue
			}
			outs[i] = out
			outcomes[i].State = store.Prio3Aggregated
		}
	}
	_, err = s.store.AggregatePrio3(ctx, r.ID, epoch, outcomes, addOutShares(p, outs))
	return err
}

// addOutShares is the AggregatePrio3 add function that merges the fresh
// out shares (outs[i] nil for a rejected report) into the stored share.
func addOutShares(p prio.Params, outs []*prio.OutShare) func([]bool, []byte, int64) ([]byte, int64, error) {
	return func(fresh []bool, share []byte, n int64) ([]byte, int64, error) {
		a, err := decodeShare(p, share, n)
		if err != nil {
			return nil, 0, err
		}
		for i, o := range outs {
			if fresh[i] && o != nil {
				if err := a.Add(o); err != nil {
					return nil, 0, err
				}
			}
		}
		b, err := a.MarshalBinary()
		return b, int64(a.Reports()), err
	}
}

// decodeShare decodes a stored aggregate share (empty: none yet).
func decodeShare(p prio.Params, share []byte, n int64) (*prio.AggShare, error) {
	if len(share) == 0 {
		return prio.NewAggShare(p)
	}
	return prio.DecodeAggShare(p, uint64(n), share)
}

// provision gives the helper r's config and verify key, once per process
// (the helper keeps the first it gets; giving it again is harmless).
func (s *Server) provision(ctx context.Context, r *registered) error {
	if _, ok := s.prio3.provisioned.Load(r.ID); ok {
		return nil
	}
	vk, err := s.verifyKey(ctx, r.ID, nil)
	if err != nil {
		return err
	}
	msg := prio3Provision{Version: prio3PeerVersion, Tenant: r.tenant, Config: r.signed.Config, Signature: r.signed.Signature, VerifyKey: vk[:]}
	if _, err := callHelper[prio3Ack](ctx, s, r, "/v1/prio3/campaigns", msg); err != nil {
		return err
	}
	s.prio3.provisioned.Store(r.ID, true)
	return nil
}

// handlePrio3Provision stores a campaign and its verify key from the
// leader (helper). The config must pass this aggregator's own validation
// and policy: the helper's noise protects devices only if the helper
// itself holds ε to its limit.
func (s *Server) handlePrio3Provision(w http.ResponseWriter, req *http.Request) {
	body, err := readPeerBody(w, req)
	if err != nil {
		s.fail(w, err)
		return
	}
	m, err := decodePeer[prio3Provision](body)
	if err != nil {
		s.fail(w, errorf(EInvalid, err.Error()))
		return
	}
	if err := s.provisioned(req.Context(), m); err != nil {
		s.fail(w, err)
		return
	}
	s.writeCBOR(w, prio3Ack{Version: prio3PeerVersion})
}

func (s *Server) provisioned(ctx context.Context, m prio3Provision) error {
	var c Campaign
	dec := json.NewDecoder(bytes.NewReader(m.Config))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return errorf(EInvalid, "campaign config: "+err.Error())
	}
	if err := c.Validate(s.tax); err != nil {
		return err
	}
	if !isPrio3Config(&c) {
		return errorf(EInvalid, fmt.Sprintf("campaign %q is not a prio3 campaign", c.ID))
	}
	// The whole of this helper's policy, not the leader's: ε (a prio3
	// campaign's epsilon is its central_epsilon), k, epochs, name,
	// categories and special categories of data, as for a campaign
	// registered here.
	if err := s.checkPolicy(&c); err != nil {
		return err
	}
	tenant := m.Tenant
	if tenant == "" {
		tenant = s.tenant
	}
	err := s.store.AddCampaign(ctx, store.Campaign{ID: c.ID, Tenant: tenant, Config: m.Config, Signature: m.Signature, CreatedAt: s.now().UTC()})
	if errors.Is(err, store.ErrConflict) {
		have, ok := s.current(ctx).campaigns[c.ID]
		if !ok && s.reloadState(ctx) == nil {
			have, ok = s.state.Load().campaigns[c.ID]
		}
		if !ok || !bytes.Equal(have.signed.Config, m.Config) {
			return errorf(EConflict, fmt.Sprintf("campaign %q is registered here with another config", c.ID))
		}
	} else if err != nil {
		return err
	}
	if _, err := s.verifyKey(ctx, c.ID, m.VerifyKey); err != nil {
		return err
	}
	return s.reloadState(ctx)
}

// prio3Campaign finds a prio3 campaign for a peer request.
func (s *Server) prio3Campaign(ctx context.Context, id string) (*registered, error) {
	r, ok := s.current(ctx).campaigns[id]
	if !ok && s.reloadState(ctx) == nil {
		r, ok = s.state.Load().campaigns[id]
	}
	if !ok || !isPrio3(r) {
		return nil, errorf(ENotFound, fmt.Sprintf("no prio3 campaign %q here; the leader provisions it first", id))
	}
	return r, nil
}

// handlePrio3Aggregate prepares a job's reports (helper) and answers once
// the outcomes are stored.
func (s *Server) handlePrio3Aggregate(w http.ResponseWriter, req *http.Request) {
	body, err := readPeerBody(w, req)
	if err != nil {
		s.fail(w, err)
		return
	}
	job, err := decodePeer[prio3Job](body)
	if err != nil {
		s.fail(w, errorf(EInvalid, err.Error()))
		return
	}
	r, err := s.prio3Campaign(req.Context(), job.Campaign)
	if err != nil {
		s.fail(w, err)
		return
	}
	res, err := s.prepareJob(req.Context(), r, job)
	if errors.Is(err, errNotProvisioned) {
		s.fail(w, errorf(ENotFound, err.Error()))
		return
	} else if err != nil {
		s.problem(w, http.StatusServiceUnavailable, "store unavailable", err)
		return
	}
	s.writeCBOR(w, res)
}

// prepareJob runs the helper's side of a job.
func (s *Server) prepareJob(ctx context.Context, r *registered, job prio3Job) (prio3JobResult, error) {
	p, err := prio3Params(r)
	if err != nil {
		return prio3JobResult{}, err
	}
	ids := make([]store.ReportID, len(job.Reports))
	for i := range job.Reports {
		ids[i] = job.Reports[i].ID
	}
	results := make([]prio3PrepResult, len(job.Reports))
	if reason, _ := s.jobEpochRule(r, job.Epoch, s.now()); reason != "" { // nothing is stored: no batch to count it in
		for i := range results {
			results[i] = prio3PrepResult{ID: ids[i], Outcome: prepReject, Reason: string(reason)}
		}
		return prio3JobResult{Version: prio3PeerVersion, Results: results}, nil
	}
	known, err := s.store.Prio3Outcomes(ctx, r.ID, job.Epoch, ids)
	if err != nil {
		return prio3JobResult{}, err
	}
	snap := s.current(ctx)
	var where []int
	for i := range job.Reports {
		if o, ok := known[ids[i]]; ok { // a repeated job: the stored answer
			results[i] = resultOf(o, "")
		} else {
			where = append(where, i)
		}
	}
	refused, err := s.helperTokens(ctx, r, job, where)
	if err != nil {
		return prio3JobResult{}, err
	}
	outcomes := make([]store.Prio3Outcome, len(where))
	outs := make([]*prio.OutShare, len(where))
	err = inParallel(len(where), func() (*prio.Aggregator, error) {
		a, _, err := s.newPrio3Aggregator(ctx, r, prio.Helper)
		return a, err
	}, func(agg *prio.Aggregator, j int) {
		i := where[j]
		if refused[j].Reason != "" {
			outcomes[j] = store.Prio3Outcome{ID: job.Reports[i].ID, State: store.Prio3Rejected}
			results[i] = resultOf(outcomes[j], string(refused[j].Reason))
			return
		}
		var reason string
		outcomes[j], outs[j], reason = s.helperPrep(agg, snap, r, job.Epoch, &job.Reports[i])
		results[i] = resultOf(outcomes[j], reason)
	})
	if err != nil {
		return prio3JobResult{}, err
	}
	if len(outcomes) == 0 {
		return prio3JobResult{Version: prio3PeerVersion, Results: results}, nil
	}
	fresh, err := s.store.AggregatePrio3(ctx, r.ID, job.Epoch, outcomes, addOutShares(p, outs))
	if errors.Is(err, store.ErrCollected) {
		for _, i := range where {
			results[i] = prio3PrepResult{ID: ids[i], Outcome: prepReject, Reason: "batch_collected"}
		}
		return prio3JobResult{Version: prio3PeerVersion, Results: results}, nil
	} else if err != nil {
		return prio3JobResult{}, err
	}
	// Not fresh: prepared meanwhile by a concurrent job (its stored answer
	// holds), or the id is taken in another batch (a replay).
	var stale []store.ReportID
	for j, f := range fresh {
		if !f {
			stale = append(stale, ids[where[j]])
		}
	}
	if len(stale) > 0 {
		stored, err := s.store.Prio3Outcomes(ctx, r.ID, job.Epoch, stale)
		if err != nil {
			return prio3JobResult{}, err
		}
		for j, f := range fresh {
			if i := where[j]; !f {
				if o, ok := stored[ids[i]]; ok {
					results[i] = resultOf(o, "")
				} else {
					results[i] = prio3PrepResult{ID: ids[i], Outcome: prepReject, Reason: string(api.ReasonReplay)}
				}
			}
		}
	}
	return prio3JobResult{Version: prio3PeerVersion, Results: results}, nil
}

// helperReason is the reason a helper gave for rejecting a report, as the
// leader counts it: one of the known reasons (a helper's text never
// becomes a metric label of its own), else bad_answer.
func helperReason(reason string) api.Reason {
	if r := api.Reason(reason); r.IsValid() {
		return r
	}
	return api.ReasonBadAnswer
}

// helperTokens is the helper's own check of the report tokens of a job's
// new reports (job.Reports[where[j]]), as the leader made at ingest: it
// trusts the leader for none of it. refused[j].Reason is why report j is
// refused (missing, invalid, or a nonce another report holds here); it is
// then stored rejected, so counted by neither aggregator. An error (the
// issuer out of reach, the store) fails the job; the leader sends it again.
func (s *Server) helperTokens(ctx context.Context, r *registered, job prio3Job, where []int) ([]api.Result, error) {
	refused := make([]api.Result, len(where))
	if !r.RequiresTokens() {
		return refused, nil
	}
	verified := make([]*privpass.Token, len(where))
	for j, i := range where {
		var tok *sentToken
		if b := job.Reports[i].Token; b != nil {
			t, err := privpass.ParseToken(b)
			tok = &sentToken{token: t, err: err}
		}
		reason, _, err := s.checkToken(ctx, &r.Campaign, job.Epoch, tok)
		if err != nil {
			return nil, err
		}
		if refused[j].Reason = reason; reason == "" {
			verified[j] = &tok.token
		}
	}
	err := s.claimTokens(ctx, refused, verified, func(j int) (store.ReportID, string, uint32) {
		return job.Reports[where[j]].ID, r.ID, job.Epoch
	})
	return refused, err
}

// resultOf is the answer for a stored outcome.
func resultOf(o store.Prio3Outcome, reason string) prio3PrepResult {
	if o.State == store.Prio3Aggregated {
		return prio3PrepResult{ID: o.ID, Outcome: prepContinue, Message: o.Message}
	}
	if reason == "" {
		reason = "rejected"
	}
	return prio3PrepResult{ID: o.ID, Outcome: prepReject, Reason: reason}
}

// helperPrep opens and prepares one report at the helper. A report it
// cannot prepare is rejected, with the reason.
func (s *Server) helperPrep(agg *prio.Aggregator, snap *snapshot, r *registered, epoch uint32, jr *prio3JobReport) (store.Prio3Outcome, *prio.OutShare, string) {
	rejected := store.Prio3Outcome{ID: jr.ID, State: store.Prio3Rejected}
	key, ok := snap.keys[jr.Share.KeyID]
	if !ok || key.state == store.KeyExpired {
		return rejected, nil, string(api.ReasonUnknownKey)
	}
	share, err := key.pair.OpenShare(jr.Share, wire.ShareAAD(r.ID, epoch, jr.ID, prio.Helper, jr.Public))
	if err != nil {
		return rejected, nil, string(api.ReasonDecrypt)
	}
	nonce := prio.Nonce(jr.ID)
	st, prepShare, err := agg.PrepInit(nonce, jr.Public, share)
	if err != nil {
		return rejected, nil, string(api.ReasonBadAnswer)
	}
	msg, err := agg.PrepSharesToPrep(jr.LeaderPrep, prepShare)
	if err != nil {
		return rejected, nil, string(api.ReasonBadAnswer)
	}
	out, err := agg.PrepNext(st, msg)
	if err != nil {
		return rejected, nil, string(api.ReasonBadAnswer)
	}
	return store.Prio3Outcome{ID: jr.ID, State: store.Prio3Aggregated, Message: msg}, out, ""
}

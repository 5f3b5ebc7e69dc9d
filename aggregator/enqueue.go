package aggregator

import (
	"context"
	"errors"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/api"
)

// Queue is where a front end (Config.Queue set) puts the reports it
// accepts, for queue workers (IngestQueued) to open and store later: the
// request path then makes only the cheap checks on the clear envelope — no
// HPKE open, no store write. Package aggregator/queue implements it on a
// NATS JetStream stream.
type Queue interface {
	// Enqueue stores every report durably (replicated, as the queue is
	// configured) before it returns. duplicate[i] is true when the queue
	// already held a report with reports[i].ID (a device's resend). On an
	// error no report of the batch may be acknowledged; ErrQueueFull means
	// the queue's limits are reached.
	Enqueue(ctx context.Context, reports []Sealed) (duplicate []bool, err error)
}

// Sealed is a report as a front end enqueues it: the envelope as the
// device sent it, with the id and campaign read from its clear part, and
// when the front end accepted it (by its clock, which judged the epoch).
type Sealed struct {
	ID         [16]byte
	Campaign   string
	Envelope   []byte
	AcceptedAt time.Time
	// Token is the report token it came with, verified (nil: none): the
	// worker claims its nonce.
	Token []byte
}

// ErrQueueFull means the queue is at its limits (workers are behind):
// devices are answered 429 with Retry-After and send again later.
var ErrQueueFull = errors.New("aggregator: queue full")

// enqueue screens raw envelopes — and verifies their report tokens, the
// signature only: reuse is the worker's check, against its store — and
// enqueues the good ones: accepted means durably queued. It returns an
// error only when the queue (or a report-token issuer) failed, and then
// nothing is acknowledged.
func (s *Server) enqueue(ctx context.Context, raw []cbor.RawMessage, tokens []*sentToken) (api.IngestResponse, error) {
	now := s.now()
	resp := api.IngestResponse{Results: make([]api.Result, len(raw))}
	sealed := make([]Sealed, len(raw))
	campaigns := make([]store.Report, len(raw)) // only the campaign, for the per-campaign counts
	var issuer firstErr
	s.each(ctx, resp.Results, func(snap *snapshot, i int) {
		e, c, _, res := s.screen(snap, now, raw[i])
		sealed[i], resp.Results[i] = Sealed{ID: e.ID, Campaign: e.Campaign, Envelope: raw[i], AcceptedAt: now}, res
		campaigns[i].Campaign = e.Campaign
		if res.Reason != "" {
			return
		}
		reason, why, err := s.checkToken(ctx, &c.Campaign, e.Epoch, tokens[i])
		switch {
		case err != nil:
			issuer.set(err)
		case reason != "":
			resp.Results[i] = api.Result{ReportID: res.ReportID, Reason: reason, Detail: why.Error()}
		case c.RequiresTokens():
			sealed[i].Token = tokens[i].token.Marshal()
		}
	})
	if issuer.err != nil {
		return api.IngestResponse{}, issuer.err
	}
	// The queue's message-id dedup is a first filter: a duplicate is a
	// replay to the device, fresh ones are accepted (durably queued).
	err := commitOpened(ctx, s, &resp, sealed, func(ctx context.Context, good []Sealed) ([]bool, error) {
		dup, err := s.queue.Enqueue(ctx, good)
		fresh := make([]bool, len(dup))
		for i, d := range dup {
			fresh[i] = !d
		}
		return fresh, err
	})
	if err != nil {
		return api.IngestResponse{}, err
	}
	s.metrics.countCampaigns(s.state.Load(), campaigns, resp.Results)
	capDetails(&resp)
	return resp, nil
}

// ReleaseSettle is how long after an epoch's grace its result waits before
// release. Where reports wait in a queue, a release pass is safe only while
// the oldest waiting report was accepted less than this long ago.
const ReleaseSettle = settle

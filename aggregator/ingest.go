package aggregator

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/privpass"
	"github.com/wisp-project/wisp/internal/wire"
)

// handleReports ingests a batch: read the body within the size limit and
// its deadline, admit (or 429), decode, open every report in parallel,
// check each on its own, commit the good ones in one transaction, and only
// then answer 200 with a result per report. Nothing about the request
// (address, user agent, time) is stored.
//
// The body is read before a slot is taken: a client that trickles its
// body then holds a connection, not one of the few slots every batch
// needs, and is cut off (408) once it falls behind Admission.BodyMinRate.
func (s *Server) handleReports(w http.ResponseWriter, r *http.Request) {
	status := http.StatusOK
	defer func() {
		label := strconv.Itoa(status)
		if status == statusClientClosed {
			label = "client_closed"
		}
		s.metrics.batches.WithLabelValues(label).Inc()
	}()
	if err := requireContentType(r, "application/cbor"); err != nil {
		status = http.StatusUnsupportedMediaType
		s.fail(w, err)
		return
	}
	body, held, err := s.readBody(w, r)
	defer s.admit.giveBytes(held)
	if err != nil {
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			status = http.StatusRequestEntityTooLarge
			s.problem(w, status, "batch too large", fmt.Errorf("limit is %d bytes", s.maxBody))
		case errors.Is(err, errBodyBudget):
			status = http.StatusTooManyRequests
			s.metrics.overloaded.Inc()
			w.Header().Set("Retry-After", "1")
			s.problem(w, status, "ingest overloaded", errors.New("too many bytes of batches in flight; retry after the given seconds"))
		case errors.Is(err, os.ErrDeadlineExceeded):
			// A slow client, maybe an attack: log it (never its address).
			status = http.StatusRequestTimeout
			s.metrics.slowBodies.Inc()
			s.log.Warn("report batch body too slow: cut off", "read_bytes", len(body), "declared_bytes", r.ContentLength)
			w.Header().Set("Connection", "close")
			s.problem(w, status, "batch body too slow", fmt.Errorf("a batch body must arrive within %v plus its length at %d bytes/s", s.admit.bodyTimeout, s.admit.bodyMinRate))
		case r.Context().Err() != nil:
			status = statusClientClosed
		default:
			status = http.StatusBadRequest
			s.problem(w, status, "cannot read body", err)
		}
		return
	}
	release, err := s.admit.acquire(r.Context())
	if err != nil && r.Context().Err() != nil {
		status = statusClientClosed
		s.log.Info("client closed the connection while its batch waited for admission")
		return
	}
	if err != nil {
		status = http.StatusTooManyRequests
		s.metrics.overloaded.Inc()
		w.Header().Set("Retry-After", "1")
		s.problem(w, status, "ingest overloaded", errors.New("too many batches in flight; retry after the given seconds"))
		return
	}
	defer release()

	batch, err := decodeBatch(body)
	if err != nil {
		status = http.StatusBadRequest
		s.problem(w, status, "malformed batch", err)
		return
	}
	tokens := make([]*sentToken, len(batch.Reports))
	if tok := tokenOf(r); tok != nil {
		if len(tokens) != 1 {
			status = http.StatusBadRequest
			s.problem(w, status, "malformed batch", fmt.Errorf("a report token goes with an upload of one report, not %d", len(tokens)))
			return
		}
		tokens[0] = tok
	}
	ingest := s.ingest
	if s.queue != nil {
		ingest = s.enqueue // a front end: screen and queue (enqueue.go)
	}
	resp, err := ingest(r.Context(), batch.Reports, tokens)
	if err != nil && r.Context().Err() != nil {
		// The device hung up (or timed out) while its batch committed: not
		// a store failure. The commit may still succeed; the device's
		// resend then meets its reports as replays.
		status = statusClientClosed
		s.log.Info("client closed the connection during commit", "reports", len(batch.Reports))
		return
	}
	if errors.Is(err, ErrQueueFull) {
		status = http.StatusTooManyRequests
		s.metrics.overloaded.Inc()
		w.Header().Set("Retry-After", "5")
		s.problem(w, status, "ingest queue full", errors.New("workers are behind; retry after the given seconds"))
		return
	}
	if err != nil {
		// Nothing of this batch is acknowledged; the device retries.
		status = http.StatusServiceUnavailable
		title := "store unavailable"
		switch {
		case errors.Is(err, errIssuer):
			title = "report-token issuer unavailable"
		case s.queue != nil:
			title = "queue unavailable"
		}
		s.problem(w, status, title, err)
		return
	}
	// Compact: a 1,000-report answer is read by a device, not a person.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(resp)
}

// statusClientClosed marks a batch whose client went away before it was
// answered (nginx's 499); it is counted as "client_closed", never written.
const statusClientClosed = 499

// errBodyBudget: the bodies held at once already reach Admission.BodyBytes.
var errBodyBudget = errors.New("aggregator: body budget spent")

// readBody reads a batch body of at most s.maxBody bytes. The buffer grows
// as bytes arrive — a declared length is believed only as far as the
// bytes sent — and every byte of it is reserved from the body budget
// first; held is what the caller gives back when it is done with the
// body. Before each read the connection's read deadline is set to what
// Admission allows for the bytes so far, so a client that trickles is cut
// off with os.ErrDeadlineExceeded.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) (body []byte, held int64, err error) {
	const first, chunk = 8 << 10, 64 << 10
	rc := http.NewResponseController(w)
	deadlines := rc.SetReadDeadline(time.Now().Add(s.admit.bodyTimeout)) == nil
	if deadlines {
		defer rc.SetReadDeadline(time.Time{})
	}
	rd := http.MaxBytesReader(w, r.Body, s.maxBody)
	declared := r.ContentLength
	if declared > s.maxBody {
		_, err := rd.Read(make([]byte, 1)) // the limit's error, as MaxBytesReader words it
		if err == nil || err == io.EOF {
			err = &http.MaxBytesError{Limit: s.maxBody}
		}
		return nil, 0, err
	}
	start := time.Now()
	for {
		if declared >= 0 && int64(len(body)) == declared {
			return body, held, nil
		}
		if len(body) == cap(body) {
			grow := int64(max(first, min(2*cap(body), cap(body)+chunk)))
			if declared >= 0 {
				grow = min(grow, declared)
			} else {
				grow = min(grow, s.maxBody+1) // one more byte tells MaxBytesReader's limit
			}
			grow -= int64(cap(body))
			if grow <= 0 {
				grow = 1
			}
			if !s.admit.takeBytes(grow) {
				return body, held, errBodyBudget
			}
			held += grow
			body = append(body[:cap(body)], make([]byte, grow)...)[:len(body)]
		}
		if deadlines {
			rc.SetReadDeadline(s.admit.bodyDeadline(start, int64(len(body)), int64(cap(body)-len(body))))
		}
		n, err := rd.Read(body[len(body):cap(body)])
		body = body[:len(body)+n]
		switch {
		case declared >= 0 && int64(len(body)) == declared:
			return body, held, nil
		case err == io.EOF && declared < 0:
			return body, held, nil
		case err == io.EOF:
			return body, held, io.ErrUnexpectedEOF
		case err != nil:
			return body, held, err
		}
	}
}

// ingest opens, checks and stores raw envelopes, tokens[i] the report
// token raw[i] came with (nil: none). It returns an error only when the
// store (or a report-token issuer) failed, and then nothing is
// acknowledged.
func (s *Server) ingest(ctx context.Context, raw []cbor.RawMessage, tokens []*sentToken) (api.IngestResponse, error) {
	if prio3 := prio3Indexes(raw); prio3 != nil {
		return s.ingestMixed(ctx, raw, tokens, prio3) // prio3_ingest.go
	}
	return s.ingestAt(ctx, raw, tokens, nil)
}

// ingestAt is ingest of LDP envelopes with at[i] the time raw[i] was
// accepted: a queue worker's reports were accepted by a front end earlier
// and are judged by the epoch rules as of then. nil means now.
func (s *Server) ingestAt(ctx context.Context, raw []cbor.RawMessage, tokens []*sentToken, at []time.Time) (api.IngestResponse, error) {
	start := time.Now()
	now := s.now()
	resp := api.IngestResponse{Results: make([]api.Result, len(raw))}
	reports := make([]store.Report, len(raw))
	verified := make([]*privpass.Token, len(raw))
	var issuer firstErr
	s.each(ctx, resp.Results, func(snap *snapshot, i int) {
		when := now
		if at != nil {
			when = at[i]
		}
		var err error
		reports[i], resp.Results[i], verified[i], err = s.open(ctx, snap, when, raw[i], tokens[i])
		if err != nil {
			issuer.set(err)
		}
	})
	s.metrics.openSecs.Observe(time.Since(start).Seconds())
	if issuer.err != nil {
		return api.IngestResponse{}, issuer.err
	}
	if err := s.claimTokens(ctx, resp.Results, verified, func(i int) (store.ReportID, string, uint32) {
		return reports[i].ID, reports[i].Campaign, reports[i].Epoch
	}); err != nil {
		return api.IngestResponse{}, err
	}

	if err := commitOpened(ctx, s, &resp, reports, s.commits.insert); err != nil {
		return api.IngestResponse{}, err
	}
	s.metrics.countCampaigns(s.state.Load(), reports, resp.Results)
	capDetails(&resp)
	return resp, nil
}

// commitOpened stores the reports whose result has no reason yet in one
// transaction (insert), marks the fresh ones accepted and the others
// replays, and counts the batch's results. Nothing is acknowledged if
// insert fails.
func commitOpened[R any](ctx context.Context, s *Server, resp *api.IngestResponse, reports []R, insert func(context.Context, []R) ([]bool, error)) error {
	opened := make([]R, 0, len(reports))
	where := make([]int, 0, len(reports))
	for i := range resp.Results {
		if resp.Results[i].Reason == "" {
			opened = append(opened, reports[i])
			where = append(where, i)
		}
	}
	if len(opened) > 0 {
		fresh, err := insert(ctx, opened)
		if err != nil {
			return err
		}
		for j, i := range where {
			if fresh[j] {
				resp.Results[i].Accepted = true
			} else {
				resp.Results[i].Reason = api.ReasonReplay
			}
		}
	}
	for _, res := range resp.Results {
		if res.Accepted {
			resp.Accepted++
		} else {
			resp.Rejected++
			s.metrics.rejected.WithLabelValues(string(res.Reason)).Inc()
		}
	}
	s.metrics.accepted.Add(float64(resp.Accepted))
	return nil
}

// Queued is a sealed report a front end accepted into a queue, and when,
// with the report token it came with (nil: none), encoded.
type Queued struct {
	Envelope   []byte
	AcceptedAt time.Time
	Token      []byte
}

// IngestQueued is a queue worker's step: the same open, validation, replay
// check and commit as POST /v1/reports, each report's epoch judged as of
// when the front end accepted it. It returns how many reports were stored
// now (replays and rejected reports are not) and an error only when the
// store failed; then the batch must be delivered again.
func (s *Server) IngestQueued(ctx context.Context, reports []Queued) (stored int, err error) {
	raw := make([]cbor.RawMessage, len(reports))
	at := make([]time.Time, len(reports))
	tokens := make([]*sentToken, len(reports))
	for i, q := range reports {
		raw[i], at[i] = q.Envelope, q.AcceptedAt
		if q.Token != nil {
			t, err := privpass.ParseToken(q.Token)
			tokens[i] = &sentToken{token: t, err: err}
		}
	}
	resp, err := s.ingestAt(ctx, raw, tokens, at)
	return resp.Accepted, err
}

// openChunk is how many reports one worker takes at a time.
const openChunk = 32

// each calls fn(snap, i) for every report of a batch, on all cores (HPKE
// Open is the ingest bound); fn sets results[i]. Reports naming a key or
// campaign another node just added are done once more after a reload.
func (s *Server) each(ctx context.Context, results []api.Result, fn func(snap *snapshot, i int)) {
	s.parallel(s.current(ctx), len(results), nil, fn)
	var retry []int
	for i, res := range results {
		if res.Reason == api.ReasonUnknownCampaign || res.Reason == api.ReasonUnknownKey {
			retry = append(retry, i)
		}
	}
	if len(retry) > 0 && s.reloadAfter(ctx, time.Now()) {
		s.parallel(s.state.Load(), len(retry), retry, fn)
	}
}

// parallel calls fn for every i in only (every i < n if only is nil).
func (s *Server) parallel(snap *snapshot, n int, only []int, fn func(snap *snapshot, i int)) {
	index := func(j int) int {
		if only != nil {
			return only[j]
		}
		return j
	}
	inParallel(n, noWorker, func(_ struct{}, j int) { fn(snap, index(j)) })
}

// open checks and decrypts one report; verified is its report token when
// its campaign takes them (and it verified), to be claimed. An error means
// the token could not be checked (errIssuer).
func (s *Server) open(ctx context.Context, snap *snapshot, now time.Time, raw []byte, tok *sentToken) (_ store.Report, _ api.Result, verified *privpass.Token, _ error) {
	e, c, key, res := s.screen(snap, now, raw)
	rejected := store.Report{Campaign: e.Campaign} // for the per-campaign counts, even of a rejected report
	if res.Reason != "" {
		return rejected, res, nil, nil
	}
	reject := func(reason api.Reason, err error) (store.Report, api.Result, *privpass.Token, error) {
		return rejected, api.Result{ReportID: res.ReportID, Reason: reason, Detail: err.Error()}, nil, nil
	}
	reason, why, err := s.checkToken(ctx, &c.Campaign, e.Epoch, tok)
	switch {
	case err != nil:
		return rejected, res, nil, err
	case reason != "":
		return reject(reason, why)
	case c.RequiresTokens():
		verified = &tok.token
	}
	p, err := key.pair.Open(&e)
	switch {
	case errors.Is(err, wire.ErrDecrypt):
		return reject(api.ReasonDecrypt, err)
	case err != nil:
		return reject(api.ReasonMalformed, err)
	}
	if err := c.codec.CheckAnswer(p.Mechanism, p.Answer); err != nil {
		return reject(api.ReasonBadAnswer, err)
	}
	rep := store.Report{ID: e.ID, Campaign: e.Campaign, Epoch: e.Epoch, Mechanism: p.Mechanism, Answer: p.Answer}
	return rep, res, verified, nil
}

// screen decodes and routes one report and makes the cheap checks on its
// clear envelope — version, campaign, epoch window, key — that come before
// the decryption they can save (and are all a queue front end does).
func (s *Server) screen(snap *snapshot, now time.Time, raw []byte) (wire.Envelope, *registered, keyEntry, api.Result) {
	reject := func(reason api.Reason, err error) api.Result {
		return api.Result{Reason: reason, Detail: err.Error()}
	}
	e, err := wire.DecodeEnvelope(raw)
	if errors.Is(err, wire.ErrVersion) {
		return e, nil, keyEntry{}, reject(api.ReasonVersion, err)
	} else if err != nil {
		return e, nil, keyEntry{}, reject(api.ReasonMalformed, err)
	}
	id := hex.EncodeToString(e.ID[:])
	withID := func(res api.Result) (wire.Envelope, *registered, keyEntry, api.Result) {
		res.ReportID = id
		return e, nil, keyEntry{}, res
	}
	c, ok := snap.campaigns[e.Campaign]
	if !ok {
		return withID(reject(api.ReasonUnknownCampaign, fmt.Errorf("campaign %q", e.Campaign)))
	}
	if reason, err := s.epochRule(&c.Campaign, e.Epoch, now); reason != "" {
		return withID(reject(reason, err))
	}
	if err := c.acceptsEpoch(e.Epoch); err != nil {
		return withID(reject(api.ReasonCampaignPaused, err))
	}
	if err := checkSize(&c.Campaign, &e); err != nil {
		return withID(reject(api.ReasonReportSize, err))
	}
	key, ok := snap.keys[e.KeyID]
	switch {
	case !ok:
		return withID(reject(api.ReasonUnknownKey, fmt.Errorf("key id %d", e.KeyID)))
	case key.state == store.KeyExpired:
		return withID(reject(api.ReasonKeyExpired, fmt.Errorf("key id %d was rotated out; fetch /v1/hpke-config and report again", e.KeyID)))
	}
	return e, c, key, api.Result{ReportID: id}
}

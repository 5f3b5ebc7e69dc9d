package host

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wisp-project/wisp/host/internal/devicestore"
	"github.com/wisp-project/wisp/internal/api"
)

// QueuedReport is a report waiting in the outbox, as the owner sees it:
// which campaign, how big, when it may leave. Its content is sealed to the
// aggregator; the device cannot read it back.
type QueuedReport struct {
	Campaign    string    `json:"campaign"`
	Epoch       uint32    `json:"epoch"`
	Size        int       `json:"size_bytes"`
	Dummy       bool      `json:"dummy,omitempty"`
	Created     time.Time `json:"created"`
	NextAttempt time.Time `json:"next_attempt"`
	Expires     time.Time `json:"expires"`
	Attempts    int       `json:"attempts"`
}

// Outcome is what became of a report in the sent log: OutcomeAccepted,
// OutcomeDuplicate (the aggregator already had it: a resend after a
// crash), OutcomeDummy, OutcomeRejected (with the aggregator's Reason) or,
// for a report that never left, OutcomeDropped (with its DropCause).
type Outcome = devicestore.Outcome

// DropCause is why a report was dropped before it left the device.
type DropCause = devicestore.DropCause

// Outcomes.
const (
	OutcomeAccepted  = devicestore.OutcomeAccepted
	OutcomeDuplicate = devicestore.OutcomeDuplicate
	OutcomeDummy     = devicestore.OutcomeDummy
	OutcomeRejected  = devicestore.OutcomeRejected
	OutcomeDropped   = devicestore.OutcomeDropped
)

// Drop causes.
const (
	DropConsentRevoked = devicestore.DropConsentRevoked
	DropPluginErased   = devicestore.DropPluginErased
	DropExpired        = devicestore.DropExpired
	DropForgotten      = devicestore.DropForgotten
	DropCorrupt        = devicestore.DropCorrupt
)

// SentReport is one entry of the log of reports that left the device (or
// were dropped before leaving): size, time, campaign, outcome — never the
// content.
//
// In JSON, "outcome" is the text OutcomeText returns ("accepted",
// "rejected:bad_answer", "dropped:expired", …), as before the outcome was
// typed; "reason" and "cause" repeat a rejection's reason and a drop's
// cause on their own.
type SentReport struct {
	Campaign string
	Epoch    uint32
	Size     int
	Dummy    bool
	At       time.Time
	Outcome  Outcome
	// Reason is why the aggregator rejected the report (OutcomeRejected
	// only).
	Reason Reason
	// Cause is why the report never left (OutcomeDropped only).
	Cause DropCause
	Left  bool
}

// OutcomeText is the outcome as the owner reads it and the device logs
// it: "accepted", "duplicate", "dummy", "rejected:<reason>" or
// "dropped:<cause>".
func (r SentReport) OutcomeText() string {
	return devicestore.FormatOutcome(r.Outcome, r.Reason, r.Cause)
}

// sentReportJSON is SentReport's JSON shape.
type sentReportJSON struct {
	Campaign string    `json:"campaign"`
	Epoch    uint32    `json:"epoch"`
	Size     int       `json:"size_bytes"`
	Dummy    bool      `json:"dummy,omitempty"`
	At       time.Time `json:"at"`
	Outcome  string    `json:"outcome"`
	Reason   Reason    `json:"reason,omitempty"`
	Cause    DropCause `json:"cause,omitempty"`
	Left     bool      `json:"left"`
}

// MarshalJSON writes the outcome as OutcomeText.
func (r SentReport) MarshalJSON() ([]byte, error) {
	return json.Marshal(sentReportJSON{Campaign: r.Campaign, Epoch: r.Epoch, Size: r.Size, Dummy: r.Dummy, At: r.At,
		Outcome: r.OutcomeText(), Reason: r.Reason, Cause: r.Cause, Left: r.Left})
}

// UnmarshalJSON reads what MarshalJSON writes; the outcome text decides
// the outcome, reason and cause.
func (r *SentReport) UnmarshalJSON(b []byte) error {
	var j sentReportJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	o, reason, cause, err := devicestore.ParseOutcome(j.Outcome)
	if err != nil {
		return fmt.Errorf("host: sent report: %w", err)
	}
	*r = SentReport{Campaign: j.Campaign, Epoch: j.Epoch, Size: j.Size, Dummy: j.Dummy, At: j.At,
		Outcome: o, Reason: reason, Cause: cause, Left: j.Left}
	return nil
}

// flush sends due reports, each in a request of its own: one request never
// carries two of this device's reports, so the aggregator (or anyone on
// the path) cannot link them by the request they came in. The timing
// would link them as surely, so a pass sends only the report due first;
// any other report due in the same pass gets a new time of its own,
// drawn like its send delay (spread), and leaves at a later pass. Flush
// (ignoreDelay), and a device configured without a send delay, send every
// due report now, one request each, back to back.
//
// The egress lock is held from claim to settle, so a revocation either
// happens before a report is claimed (and the claim skips it) or waits
// until its upload is over.
func (d *Device) flush(ctx context.Context, now time.Time, ignoreDelay bool, sum *RunSummary) error {
	if err := d.store.Expire(ctx, now); err != nil {
		return err
	}
	if d.client == nil {
		return nil
	}
	d.egress.Lock()
	defer d.egress.Unlock()
	if paused, _, err := d.sharingPaused(ctx); err != nil || paused {
		return err // checked under the egress lock, so PauseSharing is at once
	}
	spread := !ignoreDelay && d.cfg.maxSendDelay > 0
	// done are the outcomes of the last upload, settled in the transaction
	// that claims the next report.
	var done []devicestore.Sent
	for {
		one, err := d.store.SettleAndClaim(ctx, done, now, 1, ignoreDelay)
		if err != nil || len(one) == 0 {
			return err
		}
		if err := d.step("after-claim"); err != nil {
			return err
		}
		if done, err = d.upload(ctx, one, now, sum); err != nil {
			err = errors.Join(err, d.store.Settle(ctx, done))
			var busy *BusyError
			if errors.As(err, &busy) && busy.RetryAfter > 0 {
				// The aggregator asked this device to come back later:
				// that holds for its other reports too.
				err = errors.Join(err, d.spread(ctx, now, now.Add(busy.RetryAfter)))
			}
			return err
		}
		if spread {
			if err := d.store.Settle(ctx, done); err != nil {
				return err
			}
			return d.spread(ctx, now, now)
		}
	}
}

// spread gives every report due at now a new next attempt of its own,
// from plus a uniform draw from the send delay, at most half the time
// its validity has left (like the first delay, leaving the rest for
// retries).
func (d *Device) spread(ctx context.Context, now, from time.Time) error {
	due, err := d.store.Due(ctx, now)
	if err != nil || len(due) == 0 {
		return err
	}
	ids := make([][16]byte, len(due))
	next := make([]time.Time, len(due))
	for i, r := range due {
		delay, err := d.uniform(d.cfg.maxSendDelay)
		if err != nil {
			return err
		}
		if left := r.Expires.Sub(from) / 2; delay > left {
			delay = max(left, 0)
		}
		ids[i], next[i] = r.ID, from.Add(delay)
	}
	return d.store.Release(ctx, ids, next)
}

// upload sends batch and returns the outcomes to settle: the caller
// settles them (flush, with its next claim), also when upload fails after
// the aggregator answered. Reports to retry are released here.
func (d *Device) upload(ctx context.Context, batch []devicestore.Report, now time.Time, sum *RunSummary) ([]devicestore.Sent, error) {
	envs := make([][]byte, 0, len(batch))
	good := batch[:0:0]
	done := make([]devicestore.Sent, 0, len(batch))
	for _, r := range batch {
		// The stored bytes are sent as they are; the check only keeps a
		// record the disk corrupted from leaving.
		if err := checkStored(r.Envelope); err != nil {
			done = append(done, devicestore.Sent{ID: r.ID, Campaign: r.Campaign, Epoch: r.Epoch, Size: len(r.Envelope), Dummy: r.Dummy, At: now,
				Outcome: OutcomeDropped, Cause: DropCorrupt})
			continue
		}
		envs, good = append(envs, r.Envelope), append(good, r)
	}
	if len(good) == 0 {
		return done, nil
	}
	batch = good
	authorization := ""
	if len(batch) == 1 { // the outbox sends one report per request (flush)
		var err error
		if authorization, err = d.reportToken(ctx, &batch[0], now); err != nil {
			// The issuer is out of reach: the report stays queued, its
			// charge already made, and is tried again with backoff. The
			// aggregator may be up: the pass goes on with other reports.
			sum.Deferred++
			return done, d.retryLater(ctx, batch, now)
		}
	}
	resp, err := d.client.uploadEncoded(ctx, envs, authorization)
	if err != nil {
		sum.Deferred += len(batch)
		var busy *BusyError
		if errors.As(err, &busy) {
			now = now.Add(busy.RetryAfter) // honour the aggregator's Retry-After, then back off as usual
		}
		if rerr := d.retryLater(ctx, batch, now); rerr != nil {
			return done, rerr
		}
		return done, fmt.Errorf("host: upload deferred: %w", err)
	}
	if err := d.step("after-upload"); err != nil {
		return done, err
	}
	corrupt := len(done) // the outcomes so far are of corrupt records
	var again []devicestore.Report
	for i, r := range batch {
		res := resp.Results[i]
		if res.ReportID != "" && res.ReportID != hex.EncodeToString(r.ID[:]) {
			// A confused aggregator: keep the batch for a later try.
			return done[:corrupt], errors.Join(fmt.Errorf("host: upload: result %d is for report %s", i, res.ReportID), d.retryLater(ctx, batch, now))
		}
		if retryable(res) && now.Before(r.Expires) {
			// Not final: the node that answered has not loaded a campaign
			// another node just created. Try again with backoff until the
			// report's validity ends; then the outbox drops it as expired.
			again = append(again, r)
			sum.Deferred++
			continue
		}
		outcome, reason := outcomeOf(res, r.Dummy)
		switch outcome {
		case OutcomeAccepted, OutcomeDuplicate, OutcomeDummy:
			sum.Sent++
		default:
			sum.Rejected++
		}
		done = append(done, devicestore.Sent{ID: r.ID, Campaign: r.Campaign, Epoch: r.Epoch, Size: len(r.Envelope), Dummy: r.Dummy, At: now,
			Outcome: outcome, Reason: reason})
	}
	if err := d.retryLater(ctx, again, now); err != nil {
		return done, err
	}
	for i := range resp.Results {
		switch resp.Results[i].Reason {
		case api.ReasonUnknownKey, api.ReasonKeyExpired, api.ReasonUnknownCampaign:
			// The aggregator rotated its key or changed its campaigns:
			// refresh at the next pass rather than in hours.
			return done, d.store.SetMeta(ctx, metaSyncedAt, []byte("0"))
		}
	}
	return done, nil
}

// retryable reports whether a rejection may go away by itself, so the
// report is kept and sent again rather than settled: unknown_campaign,
// which a node answers for a campaign created on another node that it
// has not loaded yet.
func retryable(res api.Result) bool {
	return !res.Accepted && res.Reason == api.ReasonUnknownCampaign
}

// outcomeOf names an aggregator's verdict on one report, and for a
// rejection its reason. A replay means the aggregator already stored this
// very report (same id, same bytes), which only happens when a crash left
// an upload in doubt: delivered.
func outcomeOf(res api.Result, dummy bool) (Outcome, Reason) {
	switch {
	case res.Accepted:
		return OutcomeAccepted, ""
	case res.Reason == api.ReasonReplay:
		return OutcomeDuplicate, ""
	case dummy && res.Reason == api.ReasonBadAnswer:
		return OutcomeDummy, ""
	}
	return OutcomeRejected, res.Reason
}

// retryLater puts a failed batch back with exponential backoff and
// jitter: attempt n waits a random time in [b/2, b), b = base·2^(n-1)
// capped at max, so devices that failed together do not retry together.
func (d *Device) retryLater(ctx context.Context, batch []devicestore.Report, now time.Time) error {
	ids := make([][16]byte, len(batch))
	next := make([]time.Time, len(batch))
	for i, r := range batch {
		b := d.cfg.backoffBase << min(r.Attempts-1, 30)
		if b <= 0 || b > d.cfg.backoffMax {
			b = d.cfg.backoffMax
		}
		j, err := d.uniform(b / 2)
		if err != nil {
			return err
		}
		ids[i], next[i] = r.ID, now.Add(b/2+j)
	}
	return d.store.Release(ctx, ids, next)
}

// Outbox lists the reports waiting to leave, oldest first.
func (d *Device) Outbox(ctx context.Context) ([]QueuedReport, error) {
	if !d.gate.enter() {
		return nil, ErrDeviceClosed
	}
	defer d.gate.leave()
	rows, err := d.store.Queued(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]QueuedReport, 0, len(rows))
	for _, r := range rows {
		out = append(out, QueuedReport{Campaign: r.Campaign, Epoch: r.Epoch, Size: len(r.Envelope), Dummy: r.Dummy,
			Created: r.Created, NextAttempt: r.NextAttempt, Expires: r.Expires, Attempts: r.Attempts})
	}
	return out, nil
}

// SentLog returns the log of reports that left the device or were dropped,
// newest first, at most limit entries (0: all).
func (d *Device) SentLog(ctx context.Context, limit int) ([]SentReport, error) {
	if !d.gate.enter() {
		return nil, ErrDeviceClosed
	}
	defer d.gate.leave()
	rows, err := d.store.Egress(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]SentReport, 0, len(rows))
	for _, r := range rows {
		out = append(out, SentReport{Campaign: r.Campaign, Epoch: r.Epoch, Size: r.Size, Dummy: r.Dummy, At: r.At,
			Outcome: r.Outcome, Reason: r.Reason, Cause: r.Cause, Left: r.Left()})
	}
	return out, nil
}

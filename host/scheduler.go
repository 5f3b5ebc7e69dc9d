package host

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wisp-project/wisp/host/internal/answer"
	"github.com/wisp-project/wisp/host/internal/devicestore"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/ldp"
	"github.com/wisp-project/wisp/internal/wire"
)

// RunSummary is what one scheduler pass did.
type RunSummary struct {
	EventsExpired int `json:"events_expired"` // deleted by retention
	PluginsScored int `json:"plugins_scored"`
	Answered      int `json:"answered"`  // campaigns answered (reports queued)
	Dummies       int `json:"dummies"`   // dummy reports queued
	Sent          int `json:"sent"`      // reports the aggregator acknowledged
	Rejected      int `json:"rejected"`  // reports the aggregator refused for good
	Deferred      int `json:"deferred"`  // uploads that failed and will be retried
	Remaining     int `json:"remaining"` // reports still queued
}

// Run runs a scheduler pass every interval until ctx is done, and returns
// ctx's error. Errors of a pass (an unreachable aggregator, a failing
// plugin) are reported to onErr if it is not nil and do not stop the loop.
func (d *Device) Run(ctx context.Context, every time.Duration, onErr func(error)) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := d.RunOnce(ctx); err != nil && onErr != nil && ctx.Err() == nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// RunOnce runs one scheduler pass: enforce retention, score plugins that
// have new events, refresh campaigns from the aggregator when due, answer
// every consented campaign not yet answered this epoch, and send the
// reports whose time has come. Every step runs even if an earlier one
// failed (scoring does not need the network); the first error is returned
// with the summary.
func (d *Device) RunOnce(ctx context.Context) (RunSummary, error) {
	return d.runOnce(ctx, false)
}

// Flush is RunOnce that also sends queued reports still inside their
// random send delay (backoff after failures still applies). It is for
// trying Wisp out and for tests; a shipped device should let the delay do
// its work.
func (d *Device) Flush(ctx context.Context) (RunSummary, error) {
	return d.runOnce(ctx, true)
}

func (d *Device) runOnce(ctx context.Context, ignoreDelay bool) (RunSummary, error) {
	var sum RunSummary
	if !d.gate.enter() {
		return sum, ErrDeviceClosed
	}
	defer d.gate.leave()
	var errs []error
	d.run.Lock()
	now := d.now()
	n, err := d.store.Retain(ctx, now)
	sum.EventsExpired = n
	errs = append(errs, err)
	sum.PluginsScored, err = d.scorePlugins(ctx, now)
	errs = append(errs, err)
	errs = append(errs, d.sync(ctx, now, false))
	sum.Answered, sum.Dummies, err = d.answer(ctx, now)
	errs = append(errs, err)
	d.run.Unlock()
	if !ignoreDelay {
		errs = append(errs, d.prefetchTokens(ctx, now))
	}
	if err := d.flush(ctx, d.now(), ignoreDelay, &sum); err != nil {
		errs = append(errs, err)
	}
	if q, err := d.store.Queued(ctx); err == nil {
		sum.Remaining = len(q)
	}
	for _, err := range errs {
		if err != nil {
			return sum, err
		}
	}
	return sum, nil
}

// answer answers every consented campaign once per epoch, in fairOrder;
// a campaign the owner agreed to under another question (questionDigest)
// is not answered until the owner agrees again.
func (d *Device) answer(ctx context.Context, now time.Time) (answered, dummies int, err error) {
	if paused, _, err := d.sharingPaused(ctx); err != nil || paused {
		return 0, 0, err // nothing is answered (or spent) while sharing is paused
	}
	list, err := d.campaigns(ctx)
	if err != nil || len(list) == 0 {
		return 0, 0, err
	}
	key, ok, err := d.keyConfig(ctx)
	if err != nil || !ok {
		return 0, 0, err
	}
	consents, err := d.store.Consents(ctx)
	if err != nil {
		return 0, 0, err
	}
	agreed, err := d.store.CampaignConsents(ctx)
	if err != nil {
		return 0, 0, err
	}
	scores, err := d.localScores(ctx, now)
	if err != nil {
		return 0, 0, err
	}
	covered, err := d.coveredCategories(ctx, consents)
	if err != nil {
		return 0, 0, err
	}
	if list, err = d.fairOrder(ctx, list); err != nil {
		return 0, 0, err
	}
	var first error
	for i := range list {
		c := &list[i]
		if !agreedTo(agreed, c) || !c.IsPrio3() && !coversQuestion(covered, c.Question) {
			continue // not opted in (to this question), or no consented plugin can tell (prio3: a null report)
		}
		if !d.takesTokens(&c.Campaign) {
			continue // requires report tokens and the device has no credential: its report would be refused
		}
		dummy, err := d.answerOne(ctx, &c.Campaign, key, scores, now)
		switch {
		case overBudget(err) && keepsItsTurn(err):
			return answered, dummies, first // the budget frees up for c first
		case errors.Is(err, errAnswered) || overBudget(err) || errors.Is(err, ErrNoConsent):
			continue // answered this epoch, never affordable, or revoked meanwhile
		case err != nil:
			if first == nil {
				first = err
			}
			continue
		}
		answered++
		if dummy {
			dummies++
		}
	}
	return answered, dummies, first
}

// coveredCategories are the categories some consented, running plugin
// declares: a campaign about anything else is not answered, since the
// device has no evidence either way.
func (d *Device) coveredCategories(ctx context.Context, consents map[string]bool) (map[uint32]bool, error) {
	out := map[uint32]bool{}
	d.mu.RLock()
	defer d.mu.RUnlock()
	for name, p := range d.plugins {
		if !consents[PluginPurpose(name).String()] {
			continue
		}
		for _, c := range p.Manifest().Categories {
			out[c] = true
		}
	}
	return out, nil
}

// coversQuestion reports whether some consented plugin scores what q asks
// about: its category, or for a top_k question any of its categories (a
// category no plugin scores is simply not among the device's top ones).
func coversQuestion(covered map[uint32]bool, q campaign.Question) bool {
	if q.Type == campaign.QuestionTopK {
		for _, id := range q.Categories {
			if covered[id] {
				return true
			}
		}
		return false
	}
	return covered[q.Category]
}

// answerOne spends, randomizes (memoized), seals and queues one answer.
// The order is the privacy contract: the ledger entry is durable before
// the report exists, so a crash can lose a report but never over-spend or
// answer an epoch twice.
func (d *Device) answerOne(ctx context.Context, c *Campaign, key KeyConfig, scores map[uint32]float32, now time.Time) (dummy bool, err error) {
	epoch := c.Epoch(now)
	if done, err := d.answeredEpoch(ctx, c.ID, epoch, c.Epsilon); err != nil || done {
		if done {
			return false, errAnswered
		}
		return false, err
	}
	// The memo key before the spend: the long-term caps charge a memo
	// once (package answer). A prio3 report has none: each is a fresh
	// central-DP release, charged in full (zero key) before it is sharded.
	var codec *campaign.Codec
	var truth campaign.Truth
	var memoKey ldp.MemoKey
	if !c.IsPrio3() {
		if codec, err = c.Codec(); err != nil {
			return false, err
		}
		if truth, memoKey, err = answer.Key(ctx, d.ledger, codec, scores, ldp.NewCryptoRand(), false); err != nil {
			return false, err
		}
	}
	if err := d.spend(ctx, c, epoch, memoKey); err != nil {
		return false, err
	}
	if err := d.step("after-spend"); err != nil {
		return false, err
	}
	if c.IsPrio3() {
		return false, d.answerPrio3(ctx, c, key, epoch, scores, now) // prio3.go
	}
	ans, _, err := answer.Draw(ctx, d.ledger, codec, truth, memoKey, ldp.NewCryptoRand())
	if err != nil {
		return false, err
	}
	rep := Reporter{Key: key, Entropy: entropyReader{d}}
	env, err := rep.seal(c, epoch, wire.Payload{Mechanism: codec.Mechanism(), Answer: ans})
	if err != nil {
		return false, err
	}
	if err := d.enqueue(ctx, c, env, false, now); err != nil {
		return false, err
	}
	if err := d.step("after-enqueue"); err != nil {
		return false, err
	}
	// No dummies where reports need tokens: the device has one token per
	// epoch, and a dummy without one would be refused unopened
	// (report_token_missing), telling the aggregator it is a dummy.
	if d.cfg.dummyRate > 0 && !c.RequiresTokens() {
		if u, err := d.uniform(1 << 30); err == nil && float64(u)/(1<<30) < d.cfg.dummyRate {
			// A dummy's payload names no mechanism: the aggregator opens
			// it, finds no answer and discards it.
			env, err := rep.seal(c, epoch, wire.Payload{Mechanism: 0, Answer: []byte{0}})
			if err == nil && d.enqueue(ctx, c, env, true, now) == nil {
				dummy = true
			}
		}
	}
	return dummy, nil
}

func (d *Device) enqueue(ctx context.Context, c *Campaign, env Envelope, dummy bool, now time.Time) error {
	b, err := wire.Marshal(&env)
	if err != nil {
		return err
	}
	return d.enqueueBytes(ctx, c, env.ID, env.Epoch, b, dummy, now)
}

// enqueueBytes queues an encoded report (an LDP envelope or a Prio3
// report) with a random send delay; the outbox sends the bytes as they are.
func (d *Device) enqueueBytes(ctx context.Context, c *Campaign, id wire.ReportID, epoch uint32, b []byte, dummy bool, now time.Time) error {
	delay, err := d.uniform(d.cfg.maxSendDelay)
	if err != nil {
		return err
	}
	expires := time.Unix(int64(epoch+1)*c.EpochSeconds, 0).Add(d.cfg.reportValidity)
	// The delay may use at most half of the time left, leaving the rest
	// for retries.
	if left := expires.Sub(now) / 2; delay > left {
		delay = max(left, 0)
	}
	category := c.Question.Category
	if c.Question.Type == campaign.QuestionTopK {
		category = devicestore.AnyCategory // dropped when any plugin is revoked or erased
	}
	r := devicestore.Report{
		ID: id, Campaign: c.ID, Epoch: epoch, Category: category, Envelope: b, Dummy: dummy,
		Created: now, NotBefore: now.Add(delay), Expires: expires,
	}
	if err := d.store.Enqueue(ctx, r, c.Epsilon); err != nil {
		if errors.Is(err, devicestore.ErrRevoked) {
			return fmt.Errorf("%w: campaign %q", ErrNoConsent, c.ID)
		}
		return err
	}
	return nil
}

// errAnswered: the campaign was already answered this epoch.
var errAnswered = errors.New("host: already answered this epoch")

// entropyReader reads the device's configured entropy.
type entropyReader struct{ d *Device }

func (r entropyReader) Read(b []byte) (int, error) {
	if err := r.d.readEntropy(b); err != nil {
		return 0, err
	}
	return len(b), nil
}

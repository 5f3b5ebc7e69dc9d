package aggregator

import (
	"fmt"
	"time"

	"github.com/wisp-project/wisp/internal/api"
)

// Epoch rules. A report for epoch e is accepted from ClockSkew before e
// starts until Grace after it ends; then the epoch is closed. A closed
// epoch's result may be released once a further settle time has passed, so
// that a batch admitted just before the close has committed (and nodes'
// clocks may differ a little) — a released result then never misses an
// acknowledged report, and never changes.
const settle = 2 * time.Minute

func epochBounds(c *Campaign, epoch uint32) (start, end time.Time) {
	start = time.Unix(int64(epoch)*c.EpochSeconds, 0)
	return start, start.Add(time.Duration(c.EpochSeconds) * time.Second)
}

// epochRule returns the reason a report for epoch is not accepted now, or "".
func (s *Server) epochRule(c *Campaign, epoch uint32, now time.Time) (api.Reason, error) {
	start, end := epochBounds(c, epoch)
	if now.Before(start.Add(-s.policy.ClockSkew)) {
		return api.ReasonEpochTooEarly, fmt.Errorf("epoch %d starts at %s", epoch, start.UTC().Format(time.RFC3339))
	}
	if closes := end.Add(s.policy.Grace); !now.Before(closes) {
		return api.ReasonEpochTooLate, fmt.Errorf("epoch %d closed at %s", epoch, closes.UTC().Format(time.RFC3339))
	}
	return "", nil
}

// jobEpochRule returns the reason a helper refuses an aggregation job for
// epoch now, or "": the leader's ingest rules, as far as the helper can
// check them without trusting the leader. An epoch that has not begun
// (beyond the clock skew of both aggregators, so that an honest leader's
// job is never refused for a clock difference) cannot hold a report an
// honest leader accepted; an epoch that began after this helper's copy of
// the campaign was paused or archived is refused as the leader's ingest
// refuses it. The late side of the window is not applied: jobs rightly run
// after an epoch closes (the helper was down, a job is retried), and a
// batch this helper has released is refused by the store (ErrCollected).
func (s *Server) jobEpochRule(r *registered, epoch uint32, now time.Time) (api.Reason, error) {
	if start, _ := epochBounds(&r.Campaign, epoch); now.Before(start.Add(-2 * s.policy.ClockSkew)) {
		return api.ReasonEpochTooEarly, fmt.Errorf("epoch %d starts at %s", epoch, start.UTC().Format(time.RFC3339))
	}
	if err := r.acceptsEpoch(epoch); err != nil {
		return api.ReasonCampaignPaused, err
	}
	return "", nil
}

// releasable reports whether epoch's result may be released at now.
func (s *Server) releasable(c *Campaign, epoch uint32, now time.Time) bool {
	_, end := epochBounds(c, epoch)
	return !now.Before(end.Add(s.policy.Grace + settle))
}

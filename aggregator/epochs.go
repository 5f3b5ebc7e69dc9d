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

// releasable reports whether epoch's result may be released at now.
func (s *Server) releasable(c *Campaign, epoch uint32, now time.Time) bool {
	_, end := epochBounds(c, epoch)
	return !now.Before(end.Add(s.policy.Grace + settle))
}

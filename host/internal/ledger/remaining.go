package ledger

import (
	"context"
	"database/sql"
	"math"
	"time"

	"github.com/wisp-project/wisp/internal/ldp"
	"github.com/wisp-project/wisp/internal/sqlitedb"
)

// Budget is what a campaign may still spend: the device owner's and
// maker's view of the ledger.
type Budget struct {
	Campaign  string  `json:"campaign"`
	Epoch     uint32  `json:"epoch"`
	Spent     float64 `json:"spent"`      // by this campaign in this epoch
	EpochLeft float64 `json:"epoch_left"` // of the campaign's epoch budget
	DailyLeft float64 `json:"daily_left"` // of the device's 24-hour cap
	// Left is the largest next charge that would be accepted:
	// min(EpochLeft, DailyLeft).
	Left float64 `json:"left"`
}

// Remaining reports the budget left for a campaign in an epoch, given the
// campaign's epoch budget.
func (l *Ledger) Remaining(ctx context.Context, campaign string, epoch uint32, epochBudget float64) (Budget, error) {
	r := Budget{Campaign: campaign, Epoch: epoch}
	err := l.read("remaining", func(q sqlitedb.Querier) error {
		c, d, err := spent(ctx, q, campaign, epoch, l.cfg.now())
		if err != nil {
			return err
		}
		r.Spent = fromNano(c)
		r.EpochLeft = math.Max(fromNano(nano(epochBudget, false)-c), 0)
		r.DailyLeft = math.Max(fromNano(nano(l.cfg.dailyCap, false)-d), 0)
		r.Left = math.Min(r.EpochLeft, r.DailyLeft)
		return nil
	})
	return r, err
}

// Entries returns the spends recorded since a time, oldest first: what a
// transparency screen shows the owner.
func (l *Ledger) Entries(ctx context.Context, since time.Time) ([]Entry, error) {
	var out []Entry
	err := l.read("entries", func(q sqlitedb.Querier) error {
		rows, err := q.QueryContext(ctx, `
			SELECT s.id, s.campaign, s.epoch, s.nano_eps, s.at_unix_ns, cs.categories, s.memo_scope, s.memo_value
			FROM spend s LEFT JOIN category_set cs ON cs.id = s.category_set
			WHERE s.at_unix_ns >= ? ORDER BY s.id`, since.UnixNano())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e Entry
			var epoch, n, at int64
			var set, scope, value sql.NullString
			if err := rows.Scan(&e.ID, &e.Campaign, &epoch, &n, &at, &set, &scope, &value); err != nil {
				return err
			}
			if scope.Valid {
				e.Memo = ldp.MemoKey{Campaign: scope.String, Value: value.String}
			}
			e.Epoch, e.Epsilon, e.At = uint32(epoch), fromNano(n), time.Unix(0, at)
			if set.Valid {
				var err error
				if e.Categories, err = decodeSet(set.String); err != nil {
					return err
				}
				if e.Categories == nil {
					e.Categories = []uint32{}
				}
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

// WindowSpend is what the device spent in the last Window: the device
// maker's view against the daily cap.
type WindowSpend struct {
	PerCampaign map[string]float64 `json:"per_campaign"`
	Total       float64            `json:"total"`
	Cap         float64            `json:"cap"`
}

// Window returns the spend in the 24 hours before now, per campaign.
func (l *Ledger) Window(ctx context.Context) (WindowSpend, error) {
	out := WindowSpend{PerCampaign: map[string]float64{}, Cap: l.cfg.dailyCap}
	err := l.read("window", func(q sqlitedb.Querier) error {
		rows, err := q.QueryContext(ctx,
			`SELECT campaign, SUM(nano_eps) FROM spend WHERE at_unix_ns > ? GROUP BY campaign ORDER BY campaign`,
			l.cfg.now().Add(-Window).UnixNano())
		if err != nil {
			return err
		}
		defer rows.Close()
		var total int64
		for rows.Next() {
			var c string
			var n int64
			if err := rows.Scan(&c, &n); err != nil {
				return err
			}
			out.PerCampaign[c] = fromNano(n)
			total += n
		}
		out.Total = fromNano(total)
		return rows.Err()
	})
	return out, err
}

package devicestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/wisp-project/wisp/internal/sqlitedb"
)

// Cap is a frequency cap: at most Max impressions per Window (a zero
// Window: ever). A zero Max means no cap.
type Cap struct {
	Max    int
	Window time.Duration
}

// Candidate is a creative that may be shown, with its campaign's cap.
type Candidate struct {
	Creative string
	Campaign string
	Cap      Cap
}

// Impress records an impression of the first candidate whose campaign cap
// and the global cap both allow one at now, and returns its index, or
// ErrCapped if none does. Counting and recording happen in one write
// transaction, so concurrent callers cannot both take the last slot.
func (s *Store) Impress(ctx context.Context, candidates []Candidate, global Cap, now time.Time) (int, error) {
	chosen := -1
	err := s.tx(ctx, "record_impression", func(tx *sql.Tx) error {
		chosen = -1
		if global.Max > 0 {
			n, err := countImpressions(ctx, tx, "", global.since(now))
			if err != nil {
				return err
			}
			if n >= global.Max {
				return nil
			}
		}
		for i, c := range candidates {
			if c.Cap.Max > 0 {
				n, err := countImpressions(ctx, tx, c.Campaign, c.Cap.since(now))
				if err != nil {
					return err
				}
				if n >= c.Cap.Max {
					continue
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO impressions (creative, campaign, at) VALUES (?, ?, ?)`, c.Creative, c.Campaign, ms(now)); err != nil {
				return err
			}
			chosen = i
			return nil
		}
		return nil
	})
	if err != nil {
		return -1, err
	}
	if chosen < 0 {
		return -1, fmt.Errorf("%w: every candidate is at its frequency cap", ErrCapped)
	}
	return chosen, nil
}

// countImpressions counts campaign's impressions ("" for all) since since;
// two queries, so each uses its index.
func countImpressions(ctx context.Context, tx *sql.Tx, campaign string, since time.Time) (int, error) {
	var n int
	var err error
	if campaign == "" {
		err = tx.QueryRowContext(ctx, `SELECT count(*) FROM impressions WHERE at > ?`, ms(since)).Scan(&n)
	} else {
		err = tx.QueryRowContext(ctx, `SELECT count(*) FROM impressions WHERE campaign = ? AND at > ?`, campaign, ms(since)).Scan(&n)
	}
	return n, err
}

// Impressions counts impressions per campaign since since.
func (s *Store) Impressions(ctx context.Context, since time.Time) (map[string]int, error) {
	out := map[string]int{}
	err := s.read("count_impressions", func(q sqlitedb.Querier) error {
		rows, err := q.QueryContext(ctx, `SELECT campaign, count(*) FROM impressions WHERE at > ? GROUP BY campaign`, ms(since))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c string
			var n int
			if err := rows.Scan(&c, &n); err != nil {
				return err
			}
			out[c] = n
		}
		return rows.Err()
	})
	return out, err
}

func (c Cap) since(now time.Time) time.Time {
	if c.Window <= 0 {
		return time.UnixMilli(0)
	}
	return now.Add(-c.Window)
}

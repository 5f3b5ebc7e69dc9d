package devicestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Spend records, durably, that the device spent epsilon answering campaign
// for epoch. It refuses (ErrCapped) a second spend for the same campaign
// and epoch, a spend above perCampaign for that epoch, and a spend that
// would take the day's total above daily. The device calls it before it
// seals and queues the report, so a crash can lose a report but never
// over-spend.
//
// It is the device store's own ledger, used until the privacy engine's
// internal/ledger is wired in; see host/scheduler_ledger.go.
func (s *Store) Spend(ctx context.Context, campaign string, epoch uint32, epsilon, daily float64, now time.Time) error {
	day := now.UTC().Unix() / 86400
	return s.tx(ctx, "spend_budget", func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM ledger WHERE campaign = ? AND epoch = ?`, campaign, epoch).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: campaign %q already answered epoch %d", ErrCapped, campaign, epoch)
		}
		var today float64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(epsilon), 0) FROM ledger WHERE day = ?`, day).Scan(&today); err != nil {
			return err
		}
		if daily > 0 && today+epsilon > daily+1e-12 {
			return fmt.Errorf("%w: daily budget: %.3g spent + %.3g > %.3g", ErrCapped, today, epsilon, daily)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO ledger (campaign, epoch, day, epsilon, at) VALUES (?, ?, ?, ?, ?)`,
			campaign, epoch, day, epsilon, ms(now))
		return err
	})
}

// Spent is the ε spent per campaign (all epochs) and on the day of now.
func (s *Store) Spent(ctx context.Context, now time.Time) (perCampaign map[string]float64, today float64, err error) {
	perCampaign = map[string]float64{}
	day := now.UTC().Unix() / 86400
	err = s.tx(ctx, "read_ledger", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT campaign, sum(epsilon) FROM ledger GROUP BY campaign`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c string
			var e float64
			if err := rows.Scan(&c, &e); err != nil {
				return err
			}
			perCampaign[c] = e
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT coalesce(sum(epsilon), 0) FROM ledger WHERE day = ?`, day).Scan(&today)
	})
	return perCampaign, today, err
}

// SpentEpoch reports whether the ledger holds a spend for campaign and
// epoch.
func (s *Store) SpentEpoch(ctx context.Context, campaign string, epoch uint32) (bool, error) {
	var n int
	err := s.tx(ctx, "read_ledger_epoch", func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM ledger WHERE campaign = ? AND epoch = ?`, campaign, epoch).Scan(&n)
	})
	return n > 0, err
}

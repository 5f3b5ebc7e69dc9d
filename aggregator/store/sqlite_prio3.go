package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The prio3 tables of SQLite (migration 0005).

// InsertPrio3 implements Store.
func (s *SQLite) InsertPrio3(ctx context.Context, reports []Prio3Report) ([]bool, error) {
	fresh, unique := dedupeIDs(len(reports), func(i int) ReportID { return reports[i].ID })
	err := s.tx(ctx, "insert_prio3", func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO prio3_reports (id, campaign, epoch, state, public, leader, helper, token)
			VALUES (?, ?, ?, 'pending', ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, i := range unique {
			r := &reports[i]
			res, err := stmt.ExecContext(ctx, r.ID[:], r.Campaign, r.Epoch, nonNil(r.Public), r.Leader, r.Helper, r.Token)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			fresh[i] = n == 1
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return fresh, nil
}

// nonNil stores an empty byte string as such, not as NULL (Count and Sum
// have an empty public share).
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// PendingPrio3 implements Store.
func (s *SQLite) PendingPrio3(ctx context.Context, campaign string, epoch uint32, limit int) ([]Prio3Report, error) {
	var list []Prio3Report
	err := s.tx(ctx, "pending_prio3", func(tx *sql.Tx) error {
		list = nil
		rows, err := tx.QueryContext(ctx, `SELECT id, public, leader, helper, token FROM prio3_reports
			WHERE campaign = ? AND epoch = ? AND state = 'pending' ORDER BY id LIMIT ?`, campaign, epoch, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r := Prio3Report{Campaign: campaign, Epoch: epoch}
			var id []byte
			if err := rows.Scan(&id, &r.Public, &r.Leader, &r.Helper, &r.Token); err != nil {
				return err
			}
			if r.ID, err = reportID(id); err != nil {
				return err
			}
			list = append(list, r)
		}
		return rows.Err()
	})
	return list, err
}

func reportID(b []byte) (ReportID, error) {
	if len(b) != len(ReportID{}) {
		return ReportID{}, fmt.Errorf("stored report id of %d bytes", len(b))
	}
	return ReportID(b), nil
}

// Prio3Outcomes implements Store.
func (s *SQLite) Prio3Outcomes(ctx context.Context, campaign string, epoch uint32, ids []ReportID) (map[ReportID]Prio3Outcome, error) {
	got := map[ReportID]Prio3Outcome{}
	err := s.tx(ctx, "prio3_outcomes", func(tx *sql.Tx) error {
		clear(got)
		stmt, err := tx.PrepareContext(ctx, `SELECT state, message FROM prio3_reports
			WHERE id = ? AND campaign = ? AND epoch = ? AND state <> 'pending'`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, id := range ids {
			o := Prio3Outcome{ID: id}
			err := stmt.QueryRowContext(ctx, id[:], campaign, epoch).Scan(&o.State, &o.Message)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			got[id] = o
		}
		return nil
	})
	return got, err
}

// AggregatePrio3 implements Store.
func (s *SQLite) AggregatePrio3(ctx context.Context, campaign string, epoch uint32, outcomes []Prio3Outcome,
	add func(fresh []bool, share []byte, reports int64) ([]byte, int64, error)) ([]bool, error) {
	if err := checkOutcomes(outcomes); err != nil {
		return nil, err
	}
	var fresh []bool
	err := s.tx(ctx, "aggregate_prio3", func(tx *sql.Tx) error {
		var unique []int
		fresh, unique = dedupeIDs(len(outcomes), func(i int) ReportID { return outcomes[i].ID })
		if _, err := tx.ExecContext(ctx, `INSERT INTO prio3_aggregates (campaign, epoch, reports, share) VALUES (?, ?, 0, x'')
			ON CONFLICT (campaign, epoch) DO NOTHING`, campaign, epoch); err != nil {
			return err
		}
		var reports int64
		var share, noised []byte
		if err := tx.QueryRowContext(ctx, `SELECT reports, share, noised FROM prio3_aggregates WHERE campaign = ? AND epoch = ?`,
			campaign, epoch).Scan(&reports, &share, &noised); err != nil {
			return err
		}
		if noised != nil {
			return fmt.Errorf("%w: %s/%d", ErrCollected, campaign, epoch)
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO prio3_reports (id, campaign, epoch, state, message) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET state = excluded.state, message = excluded.message, public = NULL, leader = NULL, helper = NULL, token = NULL
			WHERE prio3_reports.state = 'pending' AND prio3_reports.campaign = excluded.campaign AND prio3_reports.epoch = excluded.epoch`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, i := range unique {
			o := &outcomes[i]
			res, err := stmt.ExecContext(ctx, o.ID[:], campaign, epoch, o.State, o.Message)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			fresh[i] = n == 1
		}
		share, reports, err = add(fresh, share, reports)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE prio3_aggregates SET reports = ?, share = ? WHERE campaign = ? AND epoch = ?`,
			reports, nonNil(share), campaign, epoch)
		return err
	})
	if err != nil {
		return nil, err
	}
	return fresh, nil
}

// checkOutcomes refuses an outcome that is not a final state.
func checkOutcomes(outcomes []Prio3Outcome) error {
	for _, o := range outcomes {
		if o.State != Prio3Aggregated && o.State != Prio3Rejected {
			return fmt.Errorf("store: prio3 outcome state %q", o.State)
		}
	}
	return nil
}

// Prio3Batches implements Store.
func (s *SQLite) Prio3Batches(ctx context.Context, campaign string) ([]Prio3Batch, error) {
	var list []Prio3Batch
	err := s.tx(ctx, "prio3_batches", func(tx *sql.Tx) error {
		byEpoch := map[uint32]*Prio3Batch{}
		rows, err := tx.QueryContext(ctx, `SELECT epoch, count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'rejected')
			FROM prio3_reports WHERE campaign = ? GROUP BY epoch`, campaign)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var b Prio3Batch
			if err := rows.Scan(&b.Epoch, &b.Pending, &b.Rejected); err != nil {
				return err
			}
			byEpoch[b.Epoch] = &b
		}
		if err := rows.Err(); err != nil {
			return err
		}
		aggs, err := tx.QueryContext(ctx, `SELECT epoch, reports, noised IS NOT NULL FROM prio3_aggregates WHERE campaign = ?`, campaign)
		if err != nil {
			return err
		}
		defer aggs.Close()
		for aggs.Next() {
			var epoch uint32
			var n int64
			var collected bool
			if err := aggs.Scan(&epoch, &n, &collected); err != nil {
				return err
			}
			b := byEpoch[epoch]
			if b == nil {
				b = &Prio3Batch{Epoch: epoch}
				byEpoch[epoch] = b
			}
			b.Aggregated, b.Collected = n, collected
		}
		if err := aggs.Err(); err != nil {
			return err
		}
		list = sortedBatches(byEpoch)
		return nil
	})
	return list, err
}

// CollectPrio3 implements Store.
func (s *SQLite) CollectPrio3(ctx context.Context, campaign string, epoch uint32, at time.Time,
	noise func(share []byte, reports int64) ([]byte, error)) (Prio3Aggregate, error) {
	var a Prio3Aggregate
	err := s.tx(ctx, "collect_prio3", func(tx *sql.Tx) error {
		a = Prio3Aggregate{Campaign: campaign, Epoch: epoch}
		var collected sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT reports, share, noised, collected_at FROM prio3_aggregates WHERE campaign = ? AND epoch = ?`,
			campaign, epoch).Scan(&a.Reports, &a.Share, &a.Noised, &collected)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: no aggregate of %s/%d", ErrNotFound, campaign, epoch)
		}
		if err != nil {
			return err
		}
		if a.Noised != nil {
			a.CollectedAt = fromNanos(collected.Int64)
			return nil
		}
		if a.Noised, err = noise(a.Share, a.Reports); err != nil {
			return err
		}
		a.Noised, a.CollectedAt = nonNil(a.Noised), at.UTC()
		_, err = tx.ExecContext(ctx, `UPDATE prio3_aggregates SET noised = ?, collected_at = ? WHERE campaign = ? AND epoch = ?`,
			a.Noised, nanos(at), campaign, epoch)
		return err
	})
	if err != nil {
		return Prio3Aggregate{}, err
	}
	return a, nil
}

// LookupSecret implements Store.
func (s *SQLite) LookupSecret(ctx context.Context, name string) ([]byte, error) {
	var got []byte
	err := s.tx(ctx, "lookup_secret", func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&got)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: secret %q", ErrNotFound, name)
		}
		return err
	})
	return got, err
}

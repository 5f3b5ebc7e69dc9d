package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// The prio3 tables of PostgreSQL (migration 0005). Batches of rows go in
// one statement each (unnest of arrays), as Insert does.

// InsertPrio3 implements Store.
func (s *Postgres) InsertPrio3(ctx context.Context, reports []Prio3Report) ([]bool, error) {
	idOf := func(i int) ReportID { return reports[i].ID }
	fresh, unique := dedupeIDs(len(reports), idOf)
	if len(unique) == 0 {
		return fresh, nil
	}
	n := len(unique)
	ids, campaigns, epochs := make([][]byte, n), make([]string, n), make([]int64, n)
	publics, leaders, helpers, tokens := make([][]byte, n), make([][]byte, n), make([][]byte, n), make([][]byte, n)
	for j, i := range unique {
		r := &reports[i]
		ids[j], campaigns[j], epochs[j] = r.ID[:], r.Campaign, int64(r.Epoch)
		publics[j], leaders[j], helpers[j], tokens[j] = nonNil(r.Public), r.Leader, r.Helper, r.Token
	}
	err := s.tx(ctx, "insert_prio3", func(tx pgx.Tx) error {
		clear(fresh)
		rows, err := tx.Query(ctx, `INSERT INTO prio3_reports (id, campaign, epoch, state, public, leader, helper, token)
			SELECT id, campaign, epoch, 'pending', public, leader, helper, token
			FROM unnest($1::bytea[], $2::text[], $3::bigint[], $4::bytea[], $5::bytea[], $6::bytea[], $7::bytea[]) AS t(id, campaign, epoch, public, leader, helper, token)
			ON CONFLICT (id) DO NOTHING RETURNING id`, ids, campaigns, epochs, publics, leaders, helpers, tokens)
		if err != nil {
			return err
		}
		defer rows.Close()
		return markFreshIDs(rows, idOf, unique, fresh)
	})
	if err != nil {
		return nil, err
	}
	return fresh, nil
}

// PendingPrio3 implements Store.
func (s *Postgres) PendingPrio3(ctx context.Context, campaign string, epoch uint32, limit int) ([]Prio3Report, error) {
	var list []Prio3Report
	err := s.tx(ctx, "pending_prio3", func(tx pgx.Tx) error {
		list = nil
		rows, err := tx.Query(ctx, `SELECT id, public, leader, helper, token FROM prio3_reports
			WHERE campaign = $1 AND epoch = $2 AND state = 'pending' ORDER BY id LIMIT $3`, campaign, int64(epoch), limit)
		if err != nil {
			return err
		}
		var id []byte
		r := Prio3Report{Campaign: campaign, Epoch: epoch}
		_, err = pgx.ForEachRow(rows, []any{&id, &r.Public, &r.Leader, &r.Helper, &r.Token}, func() error {
			var err error
			if r.ID, err = reportID(id); err != nil {
				return err
			}
			list = append(list, r)
			r = Prio3Report{Campaign: campaign, Epoch: epoch}
			return nil
		})
		return err
	})
	return list, err
}

// Prio3Outcomes implements Store.
func (s *Postgres) Prio3Outcomes(ctx context.Context, campaign string, epoch uint32, ids []ReportID) (map[ReportID]Prio3Outcome, error) {
	got := map[ReportID]Prio3Outcome{}
	raw := make([][]byte, len(ids))
	for i := range ids {
		raw[i] = ids[i][:]
	}
	err := s.tx(ctx, "prio3_outcomes", func(tx pgx.Tx) error {
		clear(got)
		rows, err := tx.Query(ctx, `SELECT id, state, message FROM prio3_reports
			WHERE id = ANY($1::bytea[]) AND campaign = $2 AND epoch = $3 AND state <> 'pending'`, raw, campaign, int64(epoch))
		if err != nil {
			return err
		}
		var id []byte
		var o Prio3Outcome
		_, err = pgx.ForEachRow(rows, []any{&id, &o.State, &o.Message}, func() error {
			var err error
			if o.ID, err = reportID(id); err != nil {
				return err
			}
			got[o.ID] = o
			o = Prio3Outcome{}
			return nil
		})
		return err
	})
	return got, err
}

// AggregatePrio3 implements Store. The aggregate row is created if absent
// and then locked (FOR UPDATE), so jobs of several nodes on one batch
// take turns.
func (s *Postgres) AggregatePrio3(ctx context.Context, campaign string, epoch uint32, outcomes []Prio3Outcome,
	add func(fresh []bool, share []byte, reports int64) ([]byte, int64, error)) ([]bool, error) {
	if err := checkOutcomes(outcomes); err != nil {
		return nil, err
	}
	idOf := func(i int) ReportID { return outcomes[i].ID }
	fresh, unique := dedupeIDs(len(outcomes), idOf)
	n := len(unique)
	ids, states, messages := make([][]byte, n), make([]string, n), make([][]byte, n)
	for j, i := range unique {
		ids[j], states[j], messages[j] = outcomes[i].ID[:], string(outcomes[i].State), outcomes[i].Message
	}
	err := s.tx(ctx, "aggregate_prio3", func(tx pgx.Tx) error {
		clear(fresh)
		if _, err := tx.Exec(ctx, `INSERT INTO prio3_aggregates (campaign, epoch, reports, share) VALUES ($1, $2, 0, '')
			ON CONFLICT (campaign, epoch) DO NOTHING`, campaign, int64(epoch)); err != nil {
			return err
		}
		var reports int64
		var share, noised []byte
		if err := tx.QueryRow(ctx, `SELECT reports, share, noised FROM prio3_aggregates WHERE campaign = $1 AND epoch = $2 FOR UPDATE`,
			campaign, int64(epoch)).Scan(&reports, &share, &noised); err != nil {
			return err
		}
		if noised != nil {
			return fmt.Errorf("%w: %s/%d", ErrCollected, campaign, epoch)
		}
		if n > 0 {
			rows, err := tx.Query(ctx, `INSERT INTO prio3_reports AS r (id, campaign, epoch, state, message)
				SELECT id, $4, $5, state, message FROM unnest($1::bytea[], $2::text[], $3::bytea[]) AS t(id, state, message)
				ON CONFLICT (id) DO UPDATE SET state = excluded.state, message = excluded.message, public = NULL, leader = NULL, helper = NULL, token = NULL
				WHERE r.state = 'pending' AND r.campaign = excluded.campaign AND r.epoch = excluded.epoch
				RETURNING id`, ids, states, messages, campaign, int64(epoch))
			if err != nil {
				return err
			}
			err = markFreshIDs(rows, idOf, unique, fresh)
			rows.Close()
			if err != nil {
				return err
			}
		}
		share, reports, err := add(fresh, share, reports)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE prio3_aggregates SET reports = $1, share = $2 WHERE campaign = $3 AND epoch = $4`,
			reports, nonNil(share), campaign, int64(epoch))
		return err
	})
	if err != nil {
		return nil, err
	}
	return fresh, nil
}

// Prio3Batches implements Store.
func (s *Postgres) Prio3Batches(ctx context.Context, campaign string) ([]Prio3Batch, error) {
	var list []Prio3Batch
	err := s.tx(ctx, "prio3_batches", func(tx pgx.Tx) error {
		byEpoch := map[uint32]*Prio3Batch{}
		rows, err := tx.Query(ctx, `SELECT epoch, count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'rejected')
			FROM prio3_reports WHERE campaign = $1 GROUP BY epoch`, campaign)
		if err != nil {
			return err
		}
		var epoch, a, b int64
		if _, err := pgx.ForEachRow(rows, []any{&epoch, &a, &b}, func() error {
			byEpoch[uint32(epoch)] = &Prio3Batch{Epoch: uint32(epoch), Pending: a, Rejected: b}
			return nil
		}); err != nil {
			return err
		}
		var collected bool
		rows, err = tx.Query(ctx, `SELECT epoch, reports, noised IS NOT NULL FROM prio3_aggregates WHERE campaign = $1`, campaign)
		if err != nil {
			return err
		}
		if _, err := pgx.ForEachRow(rows, []any{&epoch, &a, &collected}, func() error {
			bt := byEpoch[uint32(epoch)]
			if bt == nil {
				bt = &Prio3Batch{Epoch: uint32(epoch)}
				byEpoch[uint32(epoch)] = bt
			}
			bt.Aggregated, bt.Collected = a, collected
			return nil
		}); err != nil {
			return err
		}
		list = sortedBatches(byEpoch)
		return nil
	})
	return list, err
}

// CollectPrio3 implements Store.
func (s *Postgres) CollectPrio3(ctx context.Context, campaign string, epoch uint32, at time.Time,
	noise func(share []byte, reports int64) ([]byte, error)) (Prio3Aggregate, error) {
	var a Prio3Aggregate
	err := s.tx(ctx, "collect_prio3", func(tx pgx.Tx) error {
		a = Prio3Aggregate{Campaign: campaign, Epoch: epoch}
		var collected *time.Time
		err := tx.QueryRow(ctx, `SELECT reports, share, noised, collected_at FROM prio3_aggregates WHERE campaign = $1 AND epoch = $2 FOR UPDATE`,
			campaign, int64(epoch)).Scan(&a.Reports, &a.Share, &a.Noised, &collected)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: no aggregate of %s/%d", ErrNotFound, campaign, epoch)
		}
		if err != nil {
			return err
		}
		if a.Noised != nil {
			a.CollectedAt = collected.UTC()
			return nil
		}
		if a.Noised, err = noise(a.Share, a.Reports); err != nil {
			return err
		}
		a.Noised, a.CollectedAt = nonNil(a.Noised), at.UTC()
		_, err = tx.Exec(ctx, `UPDATE prio3_aggregates SET noised = $1, collected_at = $2 WHERE campaign = $3 AND epoch = $4`,
			a.Noised, at, campaign, int64(epoch))
		return err
	})
	if err != nil {
		return Prio3Aggregate{}, err
	}
	return a, nil
}

// LookupSecret implements Store.
func (s *Postgres) LookupSecret(ctx context.Context, name string) ([]byte, error) {
	var got []byte
	err := s.tx(ctx, "lookup_secret", func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&got)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: secret %q", ErrNotFound, name)
		}
		return err
	})
	return got, err
}

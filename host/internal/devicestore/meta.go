package devicestore

import (
	"context"
	"database/sql"
	"time"
)

// Campaign is a campaign as the aggregator served it.
type Campaign struct {
	ID      string
	Spec    []byte // JSON
	Fetched time.Time
}

// PutCampaigns replaces the known campaigns.
func (s *Store) PutCampaigns(ctx context.Context, list []Campaign) error {
	return s.tx(ctx, "put_campaigns", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM campaigns`); err != nil {
			return err
		}
		for _, c := range list {
			if _, err := tx.ExecContext(ctx, `INSERT INTO campaigns (id, spec, fetched_at) VALUES (?, ?, ?)`, c.ID, c.Spec, ms(c.Fetched)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Campaigns lists the known campaigns by id.
func (s *Store) Campaigns(ctx context.Context) ([]Campaign, error) {
	var out []Campaign
	err := s.tx(ctx, "list_campaigns", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, spec, fetched_at FROM campaigns ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c Campaign
			var at int64
			if err := rows.Scan(&c.ID, &c.Spec, &at); err != nil {
				return err
			}
			c.Fetched = fromMS(at)
			out = append(out, c)
		}
		return rows.Err()
	})
	return out, err
}

// Meta reads a small named value (ErrNotFound if unset).
func (s *Store) Meta(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := s.tx(ctx, "read_meta", func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
		if err == sql.ErrNoRows {
			return ErrNotFound
		}
		return err
	})
	return v, err
}

// SetMeta writes a small named value.
func (s *Store) SetMeta(ctx context.Context, key string, value []byte) error {
	return s.tx(ctx, "write_meta", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
		return err
	})
}

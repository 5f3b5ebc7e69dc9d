package devicestore

import (
	"context"
	"database/sql"
	"math"
	"time"

	"github.com/wisp-project/wisp/internal/sqlitedb"
)

// Interest is one row of the profile: a plugin's decayed score for a
// category as of UpdatedAt.
type Interest struct {
	Plugin    string
	Category  uint32
	Value     float64
	UpdatedAt time.Time
}

// Decayed is the interest's value at now: it halves every halfLife without
// fresh evidence.
func (i Interest) Decayed(now time.Time, halfLife time.Duration) float64 {
	return decay(i.Value, now.Sub(i.UpdatedAt), halfLife)
}

func decay(v float64, age, halfLife time.Duration) float64 {
	if age <= 0 || halfLife <= 0 {
		return v
	}
	return v * math.Exp2(-float64(age)/float64(halfLife))
}

// UpdateProfile folds a plugin's fresh scores (over events up to seq
// through) into its profile at now: each category becomes the larger of the
// fresh score and the old value decayed to now, so interest fades without
// evidence and returns at once with it. Categories the plugin did not
// score decay on. The plugin's scoring position moves to through in the
// same transaction, so a crash neither loses nor double-counts a batch.
func (s *Store) UpdateProfile(ctx context.Context, plugin string, scores map[uint32]float64, through int64, now time.Time, halfLife time.Duration) error {
	return s.tx(ctx, "update_profile", func(tx *sql.Tx) error {
		old, err := interests(ctx, tx, plugin)
		if err != nil {
			return err
		}
		next := map[uint32]float64{}
		for _, i := range old {
			next[i.Category] = i.Decayed(now, halfLife)
		}
		for c, v := range scores {
			next[c] = math.Max(next[c], v)
		}
		for c, v := range next {
			if _, err := tx.ExecContext(ctx, `INSERT INTO profile (plugin, category, value, updated_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (plugin, category) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
				plugin, c, v, ms(now)); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE plugins SET scored_seq = max(scored_seq, ?) WHERE name = ?`, through, plugin)
		return err
	})
}

// Profile returns every profile row ("" plugin) or one plugin's.
func (s *Store) Profile(ctx context.Context, plugin string) ([]Interest, error) {
	var out []Interest
	err := s.read("read_profile", func(q sqlitedb.Querier) error {
		var err error
		out, err = interests(ctx, q, plugin)
		return err
	})
	return out, err
}

func interests(ctx context.Context, q sqlitedb.Querier, plugin string) ([]Interest, error) {
	rows, err := q.QueryContext(ctx, `SELECT plugin, category, value, updated_at FROM profile
		WHERE ? = '' OR plugin = ? ORDER BY plugin, category`, plugin, plugin)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Interest
	for rows.Next() {
		var i Interest
		var at int64
		if err := rows.Scan(&i.Plugin, &i.Category, &i.Value, &at); err != nil {
			return nil, err
		}
		i.UpdatedAt = fromMS(at)
		out = append(out, i)
	}
	return out, rows.Err()
}

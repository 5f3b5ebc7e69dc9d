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

// ConsentedProfile returns the profile rows of the plugins whose consent
// is granted now, by plugin and category: what campaigns and targeting may
// use, read in one statement.
func (s *Store) ConsentedProfile(ctx context.Context) ([]Interest, error) {
	var out []Interest
	err := s.read("read_consented_profile", func(q sqlitedb.Querier) error {
		rows, err := q.QueryContext(ctx, `SELECT p.plugin, p.category, p.value, p.updated_at FROM profile p
			JOIN consent c ON c.purpose = 'plugin:' || p.plugin AND c.granted ORDER BY p.plugin, p.category`)
		if err != nil {
			return err
		}
		out, err = scanInterests(rows)
		return err
	})
	return out, err
}

// interests are plugin's profile rows.
func interests(ctx context.Context, tx *sql.Tx, plugin string) ([]Interest, error) {
	rows, err := tx.QueryContext(ctx, `SELECT plugin, category, value, updated_at FROM profile
		WHERE plugin = ? ORDER BY category`, plugin)
	if err != nil {
		return nil, err
	}
	return scanInterests(rows)
}

// scanInterests reads rows of plugin, category, value, updated_at, and
// closes them.
func scanInterests(rows *sql.Rows) ([]Interest, error) {
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

package devicestore

import (
	"context"
	"database/sql"
	"time"
)

// ForgetInterest erases one category from every plugin's profile, and the
// queued reports that may derive from it: those about the category and
// those about several (top_k, stored under category 0). The events stay;
// a plugin that sees new ones may infer the interest again.
func (s *Store) ForgetInterest(ctx context.Context, category uint32, now time.Time) error {
	return s.tx(ctx, "forget_interest", func(tx *sql.Tx) error {
		if err := dropQueued(ctx, tx, `(category = ? OR category = 0)`, now, DropForgotten, category); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM profile WHERE category = ?`, category)
		return err
	})
}

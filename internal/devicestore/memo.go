package devicestore

import (
	"context"
	"database/sql"

	"github.com/wisp-project/wisp/internal/ldp"
)

// LoadMemo implements ldp.MemoStore.
func (s *Store) LoadMemo(ctx context.Context, key ldp.MemoKey) ([]byte, bool, error) {
	var answer []byte
	err := s.tx(ctx, "load_memo", func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT answer FROM memo WHERE campaign = ? AND value = ?`, key.Campaign, key.Value).Scan(&answer)
	})
	if err != nil && errorsIsNoRows(err) {
		return nil, false, nil
	}
	return answer, err == nil, err
}

// StoreMemo implements ldp.MemoStore; it is durable when it returns. A
// memo, once stored, is never replaced: the first answer is permanent.
func (s *Store) StoreMemo(ctx context.Context, key ldp.MemoKey, answer []byte) error {
	return s.tx(ctx, "store_memo", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO memo (campaign, value, answer) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			key.Campaign, key.Value, nonNil(answer))
		return err
	})
}

var _ ldp.MemoStore = (*Store)(nil)

package ledger

import (
	"context"
	"database/sql"
	"errors"

	"github.com/wisp-project/wisp/internal/ldp"
)

var _ ldp.MemoStore = (*Ledger)(nil)

// LoadMemo implements ldp.MemoStore.
func (l *Ledger) LoadMemo(ctx context.Context, key ldp.MemoKey) ([]byte, bool, error) {
	var answer []byte
	err := l.db.QueryRowContext(ctx, `SELECT answer FROM memo WHERE campaign = ? AND value = ?`,
		key.Campaign, key.Value).Scan(&answer)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return answer, true, nil
}

// StoreMemo implements ldp.MemoStore; the answer is durable on return. An
// existing memo is kept (first writer wins), so two racing randomizations
// cannot both be sent: the loser's Answer returns an error.
func (l *Ledger) StoreMemo(ctx context.Context, key ldp.MemoKey, answer []byte) error {
	return l.tx(ctx, "store-memo", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO memo (campaign, value, answer) VALUES (?, ?, ?)
			ON CONFLICT (campaign, value) DO NOTHING`, key.Campaign, key.Value, answer)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(ErrMemoExists, err)
		}
		return nil
	})
}

// ErrMemoExists: a memo for the key was stored concurrently; load it again.
var ErrMemoExists = errors.New("ledger: memo already stored")

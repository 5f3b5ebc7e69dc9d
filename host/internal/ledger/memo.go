package ledger

import (
	"context"
	"database/sql"
	"errors"

	"github.com/wisp-project/wisp/internal/ldp"
	"github.com/wisp-project/wisp/internal/sqlitedb"
)

// The memo is privacy state: the one randomized answer a device gives for
// a question and a true value (ldp.Memo). It lives in the ledger, beside
// the spend it was randomized under.

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
			ON CONFLICT (campaign, value) DO NOTHING`, key.Campaign, key.Value, nonNil(answer))
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

// Memo is one memoized answer, for ImportMemos.
type Memo struct {
	Key    ldp.MemoKey
	Answer []byte
}

// ImportMemos stores memos kept elsewhere before (the device store held
// them until its migration 5), durably and in one transaction. A key the
// ledger already has keeps its answer, so importing twice — after a crash
// between the import and the source's deletion — changes nothing.
func (l *Ledger) ImportMemos(ctx context.Context, memos []Memo) error {
	return l.tx(ctx, "import-memos", func(tx *sql.Tx) error {
		for _, m := range memos {
			if _, err := tx.ExecContext(ctx, `INSERT INTO memo (campaign, value, answer) VALUES (?, ?, ?)
				ON CONFLICT (campaign, value) DO NOTHING`, m.Key.Campaign, m.Key.Value, nonNil(m.Answer)); err != nil {
				return err
			}
		}
		return nil
	})
}

// MemoCount is the number of memoized answers held.
func (l *Ledger) MemoCount(ctx context.Context) (int, error) {
	var n int
	err := l.read("memo-count", func(q sqlitedb.Querier) error {
		return q.QueryRowContext(ctx, `SELECT count(*) FROM memo`).Scan(&n)
	})
	return n, err
}

// nonNil keeps an empty answer from becoming NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

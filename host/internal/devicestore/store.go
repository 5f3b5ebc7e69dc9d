package devicestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/wisp-project/wisp/internal/ldp"
	"github.com/wisp-project/wisp/internal/sqlitedb"
)

// Store is an open device database. It is safe for concurrent use: one
// connection serializes transactions inside a process, and SQLite's
// busy_timeout serializes them across processes (a CLI reading status
// while a device runs).
type Store struct {
	db *sql.DB
}

// Errors callers can test with errors.Is.
var (
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("devicestore: closed")
	// ErrNotFound: no row with that key.
	ErrNotFound = errors.New("devicestore: not found")
	// ErrCapped: a frequency cap refused the write.
	ErrCapped = errors.New("devicestore: capped")
	// ErrRevoked: the owner's consent does not cover the write.
	ErrRevoked = errors.New("devicestore: consent revoked")
)

// Memo is a memoized answer (ldp.Memo) the store held before migration 5
// moved memos to the ledger.
type Memo struct {
	Key    ldp.MemoKey
	Answer []byte
}

// Option configures Open.
type Option func(*options)

type options struct {
	memoHandoff func(context.Context, []Memo) error
}

// WithMemoHandoff gives Open where to put the memoized answers of a
// database from before migration 5: inside that migration's transaction,
// Open passes the old memo table's rows to handoff, which must store them
// durably (the ledger's ImportMemos), then drops the table. If handoff
// fails, nothing is dropped and Open fails. Without this option Open
// refuses a database whose memo table has rows rather than lose them.
func WithMemoHandoff(handoff func(context.Context, []Memo) error) Option {
	return func(o *options) { o.memoHandoff = handoff }
}

// Open opens (creating if needed) the database at path and brings its
// schema up to date.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	// A new device's database starts as a copy of the migrated schema
	// (best effort: if it cannot be made, migrate below builds it).
	_ = template.Create(ctx, path)
	db, err := sqlitedb.Open(path, pragmas...)
	if err != nil {
		return nil, fmt.Errorf("devicestore: %w", err)
	}
	db.SetMaxOpenConns(1)
	s := &Store{db: db}
	if err := s.migrate(ctx, o); err != nil {
		db.Close()
		return nil, fmt.Errorf("devicestore: %s: %w", path, err)
	}
	return s, nil
}

// pragmas are the store's connection settings beyond sqlitedb.Open's.
var pragmas = []string{"foreign_keys(1)"}

// template is the migrated empty store new databases are copied from.
var template = sqlitedb.NewTemplate(migrations, pragmas...)

// Close closes the database. Everything committed stays committed.
func (s *Store) Close() error { return s.db.Close() }

// Stats is what the store's database ran since Open (sqlitedb.StatsOf):
// tests bound an operation's transactions with it.
func (s *Store) Stats() sqlitedb.Stats { return sqlitedb.StatsOf(s.db) }

func (s *Store) migrate(ctx context.Context, o options) error {
	return sqlitedb.Migrate(ctx, s.db, migrations, map[int]func(context.Context, *sql.Tx) error{
		5: func(ctx context.Context, tx *sql.Tx) error { return handOffMemos(ctx, tx, o.memoHandoff) },
	})
}

// handOffMemos passes the memo table's rows to handoff before migration 5
// drops it.
func handOffMemos(ctx context.Context, tx *sql.Tx, handoff func(context.Context, []Memo) error) error {
	rows, err := tx.QueryContext(ctx, `SELECT campaign, value, answer FROM memo ORDER BY campaign, value`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var memos []Memo
	for rows.Next() {
		var m Memo
		if err := rows.Scan(&m.Key.Campaign, &m.Key.Value, &m.Answer); err != nil {
			return err
		}
		memos = append(memos, m)
	}
	if err := rows.Err(); err != nil || len(memos) == 0 {
		return err
	}
	if handoff == nil {
		return fmt.Errorf("%d memoized answers to move to the ledger and no WithMemoHandoff", len(memos))
	}
	if err := handoff(ctx, memos); err != nil {
		return fmt.Errorf("handing memoized answers to the ledger: %w", err)
	}
	return nil
}

// tx runs fn in the write transaction called name, retrying while another
// process holds the write lock past busy_timeout.
func (s *Store) tx(ctx context.Context, name string, fn func(*sql.Tx) error) error {
	return wrap(name, sqlitedb.Tx(ctx, s.db, fn))
}

// txIf runs fn in the write transaction called name only if exists, a
// query of one boolean run on its own (no write lock, no commit), finds
// something for fn to change: the routine passes (retention, expiry,
// recovery at open) mostly find nothing, and a write transaction that
// changes nothing still takes the write lock and syncs a commit. What
// exists saw can change before fn would run only by another write, after
// which the next pass looks again; fn itself must not rely on it.
func (s *Store) txIf(ctx context.Context, name, exists string, args []any, fn func(*sql.Tx) error) error {
	var found bool
	if err := s.read(name, func(q sqlitedb.Querier) error {
		return q.QueryRowContext(ctx, exists, args...).Scan(&found)
	}); err != nil || !found {
		return err
	}
	return s.tx(ctx, name, fn)
}

// snapshot runs fn, which only reads, in one read transaction called name
// (sqlitedb.Read): its statements see one state of the database, and it
// takes no write lock.
func (s *Store) snapshot(ctx context.Context, name string, fn func(*sql.Tx) error) error {
	return wrap(name, sqlitedb.Read(ctx, s.db, fn))
}

// read runs fn, which only reads, one statement at a time, each its own
// read transaction: no BEGIN, no COMMIT, no write lock. With the store's one
// connection, fn must close a statement's rows before running the next.
func (s *Store) read(name string, fn func(sqlitedb.Querier) error) error {
	return wrap(name, fn(s.db))
}

// wrap names the operation in err and marks a closed store's.
func wrap(name string, err error) error {
	if sqlitedb.Closed(err) {
		err = fmt.Errorf("%w: %v", ErrClosed, err)
	}
	if err != nil {
		return fmt.Errorf("devicestore: %s: %w", name, err)
	}
	return nil
}

// ms is the store's time unit: Unix milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// Tables lists every table that can hold data derived from the owner, in
// the order Counts reports them.
// (The memoized answers are the ledger's.)
var Tables = []string{"events", "profile", "outbox", "answers", "impressions"}

// Counts returns the number of rows in each of Tables, restricted to
// plugin's rows where a table has a plugin column ("" counts everything).
// It is the proof a Forget shows: the same numbers before and after.
func (s *Store) Counts(ctx context.Context, plugin string) (map[string]int, error) {
	out := map[string]int{}
	err := s.snapshot(ctx, "counts", func(tx *sql.Tx) error {
		for _, t := range Tables {
			q, args := `SELECT count(*) FROM `+t, []any{}
			if plugin != "" {
				switch t {
				case "events", "profile":
					q += ` WHERE plugin = ?`
					args = append(args, plugin)
				case "outbox":
					q += ` WHERE (category IN (SELECT category FROM plugin_categories WHERE plugin = ?) OR category = 0)`
					args = append(args, plugin)
				default:
					continue
				}
			}
			var n int
			if err := tx.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
				return err
			}
			out[t] = n
		}
		return nil
	})
	return out, err
}

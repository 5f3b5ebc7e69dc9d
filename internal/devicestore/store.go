package devicestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

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

// Open opens (creating if needed) the database at path and brings its
// schema up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	db, err := sqlitedb.Open(path, "foreign_keys(1)")
	if err != nil {
		return nil, fmt.Errorf("devicestore: %w", err)
	}
	db.SetMaxOpenConns(1)
	s := &Store{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("devicestore: %s: %w", path, err)
	}
	return s, nil
}

// Close closes the database. Everything committed stays committed.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) migrate(ctx context.Context) error {
	return sqlitedb.Migrate(ctx, s.db, migrations, nil)
}

// tx runs fn in the transaction called name, retrying while another
// process holds the write lock past busy_timeout.
func (s *Store) tx(ctx context.Context, name string, fn func(*sql.Tx) error) error {
	err := sqlitedb.Tx(ctx, s.db, fn)
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
var Tables = []string{"events", "profile", "outbox", "answers", "impressions", "memo"}

// Counts returns the number of rows in each of Tables, restricted to
// plugin's rows where a table has a plugin column ("" counts everything).
// It is the proof a Forget shows: the same numbers before and after.
func (s *Store) Counts(ctx context.Context, plugin string) (map[string]int, error) {
	out := map[string]int{}
	err := s.tx(ctx, "counts", func(tx *sql.Tx) error {
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

func errorsIsNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// Package sqlitedb opens Wisp's embedded SQLite databases (the aggregator's
// store, the device store, the privacy ledger) the one way they must all be
// opened — WAL, synchronous=FULL so a commit survives power loss, immediate
// transactions so writers queue instead of deadlocking, a busy timeout —
// and runs retried write transactions (Tx), read transactions that take no
// write lock (Read) and versioned migrations (package migrate) on them.
package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"modernc.org/sqlite"

	"github.com/wisp-project/wisp/internal/migrate"
)

// Open opens (creating if needed) the database file at path. Extra
// pragmas, in the driver's "name(value)" form, are applied to every
// connection after the durable defaults. Each connection keeps the
// statements it ran prepared (stmtcache.go).
func Open(path string, pragmas ...string) (*sql.DB, error) {
	q := url.Values{}
	for _, p := range append([]string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)"}, pragmas...) {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	c, err := sqlite.NewConnector("file:" + path + "?" + q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return sql.OpenDB(cachingConnector{Connector: c, counts: new(counts)}), nil
}

// Tx runs fn in a write transaction and commits it, retrying a few times
// with growing pauses while another process holds the write lock past the
// busy timeout. The write lock is held from BEGIN (IMMEDIATE) to the
// commit, so what fn reads stays true until it commits. The error is fn's
// or the database's, unwrapped.
func Tx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	return retry(ctx, db, nil, fn)
}

// Read runs fn in a read transaction: a deferred one, which in WAL mode
// takes no write lock, neither waits for a writer nor holds one up, and
// sees one snapshot across fn's statements; it commits nothing. fn must
// not write. A read of one statement needs no transaction at all: run it
// on db, where it is its own.
func Read(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	return retry(ctx, db, &sql.TxOptions{ReadOnly: true}, fn)
}

// Querier runs reads: a *sql.DB, where each statement is its own read
// transaction, or a *sql.Tx.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func retry(ctx context.Context, db *sql.DB, opts *sql.TxOptions, fn func(*sql.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := try(ctx, db, opts, fn)
		if err == nil || attempt == 4 || !Busy(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(10<<attempt) * time.Millisecond)
	}
}

func try(ctx context.Context, db *sql.DB, opts *sql.TxOptions, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Migrate brings db up to date with ms (see package migrate), recording
// the version in PRAGMA user_version, which SQLite writes in the same
// transaction as the schema change. before[v], if set, runs in migration
// v's transaction just before its SQL: Go that a schema change needs, such
// as handing a table's rows to another database before dropping it.
//
// A database already at the last version, as every open but a store's first
// finds it, is told so by one read, without the write transaction
// migrate.Run begins to read the version under the write lock: versions
// only grow, so one read at the last stays true.
func Migrate(ctx context.Context, db *sql.DB, ms []migrate.Migration, before map[int]func(context.Context, *sql.Tx) error) error {
	var v int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err == nil && v == len(ms) {
		return nil
	}
	return migrate.Run(ctx, migrator{db, before}, ms)
}

type migrator struct {
	db     *sql.DB
	before map[int]func(context.Context, *sql.Tx) error
}

func (m migrator) InTx(ctx context.Context, fn func(migrate.Tx) error) error {
	// Tx begins immediate transactions: the write lock is held from the
	// version read to the commit.
	return Tx(ctx, m.db, func(tx *sql.Tx) error { return fn(migratorTx{tx, m.before}) })
}

type migratorTx struct {
	tx     *sql.Tx
	before map[int]func(context.Context, *sql.Tx) error
}

func (t migratorTx) Version(ctx context.Context) (int, error) {
	var v int
	err := t.tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v)
	return v, err
}

func (t migratorTx) Apply(ctx context.Context, m migrate.Migration) error {
	if hook := t.before[m.Version]; hook != nil {
		if err := hook(ctx, t.tx); err != nil {
			return err
		}
	}
	if _, err := t.tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	_, err := t.tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, m.Version))
	return err
}

// Busy reports whether err is SQLITE_BUSY (or one of its extended codes).
func Busy(err error) bool {
	var coded interface{ Code() int }
	return errors.As(err, &coded) && coded.Code()&0xff == 5
}

// Closed reports whether err comes from using a closed database.
func Closed(err error) bool {
	return err != nil && strings.Contains(err.Error(), "database is closed")
}

// Package sqlitedb opens Wisp's embedded SQLite databases (the aggregator's
// store, the device store, the privacy ledger) the one way they must all be
// opened — WAL, synchronous=FULL so a commit survives power loss, immediate
// transactions so writers queue instead of deadlocking, a busy timeout —
// and runs retried transactions and versioned migrations on them.
package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Open opens (creating if needed) the database file at path. Extra
// pragmas, in the driver's "name(value)" form, are applied to every
// connection after the durable defaults.
func Open(path string, pragmas ...string) (*sql.DB, error) {
	q := url.Values{}
	for _, p := range append([]string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)"}, pragmas...) {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// Tx runs fn in a transaction and commits it, retrying a few times with
// growing pauses while another process holds the write lock past the busy
// timeout. The error is fn's or the database's, unwrapped.
func Tx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := try(ctx, db, fn)
		if err == nil || attempt == 4 || !Busy(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(10<<attempt) * time.Millisecond)
	}
}

func try(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Migrate applies scripts[v:] in one transaction, where v is the
// database's PRAGMA user_version, and records len(scripts). A database
// newer than the program is refused rather than guessed at.
func Migrate(ctx context.Context, db *sql.DB, scripts []string) error {
	return Tx(ctx, db, func(tx *sql.Tx) error {
		var version int
		if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
			return err
		}
		if version > len(scripts) {
			return fmt.Errorf("schema version %d is newer than this program (%d)", version, len(scripts))
		}
		for i := version; i < len(scripts); i++ {
			if _, err := tx.ExecContext(ctx, scripts[i]); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
		}
		_, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, len(scripts)))
		return err
	})
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

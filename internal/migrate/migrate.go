// Package migrate is the one way Wisp's databases evolve: the device store,
// the privacy ledger and the aggregator's store (SQLite and PostgreSQL).
//
// A store's schema is a directory of numbered SQL files embedded in its
// package — 0001_name.sql, 0002_name.sql, … — applied in order and never
// edited once released: a schema change is a new file. The database records
// the number of the last file applied (a Driver decides where: SQLite's
// PRAGMA user_version, PostgreSQL's schema_migrations table). Run applies
// each pending file in a transaction of its own, together with the record
// of its number, so a crash leaves the schema at one version or the next,
// never between; and it refuses a database whose version is newer than the
// files it has, rather than guess at a schema it does not know.
//
// A database created before its store was versioned records version 0 but
// holds tables. Such a store's 0001 file is the schema it had then, written
// so that it is a no-op on that database (CREATE … IF NOT EXISTS): Run
// applies it like any other and the database is adopted at version 1 with
// its rows untouched.
package migrate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one numbered SQL file.
type Migration struct {
	Version int    // the file's number: 1, 2, …
	Name    string // the file's name, for errors
	SQL     string
}

// ErrNewer: the database was migrated by a newer program.
var ErrNewer = errors.New("schema version is newer than this program")

// Load reads dir's migrations from fsys: every file is NNNN_name.sql, and
// their numbers run 1, 2, … without a gap.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	out := make([]Migration, len(names))
	for i, n := range names {
		num, _, ok := strings.Cut(n, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || len(num) != 4 || v != i+1 || !strings.HasSuffix(n, ".sql") {
			return nil, fmt.Errorf("migrate: %s/%s is not numbered %04d_name.sql", dir, n, i+1)
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, n))
		if err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		out[i] = Migration{Version: v, Name: n, SQL: string(b)}
	}
	return out, nil
}

// MustLoad is Load for migrations embedded in the program, where a bad
// directory is a build mistake.
func MustLoad(fsys fs.FS, dir string) []Migration {
	ms, err := Load(fsys, dir)
	if err != nil {
		panic(err)
	}
	return ms
}

// Driver runs transactions on one database for Run.
type Driver interface {
	// InTx runs fn in one transaction and commits it if fn returns nil.
	// The transaction must hold whatever lock keeps a concurrent Run (in
	// another goroutine, process or node) from reading the same version.
	InTx(ctx context.Context, fn func(Tx) error) error
}

// Tx is a Driver's transaction.
type Tx interface {
	// Version is the version the database records (0 if none).
	Version(ctx context.Context) (int, error)
	// Apply runs m's SQL and records m.Version as the database's version.
	Apply(ctx context.Context, m Migration) error
}

// Run brings the database up to date with ms (as Load returns them): every
// pending migration in a transaction of its own. It returns an error
// wrapping ErrNewer if the database records a version past the last of ms.
func Run(ctx context.Context, d Driver, ms []Migration) error {
	for {
		done := false
		err := d.InTx(ctx, func(tx Tx) error {
			v, err := tx.Version(ctx)
			switch {
			case err != nil:
				return err
			case v > len(ms):
				return fmt.Errorf("%w: database at %d, program at %d", ErrNewer, v, len(ms))
			case v == len(ms):
				done = true
				return nil
			}
			if ms[v].Version != v+1 {
				return fmt.Errorf("migrate: migration %s is number %d, want %d", ms[v].Name, ms[v].Version, v+1)
			}
			if err := tx.Apply(ctx, ms[v]); err != nil {
				return fmt.Errorf("migration %s: %w", ms[v].Name, err)
			}
			return nil
		})
		if err != nil || done {
			return err
		}
	}
}

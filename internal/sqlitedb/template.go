package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/wisp-project/wisp/internal/migrate"
)

// Template creates new databases of one store already migrated: the file
// of an empty database brought up to date with the store's migrations,
// built once per process and copied for each new database. Migrating a
// fresh SQLite file costs a transaction per migration, and parsing and
// planning every statement of the schema; a device that opens its store
// once at boot does not notice, a process simulating thousands of devices
// spent a tenth of its time there (docs/BENCHMARKS.md, "The demo").
//
// The copy is the same database migrating would have made: the store's
// migrations run on an empty file, in order, with no hooks (hooks move rows
// of older databases, and an empty one has none), and they contain no
// statement whose result differs between runs (a random value, the time).
// A store's test compares a copied database with a migrated one.
type Template struct {
	ms      []migrate.Migration
	pragmas []string

	once  sync.Once
	image []byte
	err   error
}

// NewTemplate returns the template of the store migrated by ms, whose
// connections use pragmas (as Open's).
func NewTemplate(ms []migrate.Migration, pragmas ...string) *Template {
	return &Template{ms: ms, pragmas: pragmas}
}

// ErrExists: Create found a database (or its write-ahead log) at the path.
var ErrExists = errors.New("sqlitedb: a database is already there")

// Create writes a migrated empty database at path if there is none yet. It
// is only a shortcut: the caller opens and migrates path afterwards as
// always, which for a created file finds nothing to do. It fails with
// ErrExists if path or its write-ahead log exists, and with the reason if
// the template could not be built or written; path is then untouched. The
// file appears whole or not at all: it is written under a temporary name,
// synced, and linked to path, which fails if path appeared meanwhile.
func (t *Template) Create(ctx context.Context, path string) error {
	for _, p := range []string{path, path + "-wal"} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w: %s", ErrExists, p)
		}
	}
	t.once.Do(func() { t.image, t.err = t.build(ctx) })
	if t.err != nil {
		return t.err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".new-*.db")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(t.image)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Link(f.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%w: %s", ErrExists, path)
		}
		return err
	}
	return nil
}

// build migrates an empty database in a temporary directory and returns
// its file, checkpointed and closed.
func (t *Template) build(ctx context.Context) ([]byte, error) {
	dir, err := os.MkdirTemp("", "wisp-template-")
	if err != nil {
		return nil, fmt.Errorf("sqlitedb: template: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "template.db")
	db, err := Open(path, t.pragmas...)
	if err != nil {
		return nil, err
	}
	err = Migrate(ctx, db, t.ms, nil)
	if cerr := db.Close(); err == nil {
		err = cerr // closing the last connection checkpoints the log into the file
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitedb: template: %w", err)
	}
	if _, err := os.Lstat(path + "-wal"); !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("sqlitedb: template: the write-ahead log outlived the close (%v)", err)
	}
	return os.ReadFile(path)
}

// Dump is a database's version, schema and rows as text, for tests that
// compare two databases (a store's template copy with a migrated file).
func Dump(ctx context.Context, db *sql.DB) (string, error) {
	var b strings.Builder
	var v int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "version %d\n", v)
	rows, err := db.QueryContext(ctx, `SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master ORDER BY type, name`)
	if err != nil {
		return "", err
	}
	var tables []string
	for rows.Next() {
		var typ, name, tbl, text string
		if err := rows.Scan(&typ, &name, &tbl, &text); err != nil {
			rows.Close()
			return "", err
		}
		fmt.Fprintf(&b, "%s %s on %s: %s\n", typ, name, tbl, text)
		if typ == "table" {
			tables = append(tables, name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", err
	}
	for _, t := range tables {
		rows, err := db.QueryContext(ctx, `SELECT * FROM "`+strings.ReplaceAll(t, `"`, `""`)+`"`)
		if err != nil {
			return "", err
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return "", err
			}
			fmt.Fprintf(&b, "row of %s: %v\n", t, vals)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

// Verify creates a database from the template and one by migrating an
// empty file, both in dir, and returns an error unless their Dumps are the
// same: each store's test calls it, so a migration that would make copies
// differ (a random value, the time) fails there.
func (t *Template) Verify(ctx context.Context, dir string) error {
	copied, migrated := filepath.Join(dir, "template-copy.db"), filepath.Join(dir, "template-migrated.db")
	if err := t.Create(ctx, copied); err != nil {
		return err
	}
	var dumps [2]string
	for i, path := range []string{copied, migrated} {
		db, err := Open(path, t.pragmas...)
		if err != nil {
			return err
		}
		err = Migrate(ctx, db, t.ms, nil)
		if err == nil {
			dumps[i], err = Dump(ctx, db)
		}
		db.Close()
		if err != nil {
			return err
		}
	}
	if dumps[0] != dumps[1] {
		return fmt.Errorf("sqlitedb: a template copy is\n%s\nbut a migrated database is\n%s", dumps[0], dumps[1])
	}
	return nil
}

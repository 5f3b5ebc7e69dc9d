package sqlitedb_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/wisp-project/wisp/internal/migrate"
	"github.com/wisp-project/wisp/internal/sqlitedb"
)

// TestMigrateOneTransactionEach: a failing migration rolls back alone —
// the ones before it stay applied and recorded — and a hook runs inside
// its migration's transaction, so its failure undoes the migration too.
func TestMigrateOneTransactionEach(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitedb.Open(filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ms := []migrate.Migration{
		{Version: 1, Name: "0001_a.sql", SQL: `CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);`},
		{Version: 2, Name: "0002_b.sql", SQL: `CREATE TABLE b (y INTEGER); INSERT INTO nowhere VALUES (1);`},
	}
	if err := sqlitedb.Migrate(ctx, db, ms, nil); err == nil {
		t.Fatal("a broken migration 2 succeeded")
	}
	version := func() (v int) {
		db.QueryRow(`PRAGMA user_version`).Scan(&v)
		return v
	}
	var tables int
	db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name IN ('a', 'b')`).Scan(&tables)
	if version() != 1 || tables != 1 {
		t.Fatalf("after a failed migration 2: version %d, %d of tables a, b; want 1 and 1", version(), tables)
	}

	ms[1].SQL = `CREATE TABLE b (y INTEGER);`
	refuse := errors.New("refused")
	hook := map[int]func(context.Context, *sql.Tx) error{2: func(ctx context.Context, tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM a`).Scan(&n); err != nil || n != 1 {
			t.Errorf("hook sees %d rows of a, %v", n, err)
		}
		return refuse
	}}
	if err := sqlitedb.Migrate(ctx, db, ms, hook); !errors.Is(err, refuse) {
		t.Fatalf("failing hook: %v", err)
	}
	if version() != 1 {
		t.Fatalf("a failed hook left version %d, want 1", version())
	}
	if err := sqlitedb.Migrate(ctx, db, ms, nil); err != nil || version() != 2 {
		t.Fatalf("version %d, %v; want 2", version(), err)
	}
}

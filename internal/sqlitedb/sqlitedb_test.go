package sqlitedb_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/internal/migrate"
	"github.com/wisp-project/wisp/internal/sqlitedb"
)

func TestOpenIsDurableAndMigrates(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := sqlitedb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var mode string
	var sync int
	db.QueryRow(`PRAGMA journal_mode`).Scan(&mode)
	db.QueryRow(`PRAGMA synchronous`).Scan(&sync)
	if mode != "wal" || sync != 2 {
		t.Fatalf("journal_mode %q synchronous %d, want wal and 2 (FULL)", mode, sync)
	}
	v1 := []migrate.Migration{{Version: 1, Name: "0001_a.sql", SQL: `CREATE TABLE a (x INTEGER)`}}
	v2 := append(v1, migrate.Migration{Version: 2, Name: "0002_b.sql", SQL: `CREATE TABLE b (y INTEGER)`})
	if err := sqlitedb.Migrate(ctx, db, v1, nil); err != nil {
		t.Fatal(err)
	}
	if err := sqlitedb.Migrate(ctx, db, v2, nil); err != nil { // only the new script runs
		t.Fatal(err)
	}
	if err := sqlitedb.Migrate(ctx, db, v1, nil); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("older program on a newer database: %v", err)
	}
	err = sqlitedb.Tx(ctx, db, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO b VALUES (1)`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := sqlitedb.Tx(ctx, db, func(*sql.Tx) error { return nil }); !sqlitedb.Closed(err) {
		t.Fatalf("Tx on a closed database: %v, want Closed", err)
	}
	db, _ = sqlitedb.Open(path)
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM b`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("after reopen: %d rows, %v", n, err)
	}
}

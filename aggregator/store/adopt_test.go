package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"

	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/aggregator/store/storetest"
)

// The store's schema as the code before package migrate left it (two
// migrations; SQLite records 2 in PRAGMA user_version, PostgreSQL rows 1
// and 2 in schema_migrations), copied here so the tests keep proving that
// such a database opens whatever the migrations become.
const (
	v2SQLite = `
	CREATE TABLE reports (
		id        BLOB PRIMARY KEY,
		campaign  TEXT NOT NULL,
		epoch     INTEGER NOT NULL,
		mechanism INTEGER NOT NULL,
		answer    BLOB NOT NULL
	) WITHOUT ROWID;
	CREATE INDEX reports_by_campaign_epoch ON reports (campaign, epoch);
	CREATE TABLE hpke_keys (
		id         INTEGER PRIMARY KEY CHECK (id BETWEEN 0 AND 255),
		private    BLOB NOT NULL,
		state      TEXT NOT NULL CHECK (state IN ('pending', 'active', 'expired')),
		created_at INTEGER NOT NULL,
		changed_at INTEGER NOT NULL
	);
	CREATE TABLE campaigns (
		id         TEXT PRIMARY KEY,
		tenant     TEXT NOT NULL,
		config     BLOB NOT NULL,
		signature  BLOB NOT NULL,
		created_at INTEGER NOT NULL
	);
	CREATE TABLE releases (
		campaign    TEXT NOT NULL,
		epoch       INTEGER NOT NULL,
		released_at INTEGER NOT NULL,
		body        BLOB NOT NULL,
		PRIMARY KEY (campaign, epoch)
	) WITHOUT ROWID;
	CREATE TABLE tokens (
		hash       BLOB PRIMARY KEY,
		role       TEXT NOT NULL,
		tenant     TEXT NOT NULL,
		name       TEXT NOT NULL,
		created_at INTEGER NOT NULL
	) WITHOUT ROWID;
	CREATE TABLE secrets (
		name  TEXT PRIMARY KEY,
		value BLOB NOT NULL
	) WITHOUT ROWID;`
	v2Postgres = `
	CREATE TABLE reports (
		id        bytea PRIMARY KEY,
		campaign  text NOT NULL,
		epoch     bigint NOT NULL,
		mechanism smallint NOT NULL,
		answer    bytea NOT NULL
	);
	CREATE INDEX reports_by_campaign_epoch ON reports (campaign, epoch);
	CREATE TABLE hpke_keys (
		id         smallint PRIMARY KEY CHECK (id BETWEEN 0 AND 255),
		private    bytea NOT NULL,
		state      text NOT NULL CHECK (state IN ('pending', 'active', 'expired')),
		created_at timestamptz NOT NULL,
		changed_at timestamptz NOT NULL
	);
	CREATE TABLE campaigns (
		id         text PRIMARY KEY,
		tenant     text NOT NULL,
		config     bytea NOT NULL,
		signature  bytea NOT NULL,
		created_at timestamptz NOT NULL
	);
	CREATE TABLE releases (
		campaign    text NOT NULL,
		epoch       bigint NOT NULL,
		released_at timestamptz NOT NULL,
		body        bytea NOT NULL,
		PRIMARY KEY (campaign, epoch)
	);
	CREATE TABLE tokens (
		hash       bytea PRIMARY KEY,
		role       text NOT NULL,
		tenant     text NOT NULL,
		name       text NOT NULL,
		created_at timestamptz NOT NULL
	);
	CREATE TABLE secrets (
		name  text PRIMARY KEY,
		value bytea NOT NULL
	);
	CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
	INSERT INTO schema_migrations (version) VALUES (1), (2);`
	oldReport = `INSERT INTO reports (id, campaign, epoch, mechanism, answer) VALUES ($1, 'c', 3, 1, $2)`
)

// wantOldReport checks that the report the old code stored is there.
func wantOldReport(t *testing.T, s store.Store) {
	t.Helper()
	var n int
	err := s.Scan(context.Background(), "c", 3, func(mech store.Mechanism, answer []byte) error {
		if mech != 1 || string(answer) != "\x01" {
			t.Errorf("old report: mechanism %d answer %x", mech, answer)
		}
		n++
		return nil
	})
	if err != nil || n != 1 {
		t.Errorf("old database: %d reports of c/3, %v; want 1", n, err)
	}
}

func TestSQLiteOpensOldDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agg.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{v2SQLite, `PRAGMA user_version = 2`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(oldReport, []byte{1, 2}, []byte{1}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	wantOldReport(t, storetest.Open(t, "sqlite:"+path))
}

func TestPostgresOpensOldDatabase(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.PostgresDSN(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, v2Postgres); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, oldReport, []byte{1, 2}, []byte{1}); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	wantOldReport(t, storetest.Open(t, "postgres:"+dsn))
}

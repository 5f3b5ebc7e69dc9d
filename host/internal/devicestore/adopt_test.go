package devicestore_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/wisp-project/wisp/host/internal/devicestore"
	"github.com/wisp-project/wisp/internal/ldp"
)

// v4Schema is the device store's schema as the code before package
// migrate left it (four Go-string migrations, PRAGMA user_version 4),
// copied here so the test keeps proving that such a database opens
// whatever the migrations become.
const v4Schema = `
	CREATE TABLE plugins (
		name         TEXT PRIMARY KEY,
		version      TEXT NOT NULL,
		author       TEXT NOT NULL,     -- author key text; '' for an unsigned development plugin
		author_name  TEXT NOT NULL,     -- the trust store's comment for the key
		manifest     BLOB NOT NULL,     -- the (signed) manifest file as installed
		wasm         BLOB NOT NULL,
		retention_ms INTEGER NOT NULL,
		installed_at INTEGER NOT NULL,
		scored_seq   INTEGER NOT NULL DEFAULT 0  -- last event seq the profile reflects
	);
	CREATE TABLE plugin_categories (
		plugin   TEXT NOT NULL REFERENCES plugins (name) ON DELETE CASCADE,
		category INTEGER NOT NULL,
		PRIMARY KEY (plugin, category)
	) WITHOUT ROWID;
	CREATE TABLE events (
		seq    INTEGER PRIMARY KEY AUTOINCREMENT,
		plugin TEXT NOT NULL,
		kind   INTEGER NOT NULL,
		code   INTEGER NOT NULL,
		at     INTEGER NOT NULL,
		value  REAL NOT NULL
	);
	CREATE INDEX events_by_plugin_at ON events (plugin, at);
	CREATE TABLE profile (
		plugin     TEXT NOT NULL,
		category   INTEGER NOT NULL,
		value      REAL NOT NULL,
		updated_at INTEGER NOT NULL,
		PRIMARY KEY (plugin, category)
	) WITHOUT ROWID;
	CREATE TABLE consent (
		purpose    TEXT PRIMARY KEY,     -- 'plugin:<name>' or 'campaign:<id>'
		granted    INTEGER NOT NULL,
		changed_at INTEGER NOT NULL
	) WITHOUT ROWID;
	CREATE TABLE consent_history (
		seq     INTEGER PRIMARY KEY AUTOINCREMENT,
		purpose TEXT NOT NULL,
		granted INTEGER NOT NULL,
		erased  INTEGER NOT NULL,
		at      INTEGER NOT NULL
	);
	CREATE TABLE campaigns (
		id         TEXT PRIMARY KEY,
		spec       BLOB NOT NULL,        -- the campaign's JSON as the aggregator served it
		fetched_at INTEGER NOT NULL
	) WITHOUT ROWID;
	CREATE TABLE meta (
		key   TEXT PRIMARY KEY,
		value BLOB NOT NULL
	) WITHOUT ROWID;
	CREATE TABLE answers (
		campaign    TEXT NOT NULL,
		epoch       INTEGER NOT NULL,
		epsilon     REAL NOT NULL,
		answered_at INTEGER NOT NULL,
		PRIMARY KEY (campaign, epoch)
	) WITHOUT ROWID;
	CREATE TABLE outbox (
		report_id    BLOB PRIMARY KEY,
		campaign     TEXT NOT NULL,
		epoch        INTEGER NOT NULL,
		category     INTEGER NOT NULL,  -- the question's category, so revoking a plugin finds its reports
		envelope     BLOB NOT NULL,     -- sealed; the device cannot read it back
		size         INTEGER NOT NULL,
		dummy        INTEGER NOT NULL,
		created_at   INTEGER NOT NULL,
		not_before   INTEGER NOT NULL,  -- randomized send delay
		next_attempt INTEGER NOT NULL,  -- backoff
		expires_at   INTEGER NOT NULL,
		attempts     INTEGER NOT NULL DEFAULT 0,
		in_flight    INTEGER NOT NULL DEFAULT 0  -- claimed by a sender; in doubt after a crash
	) WITHOUT ROWID;
	CREATE TABLE egress (
		seq       INTEGER PRIMARY KEY AUTOINCREMENT,
		report_id BLOB NOT NULL,
		campaign  TEXT NOT NULL,
		epoch     INTEGER NOT NULL,
		size      INTEGER NOT NULL,
		dummy     INTEGER NOT NULL,
		at        INTEGER NOT NULL,
		outcome   TEXT NOT NULL        -- accepted, duplicate, rejected:<reason>, dropped:<why>
	);
	CREATE UNIQUE INDEX egress_once ON egress (report_id);
	CREATE TABLE impressions (
		seq      INTEGER PRIMARY KEY AUTOINCREMENT,
		creative TEXT NOT NULL,
		campaign TEXT NOT NULL,
		at       INTEGER NOT NULL
	);
	CREATE INDEX impressions_by_campaign ON impressions (campaign, at);
	CREATE TABLE memo (
		campaign TEXT NOT NULL,
		value    TEXT NOT NULL,
		answer   BLOB NOT NULL,
		PRIMARY KEY (campaign, value)
	) WITHOUT ROWID;
	CREATE INDEX impressions_by_time ON impressions (at);`

// TestOpenAdoptsOldDatabase: a device database written by the code before
// the migrations were files opens with its rows, and its memoized answers
// go to the handoff (the ledger) before the memo table is dropped — never
// dropped without one.
func TestOpenAdoptsOldDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "device.db")
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{v4Schema, `PRAGMA user_version = 4`,
		`INSERT INTO plugins VALUES ('p', '1', '', '', x'7b7d', x'0061736d', 86400000, 1, 0)`,
		`INSERT INTO plugin_categories VALUES ('p', 410)`,
		`INSERT INTO events (plugin, kind, code, at, value) VALUES ('p', 1, 0, ` + ms(at) + `, 2.5)`,
		`INSERT INTO consent VALUES ('plugin:p', 1, 1)`,
		`INSERT INTO answers VALUES ('c', 3, 0.5, 1)`,
		`INSERT INTO memo VALUES ('c', '1', x'0102')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	if s, err := devicestore.Open(ctx, path); err == nil {
		s.Close()
		t.Fatal("Open dropped a memo table with rows and no handoff")
	}
	if s, err := devicestore.Open(ctx, path, devicestore.WithMemoHandoff(func(context.Context, []devicestore.Memo) error {
		return errors.New("ledger is full")
	})); err == nil {
		s.Close()
		t.Fatal("Open succeeded although the handoff failed")
	}
	var handed []devicestore.Memo
	s, err := devicestore.Open(ctx, path, devicestore.WithMemoHandoff(func(_ context.Context, memos []devicestore.Memo) error {
		handed = append(handed, memos...)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if len(handed) != 1 || handed[0].Key != (ldp.MemoKey{Campaign: "c", Value: "1"}) || string(handed[0].Answer) != "\x01\x02" {
		t.Errorf("memos handed off: %+v, want c/1 = 0102", handed)
	}
	plugins, err := s.Plugins(ctx)
	if err != nil || len(plugins) != 1 || plugins[0].Name != "p" || len(plugins[0].Categories) != 1 {
		t.Fatalf("plugins after adoption: %+v, %v", plugins, err)
	}
	if plugins[0].Module != ([32]byte{}) {
		t.Errorf("an old row's module digest is %x, want none (its bytes are in the row)", plugins[0].Module)
	}
	if wasm, err := s.InlineWasm(ctx, "p"); err != nil || string(wasm) != "\x00asm" {
		t.Errorf("the module after adoption: %x, %v, want 0061736d", wasm, err)
	}
	sum := sha256.Sum256([]byte("\x00asm"))
	if err := s.MoveModuleOut(ctx, "p", sum); err != nil {
		t.Fatal(err)
	}
	if plugins, err := s.Plugins(ctx); err != nil || plugins[0].Module != sum {
		t.Errorf("the module digest after MoveModuleOut: %+v, %v, want %x", plugins, err, sum)
	}
	if wasm, err := s.InlineWasm(ctx, "p"); err != nil || len(wasm) != 0 {
		t.Errorf("the row's bytes after MoveModuleOut: %x, %v, want none", wasm, err)
	}
	events, err := s.Window(ctx, "p", at.Add(-time.Hour), at.Add(time.Hour), 1<<62, 10)
	if err != nil || len(events) != 1 || events[0].Value != 2.5 {
		t.Errorf("events after adoption: %+v, %v", events, err)
	}
	if consents, err := s.Consents(ctx); err != nil || !consents["plugin:p"] {
		t.Errorf("consent after adoption: %v, %v", consents, err)
	}
	if done, err := s.Answered(ctx, "c", 3); err != nil || !done {
		t.Errorf("answered after adoption: %v, %v", done, err)
	}
	s.Close()
	db, _ = sql.Open("sqlite", "file:"+path+"?mode=ro")
	defer db.Close()
	var memoTables int
	db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'memo'`).Scan(&memoTables)
	if memoTables != 0 {
		t.Error("the memo table is still in the device store")
	}
}

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

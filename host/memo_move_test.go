package host

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/wisp-project/wisp/internal/ldp"
)

// TestOpenMovesMemosToLedger: a device directory from before the memos
// moved (device.db at schema version 4, with a memo table) opens with its
// memoized answers in the ledger and none left in device.db — also when a
// crash had cut an earlier move short after the ledger's commit.
func TestOpenMovesMemosToLedger(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	dir := t.TempDir()
	d, a := readyDevice(t, dir, clock, nil)
	d.Close(ctx)

	// Version 4 is today's schema without migration 5 (DROP TABLE memo)
	// and migration 6 (the campaign pins' and consent digests' columns)
	// and migration 7 (the outbox's report token) and migration 8 (the
	// plugin modules' own table).
	exec := func(file string, queries ...string) {
		t.Helper()
		db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, q := range queries {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	exec(DeviceDB, `CREATE TABLE memo (
		campaign TEXT NOT NULL,
		value    TEXT NOT NULL,
		answer   BLOB NOT NULL,
		PRIMARY KEY (campaign, value)
	) WITHOUT ROWID`,
		`INSERT INTO memo VALUES ('runners', '1', x'01'), ('cyclists', '0', x'00')`,
		`ALTER TABLE campaigns DROP COLUMN version`, `ALTER TABLE campaigns DROP COLUMN digest`,
		`ALTER TABLE campaigns DROP COLUMN served`, `ALTER TABLE campaigns DROP COLUMN refused_at`,
		`ALTER TABLE consent DROP COLUMN digest`, `ALTER TABLE outbox DROP COLUMN token`,
		`ALTER TABLE plugins ADD COLUMN wasm BLOB NOT NULL DEFAULT x''`,
		`UPDATE plugins SET wasm = (SELECT wasm FROM plugin_modules WHERE plugin = name)`,
		`DROP TABLE plugin_modules`,
		`PRAGMA user_version = 4`)
	// The interrupted earlier move: one memo already in the ledger.
	exec(LedgerDB, `INSERT INTO memo VALUES ('runners', '1', x'01')`)

	d = testDevice(t, dir, clock, a, nil)
	for key, want := range map[ldp.MemoKey]string{{Campaign: "runners", Value: "1"}: "\x01", {Campaign: "cyclists", Value: "0"}: "\x00"} {
		got, ok, err := d.ledger.LoadMemo(ctx, key)
		if err != nil || !ok || string(got) != want {
			t.Errorf("memo %v in the ledger: %x %v %v, want %x", key, got, ok, err, want)
		}
	}
	st, err := d.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Stored["memo"] != 2 {
		t.Errorf("status counts %d memos, want 2", st.Stored["memo"])
	}
	db, _ := sql.Open("sqlite", "file:"+filepath.Join(dir, DeviceDB)+"?mode=ro")
	defer db.Close()
	var tables int
	db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'memo'`).Scan(&tables)
	if tables != 0 {
		t.Error("device.db still has a memo table")
	}
}

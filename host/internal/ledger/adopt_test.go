package ledger_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/wisp-project/wisp/host/internal/ledger"
	"github.com/wisp-project/wisp/internal/ldp"
)

// v0Schema is the ledger's schema before it was versioned (schema.sql,
// applied on every open, user_version left at 0), copied here so the test
// keeps proving that such a ledger opens whatever the migrations become.
const v0Schema = `
CREATE TABLE IF NOT EXISTS spend (
    id         INTEGER PRIMARY KEY,
    campaign   TEXT    NOT NULL,
    epoch      INTEGER NOT NULL,
    nano_eps   INTEGER NOT NULL CHECK (nano_eps > 0),
    at_unix_ns INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS spend_by_campaign ON spend (campaign, epoch);
CREATE INDEX IF NOT EXISTS spend_by_time ON spend (at_unix_ns);
CREATE TABLE IF NOT EXISTS memo (
    campaign TEXT NOT NULL,
    value    TEXT NOT NULL,
    answer   BLOB NOT NULL,
    PRIMARY KEY (campaign, value)
);`

// TestOpenAdoptsUnversionedLedger: a ledger written by the unversioned
// code opens, keeps its spends (the budget stays spent) and its memos, and
// is versioned from then on.
func TestOpenAdoptsUnversionedLedger(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{v0Schema, nil},
		{`INSERT INTO spend (campaign, epoch, nano_eps, at_unix_ns) VALUES ('c', 3, 500000000, ?)`, []any{at.Add(-time.Hour).UnixNano()}},
		{`INSERT INTO memo (campaign, value, answer) VALUES ('c', '1', x'0102')`, nil},
	} {
		if _, err := db.Exec(q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	l := mustOpen(t, path, ledger.NewConfig(2).WithClock(func() time.Time { return at }))
	entries, err := l.Entries(ctx, time.Time{})
	if err != nil || len(entries) != 1 || entries[0].Campaign != "c" || entries[0].Epoch != 3 || entries[0].Epsilon != 0.5 {
		t.Fatalf("entries after adoption: %+v, %v", entries, err)
	}
	if b, err := l.Remaining(ctx, "c", 3, 0.5); err != nil || b.Spent != 0.5 || b.Left != 0 {
		t.Errorf("the adopted spend no longer counts: %+v, %v", b, err)
	}
	answer, ok, err := l.LoadMemo(ctx, ldp.MemoKey{Campaign: "c", Value: "1"})
	if err != nil || !ok || string(answer) != "\x01\x02" {
		t.Errorf("memo after adoption: %x %v %v", answer, ok, err)
	}
	l.Close()
	db, _ = sql.Open("sqlite", "file:"+path+"?mode=ro")
	defer db.Close()
	var version int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil || version < 1 {
		t.Errorf("adopted ledger at user_version %d (%v), want ≥ 1", version, err)
	}
}

// TestAdoptedSpendsCountTowardLongTermCaps: spends recorded before the
// ledger kept categories (migration 2) keep counting — against the device's
// long-term cap and, since they may have depended on any category, against
// every category's.
func TestAdoptedSpendsCountTowardLongTermCaps(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(v0Schema); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO spend (campaign, epoch, nano_eps, at_unix_ns) VALUES ('old', 1, 1500000000, ?)`, at.Add(-48*time.Hour).UnixNano()); err != nil {
		t.Fatal(err)
	}
	db.Close()

	l := mustOpen(t, path, ledger.NewConfig(10).WithLongTerm(2, 2.5, 365*24*time.Hour).WithClock(func() time.Time { return at }))
	lt, err := l.LongTerm(ctx)
	if err != nil || lt.Total != 1.5 || lt.Unattributed != 1.5 || lt.Category(12345) != 1.5 || len(lt.PerCategory) != 0 {
		t.Fatalf("LongTerm of an adopted ledger = %+v, %v", lt, err)
	}
	spend := func(campaign string, eps float64, cat uint32) error {
		_, err := l.Spend(ctx, ledger.Charge{Campaign: campaign, Epsilon: eps, EpochBudget: eps, Categories: []uint32{cat}})
		return err
	}
	var be *ledger.BudgetError
	if err := spend("a", 0.6, 7); !errors.As(err, &be) || be.Scope != ledger.ScopeCategory || be.Spent != 1.5 {
		t.Fatalf("spend over an adopted spend: %v, want a category refusal counting the old 1.5", err)
	}
	if err := spend("a", 0.5, 7); err != nil {
		t.Fatal(err)
	}
	if err := spend("b", 0.5, 8); err != nil { // 8 is at its cap of 2 (1.5 + 0.5), the device at 2.5
		t.Fatal(err)
	}
	if _, err := l.Spend(ctx, ledger.Charge{Campaign: "c", Epsilon: 0.1, EpochBudget: 1}); !errors.As(err, &be) || be.Scope != ledger.ScopeDevice {
		t.Fatalf("err = %v, want the device cap (1.5 + 0.5 + 0.5 + 0.1 > 2.5)", err)
	}
	es, _ := l.Entries(ctx, time.Time{})
	if len(es) != 3 || es[0].Categories != nil || len(es[1].Categories) != 1 {
		t.Errorf("entries %+v: the adopted one should have no categories", es)
	}
}

package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"

	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/aggregator/store/storetest"
)

// wantReportColumns is everything stored about a report: no address, no
// user agent, no arrival time, no sequence number.
var wantReportColumns = []string{"answer", "campaign", "epoch", "id", "mechanism"}

func TestSQLiteSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agg.db")
	storetest.Open(t, "sqlite:"+path).Close()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM pragma_table_info('reports') ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for rows.Next() {
		var c string
		rows.Scan(&c)
		cols = append(cols, c)
	}
	rows.Close()
	if !slices.Equal(cols, wantReportColumns) {
		t.Errorf("reports columns %v, want %v", cols, wantReportColumns)
	}
	var withoutRowid int
	db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'reports' AND sql LIKE '%WITHOUT ROWID%'`).Scan(&withoutRowid)
	if withoutRowid != 1 {
		t.Error("reports has a rowid: its order would tell which reports arrived together")
	}
	if _, err := db.Exec(`PRAGMA user_version = 99`); err != nil {
		t.Fatal(err)
	}
	if _, err := store.OpenSQLite(context.Background(), path); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("opening a newer schema: %v, want a refusal", err)
	}
}

func TestPostgresSchema(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	storetest.Open(t, "postgres:"+dsn).Close()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'reports' ORDER BY column_name`)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cols, wantReportColumns) {
		t.Errorf("reports columns %v, want %v", cols, wantReportColumns)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES (99)`); err != nil {
		t.Fatal(err)
	}
	if _, err := store.OpenPostgres(ctx, dsn); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("opening a newer schema: %v, want a refusal", err)
	}
}

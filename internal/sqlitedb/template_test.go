package sqlitedb_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/internal/migrate"
	"github.com/wisp-project/wisp/internal/sqlitedb"
)

var templateMigrations = []migrate.Migration{
	{Version: 1, Name: "0001_a.sql", SQL: `CREATE TABLE a (x INTEGER PRIMARY KEY, y TEXT NOT NULL);`},
	{Version: 2, Name: "0002_b.sql", SQL: `CREATE TABLE b (z BLOB); CREATE INDEX a_by_y ON a (y);`},
}

func dump(t *testing.T, path string) string {
	t.Helper()
	db, err := sqlitedb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := sqlitedb.Migrate(context.Background(), db, templateMigrations, nil); err != nil {
		t.Fatal(err)
	}
	d, err := sqlitedb.Dump(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestTemplateCreate: a database created from a template is the one
// migrating an empty file makes, a working WAL database at the last
// version; Create never touches a path where a database (or its log)
// is.
func TestTemplateCreate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tmpl := sqlitedb.NewTemplate(templateMigrations)
	copied := filepath.Join(dir, "copied.db")
	if err := tmpl.Create(ctx, copied); err != nil {
		t.Fatal(err)
	}
	migrated := dump(t, filepath.Join(dir, "migrated.db"))
	if got := dump(t, copied); got != migrated || !strings.Contains(got, "version 2\n") || !strings.Contains(got, "a_by_y") {
		t.Fatalf("copied database:\n%s\nmigrated one:\n%s", got, migrated)
	}
	db, err := sqlitedb.Open(copied)
	if err != nil {
		t.Fatal(err)
	}
	var mode string
	if _, err := db.Exec(`INSERT INTO a (y) VALUES ('kept')`); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal mode %q, %v", mode, err)
	}
	db.Close()

	// Where a database is, Create refuses and leaves it as it was.
	if err := tmpl.Create(ctx, copied); !errors.Is(err, sqlitedb.ErrExists) {
		t.Fatalf("Create over a database: %v, want ErrExists", err)
	}
	if d := dump(t, copied); !strings.Contains(d, "[1 kept]") {
		t.Fatalf("the row written before is gone:\n%s", d)
	}
	orphan := filepath.Join(dir, "orphan.db")
	if err := os.WriteFile(orphan+"-wal", []byte("log"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := tmpl.Create(ctx, orphan); !errors.Is(err, sqlitedb.ErrExists) {
		t.Fatalf("Create beside a write-ahead log: %v, want ErrExists", err)
	}
	if _, err := os.Stat(orphan); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Create beside a write-ahead log made the database: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".new-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// TestTemplateVerify: Verify passes a deterministic schema and catches a
// migration whose result differs between runs.
func TestTemplateVerify(t *testing.T) {
	ctx := context.Background()
	if err := sqlitedb.NewTemplate(templateMigrations).Verify(ctx, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	random := append(templateMigrations[:2:2], migrate.Migration{Version: 3, Name: "0003_secret.sql",
		SQL: `CREATE TABLE secret (v BLOB); INSERT INTO secret VALUES (randomblob(16));`})
	if err := sqlitedb.NewTemplate(random).Verify(ctx, t.TempDir()); err == nil || !strings.Contains(err.Error(), "row of secret") {
		t.Fatalf("a migration writing a random value passed Verify: %v", err)
	}
}

// TestTemplateBrokenMigration: a template whose migrations fail creates
// nothing and says why.
func TestTemplateBrokenMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	tmpl := sqlitedb.NewTemplate([]migrate.Migration{{Version: 1, Name: "0001_bad.sql", SQL: `CREATE TABLE`}})
	if err := tmpl.Create(context.Background(), path); err == nil || errors.Is(err, sqlitedb.ErrExists) {
		t.Fatalf("broken template: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a broken template created %s: %v", path, err)
	}
}

package sqlitedb_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/wisp-project/wisp/internal/migrate"
	"github.com/wisp-project/wisp/internal/sqlitedb"
)

func openAt(t *testing.T, path string, pragmas ...string) *sql.DB {
	t.Helper()
	db, err := sqlitedb.Open(path, pragmas...)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func count(t *testing.T, ctx context.Context, q sqlitedb.Querier) int {
	t.Helper()
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReadTakesNoWriteLockAndSeesOneSnapshot: Read runs while another
// connection holds the write lock (a Tx would wait out the busy timeout),
// and its statements see the database as it was at its first one, even
// after the writer commits in between.
func TestReadTakesNoWriteLockAndSeesOneSnapshot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	writer, reader := openAt(t, path), openAt(t, path)
	if _, err := writer.Exec(`CREATE TABLE t (a INTEGER)`); err != nil {
		t.Fatal(err)
	}
	tx, err := writer.Begin() // BEGIN IMMEDIATE: the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var before, after int
	err = sqlitedb.Read(ctx, reader, func(rtx *sql.Tx) error {
		before = count(t, ctx, rtx)
		if err := tx.Commit(); err != nil {
			return err
		}
		after = count(t, ctx, rtx)
		return nil
	})
	if err != nil {
		t.Fatalf("Read beside a writer: %v", err)
	}
	if before != 0 || after != 0 {
		t.Fatalf("Read saw %d then %d rows, want 0 and 0: one snapshot from before the commit", before, after)
	}
	if n := count(t, ctx, reader); n != 1 {
		t.Fatalf("after the Read: %d rows, want the committed 1", n)
	}
}

// TestStatsCount: StatsOf counts write and read transactions, statements
// run outside one, and statements compiled — once per connection for a
// statement run again.
func TestStatsCount(t *testing.T) {
	ctx := context.Background()
	db := openAt(t, filepath.Join(t.TempDir(), "x.db"))
	if _, err := db.Exec(`CREATE TABLE t (a INTEGER)`); err != nil {
		t.Fatal(err)
	}
	start := sqlitedb.StatsOf(db)
	for i := range 3 {
		if err := sqlitedb.Tx(ctx, db, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO t VALUES (?)`, i)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sqlitedb.Read(ctx, db, func(tx *sql.Tx) error { count(t, ctx, tx); return nil }); err != nil {
		t.Fatal(err)
	}
	count(t, ctx, db)
	count(t, ctx, db)
	// BEGIN IMMEDIATE, COMMIT, the insert, BEGIN, the count.
	want := sqlitedb.Stats{Writes: 3, Reads: 1, Implicit: 2, Prepared: 5}
	if got := sqlitedb.StatsOf(db).Sub(start); got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
}

// TestCommitFailureLeavesNoTransaction: a COMMIT that fails (a deferred
// foreign key still violated) leaves SQLite's transaction open; Tx rolls it
// back, so nothing is kept and the connection's next transaction begins.
func TestCommitFailureLeavesNoTransaction(t *testing.T) {
	ctx := context.Background()
	db := openAt(t, filepath.Join(t.TempDir(), "x.db"), "foreign_keys(1)")
	if _, err := db.Exec(`CREATE TABLE p (id INTEGER PRIMARY KEY);
		CREATE TABLE t (a INTEGER REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED)`); err != nil {
		t.Fatal(err)
	}
	insert := func(v int) error {
		return sqlitedb.Tx(ctx, db, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO t VALUES (?)`, v)
			return err
		})
	}
	if err := insert(7); err == nil {
		t.Fatal("a row referencing no parent committed")
	}
	if _, err := db.Exec(`INSERT INTO p VALUES (8)`); err != nil {
		t.Fatalf("after the failed commit: %v", err)
	}
	if err := insert(8); err != nil {
		t.Fatalf("the next transaction: %v", err)
	}
	refuse := errors.New("refused")
	if err := sqlitedb.Tx(ctx, db, func(tx *sql.Tx) error {
		tx.ExecContext(ctx, `INSERT INTO t VALUES (8)`)
		return refuse
	}); !errors.Is(err, refuse) {
		t.Fatalf("Tx returned %v, want fn's error", err)
	}
	if n := count(t, ctx, db); n != 1 {
		t.Fatalf("%d rows, want 1: the failed commit and the refused Tx keep nothing", n)
	}
}

// TestMigrateUpToDateWritesNothing: Migrate on a database at the last
// version reads the version and begins no write transaction.
func TestMigrateUpToDateWritesNothing(t *testing.T) {
	ctx := context.Background()
	db := openAt(t, filepath.Join(t.TempDir(), "x.db"))
	ms := []migrate.Migration{{Version: 1, Name: "0001_a.sql", SQL: `CREATE TABLE a (x INTEGER)`}}
	if err := sqlitedb.Migrate(ctx, db, ms, nil); err != nil {
		t.Fatal(err)
	}
	start := sqlitedb.StatsOf(db)
	if err := sqlitedb.Migrate(ctx, db, ms, nil); err != nil {
		t.Fatal(err)
	}
	if got := sqlitedb.StatsOf(db).Sub(start); got.Writes != 0 || got.Reads != 0 {
		t.Fatalf("an up-to-date Migrate ran %+v, want no transaction", got)
	}
}

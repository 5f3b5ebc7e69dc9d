package sqlitedb

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

// cacheOf returns the statement cache of db's one connection.
func cacheOf(t *testing.T, ctx context.Context, db *sql.DB) *cachingConn {
	t.Helper()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var c *cachingConn
	if err := conn.Raw(func(dc any) error { c = dc.(*cachingConn); return nil }); err != nil {
		t.Fatal(err)
	}
	return c
}

func openOne(t *testing.T) *sql.DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "cache.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// TestStatementCacheReusesAndReprepares: a statement run twice is prepared
// once per connection, and a cached statement sees a schema change made
// after it was prepared.
func TestStatementCacheReusesAndReprepares(t *testing.T) {
	ctx := context.Background()
	db := openOne(t)
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (a INTEGER)`); err != nil {
		t.Fatal(err)
	}
	const insert = `INSERT INTO t (a) VALUES (?)`
	for i := range 3 {
		if _, err := db.ExecContext(ctx, insert, i); err != nil {
			t.Fatal(err)
		}
	}
	c := cacheOf(t, ctx, db)
	first := c.stmts[insert]
	if first == nil {
		t.Fatal("the insert is not cached")
	}
	if _, err := db.ExecContext(ctx, insert, 3); err != nil {
		t.Fatal(err)
	}
	if c.stmts[insert] != first {
		t.Fatal("the insert was prepared again")
	}
	const all = `SELECT * FROM t ORDER BY a`
	cols := func() int {
		rows, err := db.QueryContext(ctx, all)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		names, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		return len(names)
	}
	if n := cols(); n != 1 {
		t.Fatalf("%d columns, want 1", n)
	}
	if _, err := db.ExecContext(ctx, `ALTER TABLE t ADD COLUMN b TEXT DEFAULT 'x'`); err != nil {
		t.Fatal(err)
	}
	if n := cols(); n != 2 {
		t.Fatalf("the cached SELECT * after a new column: %d columns, want 2", n)
	}
	var sum int
	if err := db.QueryRowContext(ctx, `SELECT sum(a) FROM t`).Scan(&sum); err != nil || sum != 6 {
		t.Fatalf("sum %d (%v), want 6: every insert ran", sum, err)
	}
}

// TestStatementCacheNestedQuery: the same query run while its rows are
// still open (a loop querying what it iterates) gets a statement of its
// own, and both return their own rows.
func TestStatementCacheNestedQuery(t *testing.T) {
	ctx := context.Background()
	db := openOne(t)
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1), (2), (3)`); err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const q = `SELECT a FROM t WHERE a >= ? ORDER BY a`
	outer, err := tx.QueryContext(ctx, q, 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for outer.Next() {
		var a int
		if err := outer.Scan(&a); err != nil {
			t.Fatal(err)
		}
		inner, err := tx.QueryContext(ctx, q, a)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for inner.Next() {
			n++
		}
		inner.Close()
		got = append(got, fmt.Sprint(a, ":", n))
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	if fmt.Sprint(got) != "[1:3 2:2 3:1]" {
		t.Fatalf("nested queries returned %v, want [1:3 2:2 3:1]", got)
	}
}

// TestStatementCacheBounded: a connection keeps at most stmtCacheSize
// statements, dropping the least recently used.
func TestStatementCacheBounded(t *testing.T) {
	ctx := context.Background()
	db := openOne(t)
	const kept = `SELECT -1`
	for i := range stmtCacheSize + 10 {
		for _, q := range []string{kept, fmt.Sprintf(`SELECT %d`, i)} {
			var v int
			if err := db.QueryRowContext(ctx, q).Scan(&v); err != nil {
				t.Fatal(err)
			}
		}
	}
	c := cacheOf(t, ctx, db)
	if len(c.stmts) != stmtCacheSize || len(c.order) != stmtCacheSize {
		t.Fatalf("%d cached statements (%d in order), want %d", len(c.stmts), len(c.order), stmtCacheSize)
	}
	if c.stmts[kept] == nil || c.stmts[`SELECT 0`] != nil {
		t.Fatal("the cache dropped the statement used most, or kept the oldest one used once")
	}
}

package sqlitedb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"reflect"
	"sync/atomic"
)

// stmtCacheSize is how many prepared statements each connection keeps. The
// stores have a few dozen distinct statements each; a script run once (a
// migration) only passes through.
const stmtCacheSize = 64

// cachingConnector hands out connections that keep their prepared
// statements. database/sql asks the driver to run every Exec and Query from
// its SQL text, and the driver parses and plans that text each time: for
// the small statements the stores run in loops (a profile row per
// category, a consent per purpose) parsing was a third of SQLite's time
// (docs/BENCHMARKS.md, "The demo"). A statement SQLite prepared once on a
// connection is re-run from its compiled form, and SQLite prepares it again
// by itself if the schema changed meanwhile (sqlite3_prepare_v2).
type cachingConnector struct {
	driver.Connector
	counts *counts
}

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	c.counts.conns.Add(1)
	return newCachingConn(conn, c.counts)
}

// Driver is the driver's, carrying the database's counts for StatsOf.
func (c cachingConnector) Driver() driver.Driver {
	return countingDriver{c.Connector.Driver(), c.counts}
}

type countingDriver struct {
	driver.Driver
	counts *counts
}

// Stats is what a database's connections ran since Open: the measure
// tests bound an operation's SQLite work by (counts, not timings).
type Stats struct {
	Writes   int64 // write transactions begun (BEGIN IMMEDIATE)
	Reads    int64 // read transactions begun (deferred BEGIN)
	Implicit int64 // statements run outside a transaction, each its own
	Prepared int64 // statements compiled: cache misses and uncacheable scripts
	Conns    int64 // connections opened, each parsing the schema and compiling its statements anew
}

// Sub is s minus an earlier snapshot: what ran in between.
func (s Stats) Sub(earlier Stats) Stats {
	return Stats{s.Writes - earlier.Writes, s.Reads - earlier.Reads, s.Implicit - earlier.Implicit, s.Prepared - earlier.Prepared, s.Conns - earlier.Conns}
}

// StatsOf returns db's counts; zero for a database Open did not open.
func StatsOf(db *sql.DB) Stats {
	d, ok := db.Driver().(countingDriver)
	if !ok {
		return Stats{}
	}
	c := d.counts
	return Stats{c.writes.Load(), c.reads.Load(), c.implicit.Load(), c.prepared.Load(), c.conns.Load()}
}

type counts struct{ writes, reads, implicit, prepared, conns atomic.Int64 }

// cachingConn is a connection with a cache of prepared statements by SQL
// text, least recently used first out. database/sql uses a connection from
// one goroutine at a time, so the cache needs no lock.
type cachingConn struct {
	driver.Conn
	prepare driver.ConnPrepareContext
	exec    driver.ExecerContext
	query   driver.QueryerContext
	begin   driver.ConnBeginTx
	ping    driver.Pinger
	reset   driver.SessionResetter
	valid   driver.Validator

	stmts  map[string]*cachedStmt
	order  []string // least recently used first
	inTx   bool     // between BeginTx and the transaction's end
	counts *counts
}

// cachedStmt is a prepared statement and whether rows from it are still
// open (a statement runs one query at a time).
type cachedStmt struct {
	stmt contextStmt
	busy bool
}

// contextStmt is a driver statement that runs with a context.
type contextStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// errNotCaching: the driver's connection lacks an interface the cache
// passes calls through to.
var errNotCaching = errors.New("sqlitedb: the driver's connection cannot cache statements")

func newCachingConn(conn driver.Conn, n *counts) (*cachingConn, error) {
	c := &cachingConn{Conn: conn, stmts: map[string]*cachedStmt{}, counts: n}
	var ok [7]bool
	c.prepare, ok[0] = conn.(driver.ConnPrepareContext)
	c.exec, ok[1] = conn.(driver.ExecerContext)
	c.query, ok[2] = conn.(driver.QueryerContext)
	c.begin, ok[3] = conn.(driver.ConnBeginTx)
	c.ping, ok[4] = conn.(driver.Pinger)
	c.reset, ok[5] = conn.(driver.SessionResetter)
	c.valid, ok[6] = conn.(driver.Validator)
	for _, o := range ok {
		if !o {
			conn.Close()
			return nil, errNotCaching
		}
	}
	return c, nil
}

// cached returns query's prepared statement, preparing it if the cache
// lacks it, or nil if it is running a query or cannot be prepared alone
// (the caller then runs the text uncached, which reports any error).
func (c *cachingConn) cached(ctx context.Context, query string) *cachedStmt {
	if s := c.stmts[query]; s != nil {
		if s.busy {
			return nil
		}
		c.touch(query)
		return s
	}
	c.counts.prepared.Add(1) // here, or by the driver if this fails
	ds, err := c.prepare.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	st, ok := ds.(contextStmt)
	if !ok {
		ds.Close()
		return nil
	}
	if len(c.order) >= stmtCacheSize {
		c.evict()
	}
	s := &cachedStmt{stmt: st}
	c.stmts[query] = s
	c.order = append(c.order, query)
	return s
}

// touch moves query to the most recently used end.
func (c *cachingConn) touch(query string) {
	if c.order[len(c.order)-1] == query {
		return
	}
	for i, q := range c.order {
		if q == query {
			copy(c.order[i:], c.order[i+1:])
			c.order[len(c.order)-1] = query
			return
		}
	}
}

// evict closes the least recently used statement no open rows hold.
func (c *cachingConn) evict() {
	for i, q := range c.order {
		if s := c.stmts[q]; !s.busy {
			s.stmt.Close()
			delete(c.stmts, q)
			c.order = append(c.order[:i], c.order[i+1:]...)
			return
		}
	}
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.countImplicit()
	return c.run(ctx, query, args)
}

// countImplicit counts a statement that runs outside a transaction.
func (c *cachingConn) countImplicit() {
	if !c.inTx {
		c.counts.implicit.Add(1)
	}
}

// run executes query, from its cached statement if it has one.
func (c *cachingConn) run(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s := c.cached(ctx, query)
	if s == nil {
		return c.exec.ExecContext(ctx, query, args)
	}
	return s.stmt.ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.countImplicit()
	s := c.cached(ctx, query)
	if s == nil {
		return c.query.QueryContext(ctx, query, args)
	}
	rows, err := s.stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.busy = true
	return &cachedRows{Rows: rows, s: s}, nil
}

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.prepare.PrepareContext(ctx, query)
}

// BeginTx begins a write transaction (BEGIN IMMEDIATE, as Open's
// _txlock), or with opts.ReadOnly a deferred one that takes no write lock,
// from cached statements: the driver parses BEGIN and COMMIT again for
// every transaction. Other isolation levels go to the driver.
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if opts.Isolation != driver.IsolationLevel(0) {
		return c.begin.BeginTx(ctx, opts)
	}
	begin, n := "BEGIN IMMEDIATE", &c.counts.writes
	if opts.ReadOnly {
		begin, n = "BEGIN", &c.counts.reads
	}
	n.Add(1)
	if _, err := c.run(ctx, begin, nil); err != nil {
		return nil, err
	}
	c.inTx = true
	return &cachedTx{c: c, ctx: ctx}, nil
}

// cachedTx ends a transaction BeginTx began with cached statements.
type cachedTx struct {
	c   *cachingConn
	ctx context.Context // BeginTx's, as the driver's transactions keep it
}

// Commit commits; if COMMIT fails (SQLITE_BUSY leaves the transaction
// open) it rolls back, so the connection goes back to the pool outside any
// transaction, as database/sql expects. Rolling back a transaction SQLite
// already ended fails harmlessly.
func (t *cachedTx) Commit() error {
	t.c.inTx = false
	_, err := t.c.run(t.ctx, "COMMIT", nil)
	if err != nil {
		t.c.run(context.Background(), "ROLLBACK", nil)
	}
	return err
}

func (t *cachedTx) Rollback() error {
	t.c.inTx = false
	_, err := t.c.run(context.Background(), "ROLLBACK", nil)
	return err
}

func (c *cachingConn) Ping(ctx context.Context) error { return c.ping.Ping(ctx) }

func (c *cachingConn) ResetSession(ctx context.Context) error { return c.reset.ResetSession(ctx) }

func (c *cachingConn) IsValid() bool { return c.valid.IsValid() }

// Close finalizes the cached statements, then closes the connection.
func (c *cachingConn) Close() error {
	var errs []error
	for _, s := range c.stmts {
		errs = append(errs, s.stmt.Close())
	}
	c.stmts, c.order = nil, nil
	return errors.Join(append(errs, c.Conn.Close())...)
}

// cachedRows are rows from a cached statement, which is free for the next
// query once they close.
type cachedRows struct {
	driver.Rows
	s *cachedStmt
}

func (r *cachedRows) Close() error {
	r.s.busy = false
	return r.Rows.Close()
}

// ColumnTypeScanType passes through to the driver's rows, for
// sql.Rows.ColumnTypes.
func (r *cachedRows) ColumnTypeScanType(index int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(index)
	}
	return reflect.TypeFor[any]()
}

// ColumnTypeDatabaseTypeName passes through to the driver's rows.
func (r *cachedRows) ColumnTypeDatabaseTypeName(index int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(index)
	}
	return ""
}

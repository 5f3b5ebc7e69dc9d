package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"

	"github.com/wisp-project/wisp/internal/sqlitedb"
)

// SQLite is the embedded Store: one database file in WAL mode with
// synchronous=FULL, so a committed transaction survives power loss. Write
// transactions take the write lock when they begin (_txlock=immediate), so
// they queue on busy_timeout instead of failing on lock upgrade.
//
// Within one process, transactions also queue on a mutex: SQLite runs one
// writer at a time anyway, and a writer waiting in the driver's busy
// handler polls with sleeps, which wastes most of the time under load.
type SQLite struct {
	db *sql.DB
	mu sync.Mutex

	prepMu sync.Mutex
	stmts  map[int]*sql.Stmt // prepared INSERTs by row count
}

// OpenSQLite opens (creating if needed) the database file at path and
// brings its schema up to date.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	db, err := sqlitedb.Open(path, "foreign_keys(ON)", "temp_store(MEMORY)", "cache_size(-65536)")
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	s := &SQLite{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	return s, nil
}

// createPrivate creates the file at path, empty and readable by its owner
// only (0600), unless it exists: it will hold reports and keys, and SQLite
// gives its -wal and -shm files the database file's mode. An existing
// file's mode is the operator's.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// migrate applies the embedded migrations.
func (s *SQLite) migrate(ctx context.Context) error {
	scripts, err := migrations("sqlite")
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return sqlitedb.Migrate(ctx, s.db, scripts, nil)
}

// tx runs fn in the transaction called name (the name labels errors and
// store-latency metrics), retried while another process holds the lock.
func (s *SQLite) tx(ctx context.Context, name string, fn func(*sql.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := sqlitedb.Tx(ctx, s.db, fn); err != nil {
		return fmt.Errorf("store: %s: %w", name, mapClosed(err))
	}
	return nil
}

func mapClosed(err error) error {
	if sqlitedb.Closed(err) {
		return fmt.Errorf("%w: %v", ErrClosed, err)
	}
	return err
}

// sqliteInsertChunk rows per INSERT statement: 5 variables each, well under
// SQLite's variable limit.
const sqliteInsertChunk = 400

// insertSQL is the multi-row INSERT for n rows: ON CONFLICT DO NOTHING
// RETURNING id returns exactly the fresh ids.
func insertSQL(n int) string {
	var q strings.Builder
	q.WriteString(`INSERT INTO reports (id, campaign, epoch, mechanism, answer) VALUES `)
	for j := range n {
		if j > 0 {
			q.WriteByte(',')
		}
		q.WriteString("(?,?,?,?,?)")
	}
	q.WriteString(` ON CONFLICT (id) DO NOTHING RETURNING id`)
	return q.String()
}

// chunkSizes are the row counts of the INSERT statements a batch is cut
// into: full chunks, then powers of two. Each is prepared once and kept,
// because parsing a many-row statement costs more than running it.
var chunkSizes = []int{sqliteInsertChunk, 256, 128, 64, 32, 16, 8, 4, 2, 1}

// insertStmt returns the prepared statement for n rows (one of chunkSizes).
func (s *SQLite) insertStmt(ctx context.Context, n int) (*sql.Stmt, error) {
	s.prepMu.Lock()
	defer s.prepMu.Unlock()
	if stmt, ok := s.stmts[n]; ok {
		return stmt, nil
	}
	stmt, err := s.db.PrepareContext(ctx, insertSQL(n))
	if err != nil {
		return nil, err
	}
	if s.stmts == nil {
		s.stmts = map[int]*sql.Stmt{}
	}
	s.stmts[n] = stmt
	return stmt, nil
}

// Insert implements Store with multi-row INSERTs of prepared sizes.
func (s *SQLite) Insert(ctx context.Context, reports []Report) ([]bool, error) {
	fresh, unique := dedupe(reports)
	args := make([]any, 0, 5*sqliteInsertChunk)
	err := s.tx(ctx, "insert_reports", func(tx *sql.Tx) error {
		rest := unique
		for len(rest) > 0 {
			size := 1
			for _, c := range chunkSizes {
				if len(rest) >= c {
					size = c
					break
				}
			}
			chunk := rest[:size]
			rest = rest[size:]
			stmt, err := s.insertStmt(ctx, size)
			if err != nil {
				return err
			}
			args = args[:0]
			for _, i := range chunk {
				r := &reports[i]
				args = append(args, r.ID[:], r.Campaign, r.Epoch, uint8(r.Mechanism), r.Answer)
			}
			rows, err := tx.StmtContext(ctx, stmt).QueryContext(ctx, args...)
			if err != nil {
				return err
			}
			err = markFresh(rows, reports, chunk, fresh)
			rows.Close()
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return fresh, nil
}

// Epochs implements Store.
func (s *SQLite) Epochs(ctx context.Context, campaign string) ([]uint32, error) {
	var epochs []uint32
	err := s.tx(ctx, "epochs", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT DISTINCT epoch FROM reports WHERE campaign = ? ORDER BY epoch`, campaign)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e uint32
			if err := rows.Scan(&e); err != nil {
				return err
			}
			epochs = append(epochs, e)
		}
		return rows.Err()
	})
	return epochs, err
}

// Scan implements Store.
func (s *SQLite) Scan(ctx context.Context, campaign string, epoch uint32, fn func(Mechanism, []byte) error) error {
	return s.Tally(ctx, campaign, epoch, func(mech Mechanism, answer []byte, n int64) error {
		for range n {
			if err := fn(mech, answer); err != nil {
				return err
			}
		}
		return nil
	})
}

// Tally implements Store.
func (s *SQLite) Tally(ctx context.Context, campaign string, epoch uint32, fn func(Mechanism, []byte, int64) error) error {
	return s.tx(ctx, "tally", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT mechanism, answer, count(*) FROM reports
			WHERE campaign = ? AND epoch = ? GROUP BY mechanism, answer ORDER BY mechanism, answer`, campaign, epoch)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var mech uint8
			var answer []byte
			var n int64
			if err := rows.Scan(&mech, &answer, &n); err != nil {
				return err
			}
			if err := fn(Mechanism(mech), answer, n); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// DeleteReports implements Store.
func (s *SQLite) DeleteReports(ctx context.Context, campaign string, epoch uint32) (int64, error) {
	var n int64
	err := s.tx(ctx, "delete_reports", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM reports WHERE campaign = ? AND epoch = ?`, campaign, epoch)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM report_token_nonces WHERE campaign = ? AND epoch = ?`, campaign, epoch)
		return err
	})
	return n, err
}

// Ping implements Store.
func (s *SQLite) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", mapClosed(err))
	}
	return nil
}

// Close implements Store.
func (s *SQLite) Close() error {
	s.prepMu.Lock()
	for _, stmt := range s.stmts {
		stmt.Close()
	}
	s.stmts = nil
	s.prepMu.Unlock()
	return s.db.Close()
}

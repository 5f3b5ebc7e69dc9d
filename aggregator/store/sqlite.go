package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// SQLite is the embedded Store: one database file in WAL mode with
// synchronous=FULL, so a committed Insert survives power loss.
type SQLite struct {
	db *sql.DB
}

// migrations are applied in order; PRAGMA user_version records how many ran.
var migrations = []string{
	`CREATE TABLE reports (
		id        BLOB PRIMARY KEY,
		campaign  TEXT NOT NULL,
		epoch     INTEGER NOT NULL,
		mechanism INTEGER NOT NULL,
		answer    BLOB NOT NULL
	) WITHOUT ROWID;
	CREATE INDEX reports_by_campaign_epoch ON reports (campaign, epoch);`,
}

// OpenSQLite opens (creating if needed) the database file at path and
// brings its schema up to date.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s := &SQLite{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	return s, nil
}

func (s *SQLite) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return err
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this binary (%d)", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, len(migrations))); err != nil {
		return err
	}
	return tx.Commit()
}

// Insert implements Store.
func (s *SQLite) Insert(ctx context.Context, reports []Report) ([]bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: insert: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO reports (id, campaign, epoch, mechanism, answer)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`)
	if err != nil {
		return nil, fmt.Errorf("store: insert: %w", err)
	}
	defer stmt.Close()
	fresh := make([]bool, len(reports))
	for i, r := range reports {
		res, err := stmt.ExecContext(ctx, r.ID[:], r.Campaign, r.Epoch, r.Mechanism, r.Answer)
		if err != nil {
			return nil, fmt.Errorf("store: insert: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, fmt.Errorf("store: insert: %w", err)
		}
		fresh[i] = n == 1
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: insert: commit: %w", err)
	}
	return fresh, nil
}

// Epochs implements Store.
func (s *SQLite) Epochs(ctx context.Context, campaign string) ([]uint32, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT epoch FROM reports WHERE campaign = ? ORDER BY epoch`, campaign)
	if err != nil {
		return nil, fmt.Errorf("store: epochs: %w", err)
	}
	defer rows.Close()
	var epochs []uint32
	for rows.Next() {
		var e uint32
		if err := rows.Scan(&e); err != nil {
			return nil, fmt.Errorf("store: epochs: %w", err)
		}
		epochs = append(epochs, e)
	}
	return epochs, rows.Err()
}

// Scan implements Store.
func (s *SQLite) Scan(ctx context.Context, campaign string, epoch uint32, fn func(uint8, []byte) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT mechanism, answer FROM reports WHERE campaign = ? AND epoch = ?`, campaign, epoch)
	if err != nil {
		return fmt.Errorf("store: scan: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var mech uint8
		var answer []byte
		if err := rows.Scan(&mech, &answer); err != nil {
			return fmt.Errorf("store: scan: %w", err)
		}
		if err := fn(mech, answer); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Close implements Store.
func (s *SQLite) Close() error { return s.db.Close() }

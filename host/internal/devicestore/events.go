package devicestore

import (
	"context"
	"database/sql"
	"time"

	"github.com/wisp-project/wisp/internal/sqlitedb"
)

// Event is one local observation, stored for one plugin.
type Event struct {
	Kind  uint32
	Code  uint32
	At    time.Time
	Value float64
}

// AddEvents stores events for plugin and returns how many it kept. In the
// same transaction it refuses a plugin that is not installed (ErrNotFound)
// or whose consent is not granted (ErrRevoked) — so no event lands after a
// revocation commits — and skips events already past the plugin's
// retention at now.
func (s *Store) AddEvents(ctx context.Context, plugin string, events []Event, now time.Time) (int, error) {
	kept := 0
	err := s.tx(ctx, "add_events", func(tx *sql.Tx) error {
		kept = 0
		var retention int64
		if err := tx.QueryRowContext(ctx, `SELECT retention_ms FROM plugins WHERE name = ?`, plugin).Scan(&retention); err == sql.ErrNoRows {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		var granted bool
		if err := tx.QueryRowContext(ctx, `SELECT granted FROM consent WHERE purpose = 'plugin:' || ?`, plugin).Scan(&granted); err != nil && err != sql.ErrNoRows {
			return err
		}
		if !granted {
			return ErrRevoked
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO events (plugin, kind, code, at, value) VALUES (?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		oldest := ms(now) - retention
		for _, e := range events {
			if ms(e.At) < oldest {
				continue
			}
			if _, err := stmt.ExecContext(ctx, plugin, e.Kind, e.Code, ms(e.At), e.Value); err != nil {
				return err
			}
			kept++
		}
		return nil
	})
	return kept, err
}

// Pending returns the plugins that have events newer than what their
// profile reflects, with the newest event seq of each.
func (s *Store) Pending(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	err := s.read("pending_plugins", func(q sqlitedb.Querier) error {
		rows, err := q.QueryContext(ctx, `SELECT p.name, max(e.seq) FROM plugins p JOIN events e ON e.plugin = p.name
			WHERE e.seq > p.scored_seq GROUP BY p.name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			var seq int64
			if err := rows.Scan(&name, &seq); err != nil {
				return err
			}
			out[name] = seq
		}
		return rows.Err()
	})
	return out, err
}

// Window returns plugin's events with at in [from, to] and seq ≤ through,
// the newest limit of them, oldest first.
func (s *Store) Window(ctx context.Context, plugin string, from, to time.Time, through int64, limit int) ([]Event, error) {
	var out []Event
	err := s.read("read_window", func(q sqlitedb.Querier) error {
		out = out[:0]
		rows, err := q.QueryContext(ctx, `SELECT kind, code, at, value FROM (
				SELECT kind, code, at, value, seq FROM events
				WHERE plugin = ? AND at >= ? AND at <= ? AND seq <= ?
				ORDER BY at DESC, seq DESC LIMIT ?)
			ORDER BY at, seq`, plugin, ms(from), ms(to), through, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e Event
			var at int64
			if err := rows.Scan(&e.Kind, &e.Code, &at, &e.Value); err != nil {
				return err
			}
			e.At = fromMS(at)
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

// Retain deletes every event older than its plugin's retention at now,
// and events of plugins no longer installed, and returns how many it
// deleted.
func (s *Store) Retain(ctx context.Context, now time.Time) (int, error) {
	var n int64
	const expired = `SELECT e.seq FROM events e LEFT JOIN plugins p ON p.name = e.plugin
		WHERE p.name IS NULL OR e.at < ? - p.retention_ms`
	err := s.txIf(ctx, "retain_events", `SELECT EXISTS (`+expired+`)`, []any{ms(now)}, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM events WHERE seq IN (`+expired+`)`, ms(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

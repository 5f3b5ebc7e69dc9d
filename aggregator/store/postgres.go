package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wisp-project/wisp/internal/migrate"
)

// Postgres is the scale-out Store: any number of stateless aggregator nodes
// share one PostgreSQL database. Replay protection is the primary key on
// the report id, so it holds across nodes; every transaction is named and
// retried on serialization failure and deadlock (SQLSTATE 40001, 40P01),
// as Janus does. Put the tables in a schema of your own with search_path
// in the DSN.
type Postgres struct {
	pool *pgxpool.Pool
}

// migrationLock is the advisory lock key that serializes migrations when
// several nodes start at once.
const migrationLock = 0x77697370 // "wisp"

// OpenPostgres connects to dsn and brings the schema up to date.
func OpenPostgres(ctx context.Context, dsn string) (*Postgres, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: postgres: %v", ErrSpec, err)
	}
	// A report is acknowledged after its commit: the commit must be on
	// disk, whatever the server's default says.
	if _, set := cfg.ConnConfig.RuntimeParams["synchronous_commit"]; !set {
		cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	s := &Postgres{pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	return s, nil
}

// migrate applies the embedded migrations (package migrate), recording
// each in schema_migrations in its own transaction.
func (s *Postgres) migrate(ctx context.Context) error {
	ms, err := migrations("postgres")
	if err != nil {
		return err
	}
	return migrate.Run(ctx, pgMigrator{s}, ms)
}

type pgMigrator struct{ s *Postgres }

func (m pgMigrator) InTx(ctx context.Context, fn func(migrate.Tx) error) error {
	return m.s.tx(ctx, "migrate", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		return fn(pgMigratorTx{tx})
	})
}

type pgMigratorTx struct{ tx pgx.Tx }

func (t pgMigratorTx) Version(ctx context.Context) (int, error) {
	var v int
	err := t.tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

func (t pgMigratorTx) Apply(ctx context.Context, m migrate.Migration) error {
	if _, err := t.tx.Exec(ctx, m.SQL); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, m.Version)
	return err
}

// tx runs fn in the transaction called name, retrying serialization
// failures and deadlocks with backoff.
func (s *Postgres) tx(ctx context.Context, name string, fn func(pgx.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := pgx.BeginFunc(ctx, s.pool, fn)
		if err == nil {
			return nil
		}
		if attempt == 9 || !retryable(err) || ctx.Err() != nil {
			if strings.Contains(err.Error(), "closed pool") {
				err = fmt.Errorf("%w: %v", ErrClosed, err)
			}
			return fmt.Errorf("store: %s: %w", name, err)
		}
		time.Sleep(time.Duration(1<<min(attempt, 6)) * time.Millisecond)
	}
}

func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

// Insert implements Store. A batch of ids none of which is stored yet —
// a queue worker's or device's batch, nearly always — goes in by one
// binary COPY (copyReports), which costs the server about a third less CPU
// than the INSERT (6–7 µs against 8–10 µs a report, docs/BENCHMARKS.md).
// A batch with a replay in it fails that COPY on the primary key, which
// aborts its transaction (nothing of it stays), and goes in by one INSERT
// … SELECT FROM unnest(arrays) … ON CONFLICT DO NOTHING RETURNING id in a
// transaction of its own, which tells the fresh ones apart. Either way the
// batch is one transaction. The COPY needs no savepoint: the rare batch
// with a replay pays one more transaction instead of every batch two more
// round trips and a subtransaction.
func (s *Postgres) Insert(ctx context.Context, reports []Report) ([]bool, error) {
	fresh, unique := dedupe(reports)
	if len(unique) == 0 {
		return fresh, nil
	}
	data := copyData(reports, unique)
	err := s.tx(ctx, "insert_reports", func(tx pgx.Tx) error {
		_, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(data),
			`COPY reports (id, campaign, epoch, mechanism, answer) FROM STDIN (FORMAT binary)`)
		return err
	})
	var pgErr *pgconn.PgError
	if err == nil {
		for _, i := range unique {
			fresh[i] = true
		}
		return fresh, nil
	}
	if !errors.As(err, &pgErr) || pgErr.Code != uniqueViolation {
		return nil, err
	}
	ids := make([][]byte, len(unique))
	campaigns := make([]string, len(unique))
	epochs := make([]int64, len(unique))
	mechs := make([]int16, len(unique))
	answers := make([][]byte, len(unique))
	for j, i := range unique {
		r := &reports[i]
		ids[j], campaigns[j], epochs[j], mechs[j], answers[j] = r.ID[:], r.Campaign, int64(r.Epoch), int16(r.Mechanism), r.Answer
	}
	err = s.tx(ctx, "insert_reports", func(tx pgx.Tx) error {
		for i := range fresh {
			fresh[i] = false // a retried attempt starts over
		}
		rows, err := tx.Query(ctx, `INSERT INTO reports (id, campaign, epoch, mechanism, answer)
			SELECT * FROM unnest($1::bytea[], $2::text[], $3::bigint[], $4::smallint[], $5::bytea[])
			ON CONFLICT (id) DO NOTHING RETURNING id`, ids, campaigns, epochs, mechs, answers)
		if err != nil {
			return err
		}
		defer rows.Close()
		return markFresh(rows, reports, unique, fresh)
	})
	if err != nil {
		return nil, err
	}
	return fresh, nil
}

// uniqueViolation is PostgreSQL's SQLSTATE for a duplicate key.
const uniqueViolation = "23505"

// copyData is reports[order[0]], reports[order[1]], … as the rows (id,
// campaign, epoch, mechanism, answer) of a binary COPY
// (https://www.postgresql.org/docs/current/sql-copy.html, "Binary
// Format"). Written here rather than by pgx's CopyFrom, which plans and
// boxes every value and asks the server for the columns' types first:
// that was as much of the worker's client CPU as all the rest of Insert.
// The server checks each field as it would a parameter (a campaign id
// that is not valid text fails the COPY).
func copyData(reports []Report, order []int) []byte {
	const header = "PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00" // signature, flags, no extension
	b := make([]byte, 0, len(header)+len(order)*(2+4*5+16+8+2+32)+2)
	b = append(b, header...)
	for _, i := range order {
		r := &reports[i]
		b = binary.BigEndian.AppendUint16(b, 5)
		b = binary.BigEndian.AppendUint32(b, uint32(len(r.ID)))
		b = append(b, r.ID[:]...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(r.Campaign)))
		b = append(b, r.Campaign...)
		b = binary.BigEndian.AppendUint32(b, 8)
		b = binary.BigEndian.AppendUint64(b, uint64(r.Epoch))
		b = binary.BigEndian.AppendUint32(b, 2)
		b = binary.BigEndian.AppendUint16(b, uint16(r.Mechanism))
		if r.Answer == nil {
			b = binary.BigEndian.AppendUint32(b, 0xffffffff) // NULL, refused by NOT NULL as pgx's nil was
		} else {
			b = binary.BigEndian.AppendUint32(b, uint32(len(r.Answer)))
			b = append(b, r.Answer...)
		}
	}
	return binary.BigEndian.AppendUint16(b, 0xffff) // the trailer: a field count of -1
}

// Epochs implements Store.
func (s *Postgres) Epochs(ctx context.Context, campaign string) ([]uint32, error) {
	var epochs []uint32
	err := s.tx(ctx, "epochs", func(tx pgx.Tx) error {
		epochs = nil
		rows, err := tx.Query(ctx, `SELECT DISTINCT epoch FROM reports WHERE campaign = $1 ORDER BY epoch`, campaign)
		if err != nil {
			return err
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		for _, e := range got {
			epochs = append(epochs, uint32(e))
		}
		return err
	})
	return epochs, err
}

// Scan implements Store.
func (s *Postgres) Scan(ctx context.Context, campaign string, epoch uint32, fn func(Mechanism, []byte) error) error {
	return s.Tally(ctx, campaign, epoch, func(mech Mechanism, answer []byte, n int64) error {
		for range n {
			if err := fn(mech, answer); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteReports implements Store.
func (s *Postgres) DeleteReports(ctx context.Context, campaign string, epoch uint32) (int64, error) {
	var n int64
	err := s.tx(ctx, "delete_reports", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM reports WHERE campaign = $1 AND epoch = $2`, campaign, int64(epoch))
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		_, err = tx.Exec(ctx, `DELETE FROM report_token_nonces WHERE campaign = $1 AND epoch = $2`, campaign, int64(epoch))
		return err
	})
	return n, err
}

// Tally implements Store. The grouping runs in the database, so estimating
// a million reports moves a handful of rows.
func (s *Postgres) Tally(ctx context.Context, campaign string, epoch uint32, fn func(Mechanism, []byte, int64) error) error {
	type row struct {
		mech   int16
		answer []byte
		n      int64
	}
	var got []row
	err := s.tx(ctx, "tally", func(tx pgx.Tx) error {
		got = got[:0]
		rows, err := tx.Query(ctx, `SELECT mechanism, answer, count(*) FROM reports
			WHERE campaign = $1 AND epoch = $2 GROUP BY mechanism, answer ORDER BY mechanism, answer`, campaign, int64(epoch))
		if err != nil {
			return err
		}
		var r row
		_, err = pgx.ForEachRow(rows, []any{&r.mech, &r.answer, &r.n}, func() error {
			got = append(got, row{r.mech, append([]byte(nil), r.answer...), r.n})
			return nil
		})
		return err
	})
	if err != nil {
		return err
	}
	// fn runs outside the transaction so a retry cannot call it twice.
	for _, r := range got {
		if err := fn(Mechanism(r.mech), r.answer, r.n); err != nil {
			return err
		}
	}
	return nil
}

// Ping implements Store.
func (s *Postgres) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Close implements Store.
func (s *Postgres) Close() error { s.pool.Close(); return nil }

package devicestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/sqlitedb"
)

// AnyCategory is the category of a queued report whose answer derives from
// several categories (a top_k question: the device's top set depends on
// every score it compares). Revoking or erasing any plugin drops such
// reports, since one cannot tell which plugins' data they reflect; taxonomy
// ids start at 1, so 0 is free.
const AnyCategory uint32 = 0

// Report is one sealed report in the outbox.
type Report struct {
	ID          [16]byte
	Campaign    string
	Epoch       uint32
	Category    uint32 // the question's category, or AnyCategory
	Envelope    []byte // the sealed envelope, CBOR
	Dummy       bool
	Created     time.Time
	NotBefore   time.Time // randomized send delay
	NextAttempt time.Time
	Expires     time.Time
	Attempts    int
	InFlight    bool
	// Token is the report token it goes with (nil: none yet, or none
	// needed), set by SetReportToken.
	Token []byte
}

// Sent is one entry of the egress log: what left (or was dropped), never
// what it said.
type Sent struct {
	ID       [16]byte
	Campaign string
	Epoch    uint32
	Size     int
	Dummy    bool
	At       time.Time
	Outcome  Outcome
	Reason   api.Reason // why the aggregator rejected it (OutcomeRejected)
	Cause    DropCause  // why it never left (OutcomeDropped)
}

// Left reports whether the report actually left the device.
func (s Sent) Left() bool { return s.Outcome != OutcomeDropped }

// Enqueue stores a sealed report and, for a real one, records the campaign
// as answered for its epoch. The caller has already spent the budget
// (Spend) in an earlier, committed transaction. It refuses (ErrRevoked) a
// campaign whose consent was revoked meanwhile, or no longer covers the
// question pinned for it, in the same transaction.
func (s *Store) Enqueue(ctx context.Context, r Report, epsilon float64) error {
	return s.tx(ctx, "enqueue_report", func(tx *sql.Tx) error {
		// Granted, and bound to the question pinned for the campaign now.
		var granted bool
		err := tx.QueryRowContext(ctx, `SELECT granted AND digest IS (SELECT digest FROM campaigns WHERE id = ?)
			FROM consent WHERE purpose = 'campaign:' || ?`, r.Campaign, r.Campaign).Scan(&granted)
		if err != nil && err != sql.ErrNoRows {
			return err
		}
		if !granted {
			return fmt.Errorf("%w: campaign %q", ErrRevoked, r.Campaign)
		}
		if !r.Dummy {
			if _, err := tx.ExecContext(ctx, `INSERT INTO answers (campaign, epoch, epsilon, answered_at) VALUES (?, ?, ?, ?)`,
				r.Campaign, r.Epoch, epsilon, ms(r.Created)); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO outbox (report_id, campaign, epoch, category, envelope, size, dummy,
				created_at, not_before, next_attempt, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID[:], r.Campaign, r.Epoch, r.Category, r.Envelope, len(r.Envelope), r.Dummy,
			ms(r.Created), ms(r.NotBefore), ms(r.NotBefore), ms(r.Expires))
		return err
	})
}

// Queued lists the outbox, oldest first.
func (s *Store) Queued(ctx context.Context) ([]Report, error) {
	var out []Report
	err := s.read("list_outbox", func(q sqlitedb.Querier) error {
		var err error
		out, err = scanReports(ctx, q, `SELECT report_id, campaign, epoch, category, envelope, dummy, created_at, not_before,
			next_attempt, expires_at, attempts, in_flight, token FROM outbox ORDER BY created_at, report_id`)
		return err
	})
	return out, err
}

// SettleAndClaim settles done (as Settle) and then marks up to limit due
// reports in flight and returns them: not expired, past their send delay
// and backoff, and still covered by a granted campaign consent. A claim is
// committed before the first byte is sent, so after a crash the device
// knows which reports are in doubt; a sender going on to its next report
// records the last one's outcome with the same commit. The claim skips
// reports in flight, so none that done settles is claimed.
//
// With ignoreDelay, reports never tried yet are due whatever their send
// delay (backoff after a failure still applies).
func (s *Store) SettleAndClaim(ctx context.Context, done []Sent, now time.Time, limit int, ignoreDelay bool) ([]Report, error) {
	var out []Report
	err := s.tx(ctx, "claim_reports", func(tx *sql.Tx) error {
		for _, d := range done {
			if err := settle(ctx, tx, d); err != nil {
				return err
			}
		}
		var err error
		out, err = scanReports(ctx, tx, `SELECT report_id, campaign, epoch, category, envelope, dummy, created_at, not_before,
			next_attempt, expires_at, attempts, in_flight, token FROM outbox o
			WHERE in_flight = 0 AND (next_attempt <= ? OR (? AND attempts = 0)) AND expires_at > ?
			  AND EXISTS (SELECT 1 FROM consent c WHERE c.purpose = 'campaign:' || o.campaign AND c.granted)
			ORDER BY next_attempt, report_id LIMIT ?`, ms(now), ignoreDelay, ms(now), limit)
		if err != nil {
			return err
		}
		for i := range out {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET in_flight = 1, attempts = attempts + 1 WHERE report_id = ?`, out[i].ID[:]); err != nil {
				return err
			}
			out[i].InFlight, out[i].Attempts = true, out[i].Attempts+1
		}
		return nil
	})
	return out, err
}

// Due lists the reports a SettleAndClaim at now would claim (not in
// flight, past their send delay and backoff, not expired, consent
// granted), without claiming them.
func (s *Store) Due(ctx context.Context, now time.Time) ([]Report, error) {
	var out []Report
	err := s.read("due_reports", func(q sqlitedb.Querier) error {
		var err error
		out, err = scanReports(ctx, q, `SELECT report_id, campaign, epoch, category, envelope, dummy, created_at, not_before,
			next_attempt, expires_at, attempts, in_flight, token FROM outbox o
			WHERE in_flight = 0 AND next_attempt <= ? AND expires_at > ?
			  AND EXISTS (SELECT 1 FROM consent c WHERE c.purpose = 'campaign:' || o.campaign AND c.granted)
			ORDER BY next_attempt, report_id`, ms(now), ms(now))
		return err
	})
	return out, err
}

// SetReportToken keeps token with queued report id, for every upload of
// it to send.
func (s *Store) SetReportToken(ctx context.Context, id [16]byte, token []byte) error {
	return s.tx(ctx, "set_report_token", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET token = ? WHERE report_id = ?`, token, id[:])
		return err
	})
}

// Settle removes delivered (or definitively rejected) reports from the
// outbox and logs each once, in one transaction (none for no reports).
func (s *Store) Settle(ctx context.Context, done []Sent) error {
	if len(done) == 0 {
		return nil
	}
	return s.tx(ctx, "settle_reports", func(tx *sql.Tx) error {
		for _, d := range done {
			if err := settle(ctx, tx, d); err != nil {
				return err
			}
		}
		return nil
	})
}

func settle(ctx context.Context, tx *sql.Tx, d Sent) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE report_id = ?`, d.ID[:]); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO egress (report_id, campaign, epoch, size, dummy, at, outcome)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (report_id) DO NOTHING`,
		d.ID[:], d.Campaign, d.Epoch, d.Size, d.Dummy, ms(d.At), FormatOutcome(d.Outcome, d.Reason, d.Cause))
	return err
}

// Release returns in-flight reports to the queue with their next attempt
// time (after a failed upload), or gives queued ones a new next attempt
// (spreading reports that came due together). No reports, no transaction.
func (s *Store) Release(ctx context.Context, ids [][16]byte, next []time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	return s.tx(ctx, "release_reports", func(tx *sql.Tx) error {
		for i, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET in_flight = 0, next_attempt = ? WHERE report_id = ?`, ms(next[i]), id[:]); err != nil {
				return err
			}
		}
		return nil
	})
}

// Recover returns reports left in flight by a crash to the queue, due at
// once, and reports how many. They are in doubt — the aggregator may have
// stored them — so the device resends the identical sealed bytes (same
// report id), never a new report: the aggregator stores one and answers
// "replay" to the other, and the device logs the report once.
func (s *Store) Recover(ctx context.Context) (int, error) {
	var n int64
	err := s.txIf(ctx, "recover_in_flight", `SELECT EXISTS (SELECT 1 FROM outbox WHERE in_flight = 1)`, nil, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET in_flight = 0 WHERE in_flight = 1`)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// Expire drops reports past their validity window and logs them.
func (s *Store) Expire(ctx context.Context, now time.Time) error {
	const where = `expires_at <= ? AND in_flight = 0`
	return s.txIf(ctx, "expire_reports", `SELECT EXISTS (SELECT 1 FROM outbox WHERE `+where+`)`, []any{ms(now)}, func(tx *sql.Tx) error {
		return dropQueued(ctx, tx, where, now, DropExpired, ms(now))
	})
}

// dropQueued deletes outbox rows matching where and logs each as dropped
// for cause.
// Rows in flight are dropped too: their upload's Settle will find nothing
// to delete, and revocation waits for in-flight uploads (host does that).
func dropQueued(ctx context.Context, tx *sql.Tx, where string, now time.Time, cause DropCause, args ...any) error {
	rows, err := scanReports(ctx, tx, `SELECT report_id, campaign, epoch, category, envelope, dummy, created_at, not_before,
		next_attempt, expires_at, attempts, in_flight, token FROM outbox WHERE `+where, args...)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := settle(ctx, tx, Sent{ID: r.ID, Campaign: r.Campaign, Epoch: r.Epoch, Size: len(r.Envelope), Dummy: r.Dummy, At: now, Outcome: OutcomeDropped, Cause: cause}); err != nil {
			return err
		}
	}
	return nil
}

func scanReports(ctx context.Context, db sqlitedb.Querier, q string, args ...any) ([]Report, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Report
	for rows.Next() {
		var r Report
		var id []byte
		var created, notBefore, next, expires int64
		if err := rows.Scan(&id, &r.Campaign, &r.Epoch, &r.Category, &r.Envelope, &r.Dummy, &created, &notBefore,
			&next, &expires, &r.Attempts, &r.InFlight, &r.Token); err != nil {
			return nil, err
		}
		copy(r.ID[:], id)
		r.Created, r.NotBefore, r.NextAttempt, r.Expires = fromMS(created), fromMS(notBefore), fromMS(next), fromMS(expires)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Egress returns the log of reports that left or were dropped, newest
// first, at most limit (0: all).
func (s *Store) Egress(ctx context.Context, limit int) ([]Sent, error) {
	if limit <= 0 {
		limit = -1
	}
	var out []Sent
	err := s.read("read_egress", func(q sqlitedb.Querier) error {
		rows, err := q.QueryContext(ctx, `SELECT report_id, campaign, epoch, size, dummy, at, outcome FROM egress ORDER BY seq DESC LIMIT ?`, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e Sent
			var id []byte
			var at int64
			var outcome string
			if err := rows.Scan(&id, &e.Campaign, &e.Epoch, &e.Size, &e.Dummy, &at, &outcome); err != nil {
				return err
			}
			if e.Outcome, e.Reason, e.Cause, err = ParseOutcome(outcome); err != nil {
				return err
			}
			copy(e.ID[:], id)
			e.At = fromMS(at)
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

// Answer is a campaign the device answered for an epoch.
type Answer struct {
	Campaign string
	Epoch    uint32
	Epsilon  float64
	At       time.Time
}

// Answers lists answered campaigns, newest first.
func (s *Store) Answers(ctx context.Context) ([]Answer, error) {
	var out []Answer
	err := s.read("read_answers", func(q sqlitedb.Querier) error {
		rows, err := q.QueryContext(ctx, `SELECT campaign, epoch, epsilon, answered_at FROM answers ORDER BY answered_at DESC, campaign`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a Answer
			var at int64
			if err := rows.Scan(&a.Campaign, &a.Epoch, &a.Epsilon, &at); err != nil {
				return err
			}
			a.At = fromMS(at)
			out = append(out, a)
		}
		return rows.Err()
	})
	return out, err
}

// AnswerCount is how often, and when last, a campaign was answered.
type AnswerCount struct {
	Last time.Time
	N    int
}

// AnswerCounts returns, by campaign id, how many answers were queued for
// it and when the last one was (the answer records Forget erases).
func (s *Store) AnswerCounts(ctx context.Context) (map[string]AnswerCount, error) {
	out := map[string]AnswerCount{}
	err := s.read("count_answers", func(q sqlitedb.Querier) error {
		rows, err := q.QueryContext(ctx, `SELECT campaign, max(answered_at), count(*) FROM answers GROUP BY campaign`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var at int64
			var n int
			if err := rows.Scan(&id, &at, &n); err != nil {
				return err
			}
			out[id] = AnswerCount{Last: fromMS(at), N: n}
		}
		return rows.Err()
	})
	return out, err
}

// Answered reports whether campaign has a queued or sent answer for epoch.
func (s *Store) Answered(ctx context.Context, campaign string, epoch uint32) (bool, error) {
	var n int
	err := s.read("is_answered", func(q sqlitedb.Querier) error {
		return q.QueryRowContext(ctx, `SELECT count(*) FROM answers WHERE campaign = ? AND epoch = ?`, campaign, epoch).Scan(&n)
	})
	return n > 0, err
}

package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wisp-project/wisp/internal/ldp"
	"github.com/wisp-project/wisp/internal/sqlitedb"
)

// The long-term budgets: a cap on the ε spent on answers that depend on
// any one taxonomy category, and a cap on the device's total, both over a
// sliding window (DefaultLongWindow) that Erase restarts. Spend checks them
// in the transaction that inserts the entry, like the daily cap.

// normalize sorts and dedupes a charge's categories (never nil).
func normalize(cats []uint32) []uint32 {
	out := append([]uint32{}, cats...)
	slices.Sort(out)
	return slices.Compact(out)
}

// encodeSet is a sorted set's stored form: "3,17,410" ("" for none).
func encodeSet(cats []uint32) string {
	parts := make([]string, len(cats))
	for i, c := range cats {
		parts[i] = strconv.FormatUint(uint64(c), 10)
	}
	return strings.Join(parts, ",")
}

func decodeSet(s string) ([]uint32, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	out := make([]uint32, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("category set %q: %w", s, err)
		}
		out[i] = uint32(v)
	}
	return out, nil
}

// categorySet returns the id of the stored set cats (sorted, deduped),
// inserting it if it is new. It runs in the spend's transaction, so a set
// and the first spend charged to it commit together or not at all.
func categorySet(ctx context.Context, tx *sql.Tx, cats []uint32) (int64, error) {
	key := encodeSet(cats)
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM category_set WHERE categories = ?`, key).Scan(&id)
	if !errors.Is(err, sql.ErrNoRows) {
		return id, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO category_set (categories) VALUES (?)`, key)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// usage is what counts against the long-term caps now.
type usage struct {
	since    time.Time // the later of the window's start and the last erasure
	erasedAt time.Time // the last erasure; zero if none
	device   int64     // nano-ε spent in the period
	legacy   int64     // of which spent before categories were recorded
	sets     []setUsage
	// memos is the nano-ε each memo, with the category set it was charged
	// to, already counts in the period.
	memos map[memoCharge]int64
}

type setUsage struct {
	cats []uint32 // sorted
	nano int64
}

// memoCharge is one memo's charge to one category set.
type memoCharge struct {
	memo ldp.MemoKey
	set  string // encodeSet of the categories
}

// category is the nano-ε spent in the period on answers that depended on
// cat: the spends whose set holds it, and every spend of unknown set.
func (u *usage) category(cat uint32) int64 {
	n := u.legacy
	for _, s := range u.sets {
		if _, ok := slices.BinarySearch(s.cats, cat); ok {
			n += s.nano
		}
	}
	return n
}

// newCharge is what a spend of want nano-ε drawn from memo (zero: none)
// adds to the long-term caps: all of it, unless the memo already counts
// in the period for the same categories — then only what its largest
// earlier charge does not cover.
func (u *usage) newCharge(memo ldp.MemoKey, cats []uint32, want int64) int64 {
	if memo.Campaign == "" {
		return want
	}
	return max(want-u.memos[memoCharge{memo, encodeSet(cats)}], 0)
}

// usage reads the long-term period and what was spent in it. A spend
// counts if it is newer than the window (entries stamped in the future,
// from a clock set back, keep counting) and was recorded after the last
// erasure (by id, so no clock can move a spend across an erasure). The
// spends drawn from one memo for one category set count once, at their
// largest ε; a spend drawn from no memo (or recorded before the ledger
// kept memos) counts on its own.
func (l *Ledger) usage(ctx context.Context, q sqlitedb.Querier, now time.Time) (usage, error) {
	u := usage{since: now.Add(-l.cfg.longWindow), memos: map[memoCharge]int64{}}
	var after, at int64
	err := q.QueryRowContext(ctx, `SELECT after_spend, at_unix_ns FROM erasure ORDER BY id DESC LIMIT 1`).Scan(&after, &at)
	switch {
	case err == nil:
		u.erasedAt = time.Unix(0, at)
		if u.erasedAt.After(u.since) {
			u.since = u.erasedAt
		}
	case !errors.Is(err, sql.ErrNoRows):
		return u, err
	}
	rows, err := q.QueryContext(ctx, `
		SELECT s.category_set, COALESCE(cs.categories, ''), s.memo_scope, s.memo_value, MAX(s.nano_eps)
		FROM spend s LEFT JOIN category_set cs ON cs.id = s.category_set
		WHERE s.at_unix_ns > ? AND s.id > ?
		GROUP BY s.category_set, COALESCE(s.memo_scope, 'spend:' || s.id), s.memo_value`,
		now.Add(-l.cfg.longWindow).UnixNano(), after)
	if err != nil {
		return u, err
	}
	defer rows.Close()
	perSet := map[string]int64{}
	for rows.Next() {
		var set sql.NullInt64
		var key string
		var scope, value sql.NullString
		var n int64
		if err := rows.Scan(&set, &key, &scope, &value, &n); err != nil {
			return u, err
		}
		u.device += n
		if !set.Valid {
			u.legacy += n
			continue
		}
		if scope.Valid {
			u.memos[memoCharge{ldp.MemoKey{Campaign: scope.String, Value: value.String}, key}] = n
		}
		perSet[key] += n
	}
	if err := rows.Err(); err != nil {
		return u, err
	}
	for key, n := range perSet {
		cats, err := decodeSet(key)
		if err != nil {
			return u, err
		}
		u.sets = append(u.sets, setUsage{cats: cats, nano: n})
	}
	return u, nil
}

// memoScope and memoValue are a memo key's stored columns: NULL for no
// memo.
func memoScope(k ldp.MemoKey) any {
	if k.Campaign == "" {
		return nil
	}
	return k.Campaign
}

func memoValue(k ldp.MemoKey) any {
	if k.Campaign == "" {
		return nil
	}
	return k.Value
}

// LongTermSpend is what counts against the long-term caps now: the owner's
// and the device maker's view.
type LongTermSpend struct {
	// Since is when the counted period began: Window before now, or the
	// last erasure if that is later.
	Since time.Time `json:"since"`
	// ErasedAt is the last erasure (Erase); zero if there was none.
	ErasedAt time.Time     `json:"erased_at,omitzero"`
	Window   time.Duration `json:"window"`
	// Total is the ε spent in the period, against DeviceCap.
	Total     float64 `json:"total"`
	DeviceCap float64 `json:"device_cap"`
	// PerCategory is the ε spent in the period on answers that depended on
	// each category, against CategoryCap; categories with no spend are
	// absent. Unattributed is not included.
	PerCategory map[uint32]float64 `json:"per_category"`
	CategoryCap float64            `json:"category_cap"`
	// Unattributed is ε spent before the ledger recorded categories
	// (before its schema version 2): it counts against every category.
	Unattributed float64 `json:"unattributed,omitempty"`
}

// Category is the ε counted against cat's cap: PerCategory[cat] plus
// Unattributed.
func (s LongTermSpend) Category(cat uint32) float64 { return s.PerCategory[cat] + s.Unattributed }

// LongTerm returns what counts against the long-term caps now.
func (l *Ledger) LongTerm(ctx context.Context) (LongTermSpend, error) {
	out := LongTermSpend{PerCategory: map[uint32]float64{}, Window: l.cfg.longWindow,
		DeviceCap: l.cfg.deviceCap, CategoryCap: l.cfg.categoryCap}
	err := l.snapshot(ctx, "long-term", func(tx *sql.Tx) error {
		u, err := l.usage(ctx, tx, l.cfg.now())
		if err != nil {
			return err
		}
		out.Since, out.ErasedAt = u.since, u.erasedAt
		out.Total, out.Unattributed = fromNano(u.device), fromNano(u.legacy)
		per := map[uint32]int64{}
		for _, s := range u.sets {
			for _, c := range s.cats {
				per[c] += s.nano
			}
		}
		for c, n := range per {
			out.PerCategory[c] = fromNano(n)
		}
		return nil
	})
	return out, err
}

// Erasure is one Erase.
type Erasure struct {
	At time.Time `json:"at"`
	// AfterSpend is the id of the last spend before it: the long-term caps
	// count only spends with a larger id.
	AfterSpend int64 `json:"after_spend"`
	// Memos is how many memoized answers it deleted.
	Memos int `json:"memos"`
}

// Erase is the ledger's part of the owner erasing everything derived from
// them: in one transaction it deletes every memoized answer and starts a
// new long-term period, so the long-term caps count only spends made
// after it. Call it only once everything an answer could be computed from
// (events, profile, queued reports) is gone: restarting the long-term
// budget is sound only because every later answer depends on data
// recorded after the erasure, never on what was erased (docs/PRIVACY.md,
// "Erasure"). The memos go in the same transaction because an old memo
// re-sent after the restart would carry erased data — a memo's key is a
// true value once held, its answer a randomization of it — into the new
// period and link the device's reports across it.
//
// Erase keeps the spends (the history the owner is shown), the daily cap
// (it still counts every spend of the last 24 hours, so erasing cannot buy
// a burst) and the campaigns' epoch budgets (an erased device still
// answers an epoch at most once).
func (l *Ledger) Erase(ctx context.Context) (Erasure, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.fault(StepEraseBegin); err != nil {
		return Erasure{}, err
	}
	e := Erasure{At: l.cfg.now()}
	err := l.tx(ctx, "erase", func(tx *sql.Tx) error {
		if err := l.fault(StepEraseMemos); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM memo`)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		e.Memos = int(n)
		if err := l.fault(StepEraseMark); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM spend`).Scan(&e.AfterSpend); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO erasure (after_spend, memos, at_unix_ns) VALUES (?, ?, ?)`,
			e.AfterSpend, n, e.At.UnixNano()); err != nil {
			return err
		}
		return l.fault(StepEraseCommit)
	})
	if err != nil {
		return Erasure{}, err
	}
	if err := l.fault(StepEraseAfterCommit); err != nil {
		return Erasure{}, err
	}
	return e, nil
}

// Erasures lists every Erase, oldest first.
func (l *Ledger) Erasures(ctx context.Context) ([]Erasure, error) {
	var out []Erasure
	err := l.read("erasures", func(q sqlitedb.Querier) error {
		rows, err := q.QueryContext(ctx, `SELECT after_spend, memos, at_unix_ns FROM erasure ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e Erasure
			var at int64
			if err := rows.Scan(&e.AfterSpend, &e.Memos, &at); err != nil {
				return err
			}
			e.At = time.Unix(0, at)
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

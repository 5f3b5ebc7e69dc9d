package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/wisp-project/wisp/internal/ldp"
	"github.com/wisp-project/wisp/internal/sqlitedb"
)

// Charge is what one report will cost.
type Charge struct {
	Campaign string
	Epoch    uint32
	// Epsilon is the ε this report spends.
	Epsilon float64
	// EpochBudget is the campaign's ε per epoch, from its signed config.
	EpochBudget float64
	// Categories are the taxonomy categories the answer depends on: a
	// threshold's or a mean's category, every candidate of a top_k question
	// (a top-k set says something about each). Each is charged Epsilon
	// against the long-term category cap; order and repeats do not matter.
	// A charge naming none counts against the device's caps only.
	Categories []uint32
	// Memo is the memoized answer the report is drawn from (zero: none).
	// The long-term caps charge a memo's Epsilon once per period, however
	// many reports are drawn from it — each is a randomized function of
	// the memo alone, so together they reveal no more than it — while the
	// epoch budget and the 24-hour cap charge every report. The caller
	// must never draw a second memo for the key within the period: memos
	// are first-writer-wins and deleted only by Erase, which starts a new
	// period.
	Memo ldp.MemoKey
}

// Entry is one recorded spend.
type Entry struct {
	ID       int64     `json:"id"`
	Campaign string    `json:"campaign"`
	Epoch    uint32    `json:"epoch"`
	Epsilon  float64   `json:"epsilon"`
	At       time.Time `json:"at"`
	// Categories the answer depended on (Charge.Categories, sorted); nil
	// for a spend recorded before the ledger kept them.
	Categories []uint32 `json:"categories,omitempty"`
	// Memo is Charge.Memo (zero for a spend recorded before the ledger
	// kept it).
	Memo ldp.MemoKey `json:"memo,omitzero"`
}

// The scopes of a BudgetError, in the order Spend checks them.
const (
	ScopeCampaignEpoch = "campaign-epoch" // the campaign's budget for the epoch
	ScopeDaily         = "daily"          // the device's cap over any 24 hours
	ScopeCategory      = "category"       // a category's long-term cap
	ScopeDevice        = "device"         // the device's long-term cap
)

// BudgetError says which budget a refused charge would have exceeded. It
// matches ErrOverBudget.
type BudgetError struct {
	Scope string  // ScopeCampaignEpoch, ScopeDaily, ScopeCategory or ScopeDevice
	Spent float64 // already spent in the scope
	Want  float64 // the refused charge
	Limit float64 // the scope's budget
	// Category is the category whose cap refused (ScopeCategory only).
	Category uint32
	// Since is when the long-term scopes' period began: the window's start
	// or the last erasure, whichever is later (long-term scopes only).
	Since time.Time
}

// Left is what remains of the scope's budget: the largest charge it would
// still accept.
func (e *BudgetError) Left() float64 { return math.Max(e.Limit-e.Spent, 0) }

func (e *BudgetError) Error() string {
	switch e.Scope {
	case ScopeCategory:
		return fmt.Sprintf("%v: category %d: spent %.6g + %.6g > %.6g since %s (%.6g left)",
			ErrOverBudget, e.Category, e.Spent, e.Want, e.Limit, e.Since.UTC().Format(time.DateOnly), e.Left())
	case ScopeDevice:
		return fmt.Sprintf("%v: device long-term cap: spent %.6g + %.6g > %.6g since %s (%.6g left)",
			ErrOverBudget, e.Spent, e.Want, e.Limit, e.Since.UTC().Format(time.DateOnly), e.Left())
	}
	return fmt.Sprintf("%v: %s: spent %.6g + %.6g > %.6g", ErrOverBudget, e.Scope, e.Spent, e.Want, e.Limit)
}

// Unwrap makes errors.Is(err, ErrOverBudget) true.
func (e *BudgetError) Unwrap() error { return ErrOverBudget }

func (c Charge) check() error {
	switch {
	case c.Campaign == "":
		return fmt.Errorf("%w: empty campaign", ErrCharge)
	case !(c.Epsilon > 0) || math.IsInf(c.Epsilon, 0):
		return fmt.Errorf("%w: ε = %v", ErrCharge, c.Epsilon)
	case !(c.EpochBudget >= 0) || math.IsInf(c.EpochBudget, 0):
		return fmt.Errorf("%w: epoch budget %v", ErrCharge, c.EpochBudget)
	}
	return nil
}

// Spend records the charge durably if it fits the campaign's epoch budget,
// the device's 24-hour cap, the long-term cap of every category it names
// and the device's long-term cap, and returns the entry; otherwise it
// records nothing and returns a *BudgetError (errors.Is ErrOverBudget)
// naming the first budget, in that order, that refused.
//
// Call it before queueing the report, and queue only if it returns nil.
// Any other error means the outcome is unknown to the caller (the entry may
// or may not be on disk): send nothing; at worst budget is spent for a
// report that was never sent.
func (l *Ledger) Spend(ctx context.Context, c Charge) (Entry, error) {
	if err := c.check(); err != nil {
		return Entry{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.fault(StepBegin); err != nil {
		return Entry{}, err
	}
	now := l.cfg.now()
	want := nano(c.Epsilon, true)
	cats := normalize(c.Categories)
	e := Entry{Campaign: c.Campaign, Epoch: c.Epoch, Epsilon: c.Epsilon, At: now, Categories: cats, Memo: c.Memo}
	err := l.tx(ctx, "spend", func(tx *sql.Tx) error {
		if err := l.fault(StepRead); err != nil {
			return err
		}
		if err := l.admit(ctx, tx, c, cats, want, now); err != nil {
			return err
		}
		if err := l.fault(StepInsertSet); err != nil {
			return err
		}
		set, err := categorySet(ctx, tx, cats)
		if err != nil {
			return err
		}
		if err := l.fault(StepInsert); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx,
			`INSERT INTO spend (campaign, epoch, nano_eps, at_unix_ns, category_set, memo_scope, memo_value) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			c.Campaign, int64(c.Epoch), want, now.UnixNano(), set, memoScope(c.Memo), memoValue(c.Memo))
		if err != nil {
			return err
		}
		if e.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		return l.fault(StepCommit)
	})
	if err != nil {
		return Entry{}, err
	}
	if err := l.fault(StepAfterCommit); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// admit returns the *BudgetError that refuses a charge of want nano-ε, or
// nil if every budget has room: the one check Spend and Check share.
func (l *Ledger) admit(ctx context.Context, q sqlitedb.Querier, c Charge, cats []uint32, want int64, now time.Time) error {
	spentCampaign, spentDay, err := spent(ctx, q, c.Campaign, c.Epoch, now)
	if err != nil {
		return err
	}
	if limit := nano(c.EpochBudget, false); spentCampaign+want > limit {
		return &BudgetError{Scope: ScopeCampaignEpoch, Spent: fromNano(spentCampaign), Want: c.Epsilon, Limit: c.EpochBudget}
	}
	if limit := nano(l.cfg.dailyCap, false); spentDay+want > limit {
		return &BudgetError{Scope: ScopeDaily, Spent: fromNano(spentDay), Want: c.Epsilon, Limit: l.cfg.dailyCap}
	}
	u, err := l.usage(ctx, q, now)
	if err != nil {
		return err
	}
	long := u.newCharge(c.Memo, cats, want)
	if long == 0 {
		return nil // a re-send of a memo already charged in this period
	}
	limit := nano(l.cfg.categoryCap, false)
	for _, cat := range cats {
		if n := u.category(cat); n+long > limit {
			return &BudgetError{Scope: ScopeCategory, Spent: fromNano(n), Want: fromNano(long), Limit: l.cfg.categoryCap,
				Category: cat, Since: u.since}
		}
	}
	if limit := nano(l.cfg.deviceCap, false); u.device+long > limit {
		return &BudgetError{Scope: ScopeDevice, Spent: fromNano(u.device), Want: fromNano(long), Limit: l.cfg.deviceCap, Since: u.since}
	}
	return nil
}

// Check reports whether Spend would accept the charge now: nil, or the
// *BudgetError it would return. It records nothing; the owner's screen
// uses it to say why a campaign waits.
func (l *Ledger) Check(ctx context.Context, c Charge) error {
	if err := c.check(); err != nil {
		return err
	}
	return l.snapshot(ctx, "check", func(tx *sql.Tx) error {
		return l.admit(ctx, tx, c, normalize(c.Categories), nano(c.Epsilon, true), l.cfg.now())
	})
}

// SpendThen calls Spend and, only if it succeeded, queue. If queue fails
// the budget stays spent: the report is lost, the guarantee kept.
func (l *Ledger) SpendThen(ctx context.Context, c Charge, queue func(Entry) error) (Entry, error) {
	e, err := l.Spend(ctx, c)
	if err != nil {
		return Entry{}, err
	}
	if err := queue(e); err != nil {
		return e, fmt.Errorf("ledger: spent entry %d but queueing failed (report lost, budget kept spent): %w", e.ID, err)
	}
	return e, nil
}

// spent sums, in nano-ε, the campaign's epoch spend and the device's spend
// in the Window before now. Entries stamped after now (a clock that went
// back) still count.
func spent(ctx context.Context, q sqlitedb.Querier, campaign string, epoch uint32, now time.Time) (campaignNano, windowNano int64, err error) {
	err = q.QueryRowContext(ctx, `
		SELECT
			COALESCE((SELECT SUM(nano_eps) FROM spend WHERE campaign = ? AND epoch = ?), 0),
			COALESCE((SELECT SUM(nano_eps) FROM spend WHERE at_unix_ns > ?), 0)`,
		campaign, int64(epoch), now.Add(-Window).UnixNano()).Scan(&campaignNano, &windowNano)
	return campaignNano, windowNano, err
}

func (l *Ledger) fault(s Step) error {
	if l.cfg.fault == nil {
		return nil
	}
	if err := l.cfg.fault(s); err != nil {
		return fmt.Errorf("ledger: injected fault at %s: %w", s, err)
	}
	return nil
}

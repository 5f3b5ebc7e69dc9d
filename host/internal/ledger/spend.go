package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"
)

// Charge is what one report will cost.
type Charge struct {
	Campaign string
	Epoch    uint32
	// Epsilon is the ε this report spends.
	Epsilon float64
	// EpochBudget is the campaign's ε per epoch, from its signed config.
	EpochBudget float64
}

// Entry is one recorded spend.
type Entry struct {
	ID       int64     `json:"id"`
	Campaign string    `json:"campaign"`
	Epoch    uint32    `json:"epoch"`
	Epsilon  float64   `json:"epsilon"`
	At       time.Time `json:"at"`
}

// BudgetError says which budget a refused charge would have exceeded. It
// matches ErrOverBudget.
type BudgetError struct {
	Scope string  // "campaign-epoch" or "daily"
	Spent float64 // already spent in the scope
	Want  float64 // the refused charge
	Limit float64 // the scope's budget
}

func (e *BudgetError) Error() string {
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

// Spend records the charge durably if it fits both the campaign's epoch
// budget and the device's 24-hour cap, and returns the entry; otherwise it
// records nothing and returns a *BudgetError (errors.Is ErrOverBudget).
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
	e := Entry{Campaign: c.Campaign, Epoch: c.Epoch, Epsilon: c.Epsilon, At: now}
	want := nano(c.Epsilon, true)
	err := l.tx(ctx, "spend", func(tx *sql.Tx) error {
		if err := l.fault(StepRead); err != nil {
			return err
		}
		spentCampaign, spentDay, err := spent(ctx, tx, c.Campaign, c.Epoch, now)
		if err != nil {
			return err
		}
		if limit := nano(c.EpochBudget, false); spentCampaign+want > limit {
			return &BudgetError{"campaign-epoch", fromNano(spentCampaign), c.Epsilon, c.EpochBudget}
		}
		if limit := nano(l.cfg.dailyCap, false); spentDay+want > limit {
			return &BudgetError{"daily", fromNano(spentDay), c.Epsilon, l.cfg.dailyCap}
		}
		if err := l.fault(StepInsert); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx,
			`INSERT INTO spend (campaign, epoch, nano_eps, at_unix_ns) VALUES (?, ?, ?, ?)`,
			c.Campaign, int64(c.Epoch), want, now.UnixNano())
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
func spent(ctx context.Context, tx *sql.Tx, campaign string, epoch uint32, now time.Time) (campaignNano, windowNano int64, err error) {
	err = tx.QueryRowContext(ctx, `
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

package host

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wisp-project/wisp/host/internal/answer"
	"github.com/wisp-project/wisp/host/internal/ledger"
	"github.com/wisp-project/wisp/internal/ldp"
)

// LedgerDB is the name of the privacy budget ledger's database file in a
// device's directory (host/internal/ledger). It is a separate file from
// DeviceDB so the ledger's one rule — the spend is durable before the
// report exists — does not depend on the device store.
const LedgerDB = "ledger.db"

// ErrOverBudget: an answer was not given because it would exceed a privacy
// budget. The error is a *BudgetError saying which.
var ErrOverBudget = ledger.ErrOverBudget

// The budgets a BudgetError names.
const (
	BudgetCampaignEpoch = ledger.ScopeCampaignEpoch // the campaign's ε for one epoch
	BudgetDaily         = ledger.ScopeDaily         // the device's ε in any 24 hours
	BudgetCategory      = ledger.ScopeCategory      // the ε on one category over the long-term window
	BudgetDevice        = ledger.ScopeDevice        // the device's ε over the long-term window
)

// BudgetError is an answer the privacy ledger refused: which budget, how
// much of it is used and left. It matches ErrOverBudget.
type BudgetError struct {
	Campaign string `json:"campaign"`
	// Budget is BudgetCampaignEpoch, BudgetDaily, BudgetCategory or
	// BudgetDevice.
	Budget string `json:"budget"`
	// Category and CategoryName name the category whose cap refused
	// (BudgetCategory only).
	Category     uint32  `json:"category,omitempty"`
	CategoryName string  `json:"category_name,omitempty"`
	Spent        float64 `json:"epsilon_spent"`
	Cost         float64 `json:"epsilon_cost"`
	Limit        float64 `json:"epsilon_limit"`
	Left         float64 `json:"epsilon_left"`
	// Since is when the long-term budgets' period began (BudgetCategory and
	// BudgetDevice): the window's start, or the last time the owner erased
	// everything if that is later.
	Since time.Time `json:"since,omitzero"`
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("%v: campaign %q: %s", ErrOverBudget, e.Campaign, e.Plain())
}

// Unwrap makes errors.Is(err, ErrOverBudget) true.
func (e *BudgetError) Unwrap() error { return ErrOverBudget }

// Plain says in the owner's words why the answer waits.
func (e *BudgetError) Plain() string {
	since := e.Since.UTC().Format(time.DateOnly)
	switch e.Budget {
	case BudgetCategory:
		return fmt.Sprintf("answers about %s have used ε %.2f of %.2f since %s; this one costs %.2f and %.2f is left",
			e.CategoryName, e.Spent, e.Limit, since, e.Cost, e.Left)
	case BudgetDevice:
		return fmt.Sprintf("all answers together have used ε %.2f of the device's %.2f since %s; this one costs %.2f and %.2f is left",
			e.Spent, e.Limit, since, e.Cost, e.Left)
	case BudgetDaily:
		return fmt.Sprintf("an answer costs ε = %.2f and %.2f is left of your 24-hour budget", e.Cost, e.Left)
	}
	return fmt.Sprintf("the campaign has already spent ε %.2f of its %.2f this epoch", e.Spent, e.Limit)
}

// charge is answer.Charge; a top_k question that names no categories
// (never a validated config) is charged to every Interest category, never
// to none.
func (d *Device) charge(c *Campaign, epoch uint32, memo ldp.MemoKey) ledger.Charge {
	ch := answer.Charge(c, epoch, memo)
	if len(ch.Categories) == 0 {
		for _, cat := range d.tax.Under("Interest") {
			ch.Categories = append(ch.Categories, cat.ID)
		}
	}
	return ch
}

// spend charges one answer drawn from memo to the ledger (charge). It
// returns a *BudgetError (errors.Is ErrOverBudget) when a budget refuses.
func (d *Device) spend(ctx context.Context, c *Campaign, epoch uint32, memo ldp.MemoKey) error {
	_, err := d.ledger.Spend(ctx, d.charge(c, epoch, memo))
	return d.budgetError(c.ID, err)
}

// checkBudget is the refusal spend would return now for an answer drawn
// from memo (zero: a fresh one, as the owner's screen assumes), or nil; it
// spends nothing.
func (d *Device) checkBudget(ctx context.Context, c *Campaign, epoch uint32, memo ldp.MemoKey) error {
	return d.budgetError(c.ID, d.ledger.Check(ctx, d.charge(c, epoch, memo)))
}

// pendingMemo is the memo c's answer would be drawn from now, for the
// owner's screen: zero if the device cannot tell yet (no rounding offset
// drawn), which Check prices as a fresh answer.
func (d *Device) pendingMemo(ctx context.Context, c *Campaign, scores map[uint32]float32) (ldp.MemoKey, error) {
	codec, err := c.Codec()
	if err != nil || c.IsPrio3() {
		return ldp.MemoKey{}, nil // never answered, or never memoized (prio3): priced as fresh
	}
	_, key, err := answer.Key(ctx, d.ledger, codec, scores, nil, true)
	return key, err
}

// budgetError turns the ledger's refusal into the owner's words; other
// errors pass through.
func (d *Device) budgetError(campaign string, err error) error {
	var be *ledger.BudgetError
	if !errors.As(err, &be) {
		return err
	}
	out := &BudgetError{Campaign: campaign, Budget: be.Scope, Spent: be.Spent, Cost: be.Want, Limit: be.Limit,
		Left: be.Left(), Since: be.Since}
	if be.Scope == ledger.ScopeCategory {
		out.Category, out.CategoryName = be.Category, d.categoryName(be.Category)
	}
	return out
}

// answeredEpoch reports whether the ledger holds a spend for campaign in
// epoch: the device's first line against answering an epoch twice.
func (d *Device) answeredEpoch(ctx context.Context, campaign string, epoch uint32, epsilon float64) (bool, error) {
	b, err := d.ledger.Remaining(ctx, campaign, epoch, epsilon)
	return b.Spent > 0, err
}

// spentPerCampaign sums the ledger's entries per campaign, all epochs.
func (d *Device) spentPerCampaign(ctx context.Context) (map[string]float64, error) {
	entries, err := d.ledger.Entries(ctx, time.Time{})
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, e := range entries {
		out[e.Campaign] += e.Epsilon
	}
	return out, nil
}

func overBudget(err error) bool { return errors.Is(err, ledger.ErrOverBudget) }

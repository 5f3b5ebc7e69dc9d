package ledger_test

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/wisp-project/wisp/host/internal/ledger"
	"github.com/wisp-project/wisp/internal/ldp"
)

const year = 365 * 24 * time.Hour

// longTermLedger has a daily cap that never binds, so only the long-term
// caps refuse: 3 per category and 10 per device over 365 days.
func longTermLedger(t *testing.T, clock *fixedClock) *ledger.Ledger {
	t.Helper()
	return mustOpen(t, filepath.Join(t.TempDir(), "ledger.db"),
		ledger.NewConfig(1000).WithLongTerm(3, 10, year).WithClock(clock.now))
}

// spendOn charges eps to a fresh campaign (so no epoch budget binds)
// depending on cats.
func spendOn(t *testing.T, l *ledger.Ledger, eps float64, cats ...uint32) error {
	t.Helper()
	spendSeq++
	_, err := l.Spend(context.Background(), ledger.Charge{Campaign: "c" + strconv.Itoa(spendSeq),
		Epsilon: eps, EpochBudget: eps, Categories: cats})
	return err
}

var spendSeq int

// wantRefusal checks err is a *BudgetError of scope (and category), with
// left remaining.
func wantRefusal(t *testing.T, err error, scope string, category uint32, left float64) *ledger.BudgetError {
	t.Helper()
	var be *ledger.BudgetError
	if !errors.As(err, &be) || !errors.Is(err, ledger.ErrOverBudget) {
		t.Fatalf("err = %v, want a %s BudgetError", err, scope)
	}
	if be.Scope != scope || be.Category != category || !near(be.Left(), left) {
		t.Fatalf("refusal %+v (%v), want scope %s category %d with %.9g left", be, err, scope, category, left)
	}
	return be
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func mustSpend(t *testing.T, l *ledger.Ledger, eps float64, cats ...uint32) {
	t.Helper()
	if err := spendOn(t, l, eps, cats...); err != nil {
		t.Fatalf("spend %.9g on %v: %v", eps, cats, err)
	}
}

// TestCategoryCapAtTheEdges: exactly at the cap is accepted, a nano-ε over
// is refused naming the category and what is left, and other categories
// are unaffected.
func TestCategoryCapAtTheEdges(t *testing.T) {
	clock := newClock()
	l := longTermLedger(t, clock)
	mustSpend(t, l, 1, 410)
	mustSpend(t, l, 1.5, 410)
	be := wantRefusal(t, spendOn(t, l, 0.500000001, 410), ledger.ScopeCategory, 410, 0.5)
	if be.Spent != 2.5 || be.Limit != 3 || !be.Since.Equal(clock.now().Add(-year)) {
		t.Errorf("refusal %+v: want spent 2.5 of 3 since a year ago", be)
	}
	mustSpend(t, l, 0.5, 410) // exactly at the cap
	wantRefusal(t, spendOn(t, l, 1e-9, 410), ledger.ScopeCategory, 410, 0)
	mustSpend(t, l, 3, 625) // another category has its own cap
	// A threshold and a mean both count: the category names the answer.
	lt, err := l.LongTerm(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if lt.PerCategory[410] != 3 || lt.PerCategory[625] != 3 || lt.Total != 6 || lt.CategoryCap != 3 || lt.DeviceCap != 10 {
		t.Errorf("LongTerm = %+v", lt)
	}
}

// TestTopKChargesEveryCandidate: a top_k answer depends on every category
// of its candidate set, so it counts against each, and it is refused when
// any one of them is full.
func TestTopKChargesEveryCandidate(t *testing.T) {
	l := longTermLedger(t, newClock())
	mustSpend(t, l, 2, 700, 410, 625, 410) // order and repeats do not matter
	for _, c := range []uint32{410, 625, 700} {
		wantRefusal(t, spendOn(t, l, 1.5, c), ledger.ScopeCategory, c, 1)
	}
	mustSpend(t, l, 1, 625) // 625 now full
	wantRefusal(t, spendOn(t, l, 0.5, 410, 625, 700), ledger.ScopeCategory, 625, 0)
	mustSpend(t, l, 1, 410, 700, 999) // a set without 625 still fits
	es, err := l.Entries(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got := es[0].Categories; len(got) != 3 || got[0] != 410 || got[1] != 625 || got[2] != 700 {
		t.Errorf("entry categories %v, want the sorted set [410 625 700]", got)
	}
}

// TestDeviceCapAtTheEdges: the device's long-term cap counts every spend,
// whatever its categories (and a charge naming none).
func TestDeviceCapAtTheEdges(t *testing.T) {
	clock := newClock()
	l := longTermLedger(t, clock)
	for c := range uint32(9) {
		mustSpend(t, l, 1, c)
	}
	mustSpend(t, l, 0.5)
	wantRefusal(t, spendOn(t, l, 0.500000001, 42), ledger.ScopeDevice, 0, 0.5)
	mustSpend(t, l, 0.5, 42) // exactly 10
	be := wantRefusal(t, spendOn(t, l, 1e-9), ledger.ScopeDevice, 0, 0)
	if be.Spent != 10 || be.Limit != 10 {
		t.Errorf("refusal %+v, want 10 of 10", be)
	}
	if err := l.Check(context.Background(), ledger.Charge{Campaign: "x", Epsilon: 1, EpochBudget: 1, Categories: []uint32{7}}); !errors.Is(err, ledger.ErrOverBudget) {
		t.Errorf("Check = %v, want the same refusal", err)
	}
}

// TestLongTermWindowExpires: a spend counts for exactly the window — still
// counted one nanosecond before 365 days have passed, gone at 365 days.
func TestLongTermWindowExpires(t *testing.T) {
	clock := newClock()
	l := longTermLedger(t, clock)
	mustSpend(t, l, 3, 410)
	clock.advance(year - time.Nanosecond)
	wantRefusal(t, spendOn(t, l, 1, 410), ledger.ScopeCategory, 410, 0)
	clock.advance(time.Nanosecond)
	mustSpend(t, l, 3, 410)
	// A clock set back keeps counting what it stamped in the future.
	clock.advance(-2 * year)
	wantRefusal(t, spendOn(t, l, 1, 410), ledger.ScopeCategory, 410, 0)
}

// TestCheckRecordsNothing: Check answers like Spend and writes nothing.
func TestCheckRecordsNothing(t *testing.T) {
	ctx := context.Background()
	l := longTermLedger(t, newClock())
	c := ledger.Charge{Campaign: "a", Epsilon: 3, EpochBudget: 3, Categories: []uint32{1}}
	for range 3 {
		if err := l.Check(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if es, _ := l.Entries(ctx, time.Time{}); len(es) != 0 {
		t.Fatalf("Check recorded %d entries", len(es))
	}
	if _, err := l.Spend(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.Campaign = "b"
	wantRefusal(t, l.Check(ctx, c), ledger.ScopeCategory, 1, 0)
}

// TestEraseRestartsTheLongTermPeriod: Erase deletes the memos and starts a
// new long-term period in one step; the daily cap and the epoch budgets
// still count what was spent before it, and the spends stay listed.
func TestEraseRestartsTheLongTermPeriod(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	l := mustOpen(t, filepath.Join(t.TempDir(), "ledger.db"), ledger.NewConfig(5).WithLongTerm(3, 10, year).WithClock(clock.now))
	key := ldp.MemoKey{Campaign: "a", Value: "1"}
	if err := l.StoreMemo(ctx, key, []byte{1}); err != nil {
		t.Fatal(err)
	}
	spend := func(campaign string, eps float64) error {
		_, err := l.Spend(ctx, ledger.Charge{Campaign: campaign, Epoch: 1, Epsilon: eps, EpochBudget: 2, Categories: []uint32{410}})
		return err
	}
	if err := spend("a", 2); err != nil {
		t.Fatal(err)
	}
	if err := spend("b", 1); err != nil {
		t.Fatal(err)
	}
	wantRefusal(t, spend("c", 1), ledger.ScopeCategory, 410, 0)
	clock.advance(time.Hour)
	e, err := l.Erase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if e.Memos != 1 || e.AfterSpend != 2 || !e.At.Equal(clock.now()) {
		t.Errorf("Erase = %+v, want 1 memo, after spend 2, now", e)
	}
	if _, ok, _ := l.LoadMemo(ctx, key); ok {
		t.Error("the memo survived Erase")
	}
	wantRefusal(t, spend("a", 0.5), ledger.ScopeCampaignEpoch, 0, 0) // epoch budgets are not reset
	if err := spend("c", 2); err != nil {                            // the category cap is
		t.Fatal(err)
	}
	wantRefusal(t, spend("d", 0.5), ledger.ScopeDaily, 0, 0) // the daily cap is not: 3 + 2 of 5
	lt, err := l.LongTerm(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !lt.Since.Equal(e.At) || !lt.ErasedAt.Equal(e.At) || lt.Total != 2 || lt.PerCategory[410] != 2 {
		t.Errorf("LongTerm after Erase = %+v, want 2 spent since the erasure", lt)
	}
	// An erasure is by spend id, not time: a clock set back cannot move
	// the old spends into the new period.
	clock.advance(-2 * time.Hour)
	if lt, _ := l.LongTerm(ctx); lt.Total != 2 {
		t.Errorf("after the clock went back, %v counted, want 2", lt.Total)
	}
	if es, _ := l.Entries(ctx, time.Time{}); len(es) != 3 {
		t.Errorf("%d entries listed after Erase, want all 3", len(es))
	}
	if es, _ := l.Erasures(ctx); len(es) != 1 {
		t.Errorf("Erasures = %+v", es)
	}
}

func TestLongTermConfigValidated(t *testing.T) {
	for _, cfg := range []ledger.Config{
		ledger.NewConfig(1).WithLongTerm(-1, 1, year),
		ledger.NewConfig(1).WithLongTerm(1, -1, year),
		ledger.NewConfig(1).WithLongTerm(1, 1, 0),
	} {
		if _, err := ledger.Open(context.Background(), filepath.Join(t.TempDir(), "l.db"), cfg); !errors.Is(err, ledger.ErrConfig) {
			t.Errorf("Open = %v, want ErrConfig", err)
		}
	}
	perCategory, perDevice, window := ledger.NewConfig(1).LongTerm()
	if perCategory != ledger.DefaultCategoryCap || perDevice != ledger.DefaultDeviceCap || window != ledger.DefaultLongWindow {
		t.Errorf("defaults %v %v %v", perCategory, perDevice, window)
	}
}

// TestMemoChargedOncePerPeriod (issue 14, item 4): the long-term caps
// charge a memo once per period — a re-send from it adds nothing, however
// many campaigns or epochs send it — while the 24-hour cap and the epoch
// budget charge every report. Another memo (another true value or
// question) is charged afresh; so is the same memo once its first charge
// has left the window, or after an erasure.
func TestMemoChargedOncePerPeriod(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	start := clock.now()
	l := mustOpen(t, filepath.Join(t.TempDir(), "ledger.db"),
		ledger.NewConfig(2.5).WithLongTerm(3, 10, year).WithClock(clock.now))
	memo := ldp.MemoKey{Campaign: "q:abc", Value: "1"}
	send := func(campaign string, epoch uint32, key ldp.MemoKey) error {
		_, err := l.Spend(ctx, ledger.Charge{Campaign: campaign, Epoch: epoch, Epsilon: 1, EpochBudget: 1,
			Categories: []uint32{410}, Memo: key})
		return err
	}
	longTerm := func() (total, cat float64) {
		lt, err := l.LongTerm(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return lt.Total, lt.Category(410)
	}
	// 100 campaign ids asking one question, two a day: one charge.
	for i := range 100 {
		if err := send("id-"+strconv.Itoa(i), 0, memo); err != nil {
			t.Fatalf("re-send %d: %v", i, err)
		}
		if i%2 == 1 {
			clock.advance(24 * time.Hour)
		}
	}
	if total, cat := longTerm(); total != 1 || cat != 1 {
		t.Fatalf("100 sends of one memo count %v (category %v), want 1", total, cat)
	}
	// The 24-hour cap counts every report: a third send today is refused.
	send("today-1", 0, memo)
	send("today-2", 0, memo)
	wantRefusal(t, send("today-3", 0, memo), ledger.ScopeDaily, 0, 0.5)
	// The epoch budget counts every report: one per campaign and epoch.
	clock.advance(24 * time.Hour)
	wantRefusal(t, send("id-0", 0, memo), ledger.ScopeCampaignEpoch, 0, 0)
	// Other memos are charged afresh, up to the category's cap of 3.
	if err := send("x", 0, ldp.MemoKey{Campaign: "q:abc", Value: "0"}); err != nil {
		t.Fatal(err)
	}
	if err := send("y", 0, ldp.MemoKey{Campaign: "q:def", Value: "1"}); err != nil {
		t.Fatal(err)
	}
	clock.advance(24 * time.Hour)
	wantRefusal(t, send("z", 0, ldp.MemoKey{Campaign: "q:ghi", Value: "1"}), ledger.ScopeCategory, 410, 0)
	wantRefusal(t, send("none", 0, ldp.MemoKey{}), ledger.ScopeCategory, 410, 0) // no memo: a fresh answer
	if err := send("again", 0, memo); err != nil {
		t.Fatalf("a re-send at the cap: %v", err)
	}
	if total, cat := longTerm(); total != 3 || cat != 3 {
		t.Fatalf("three memos count %v (category %v), want 3", total, cat)
	}
	// A year after its first charge the memo's later re-sends still count it:
	// the window holds a spend of it, so it is charged once in the window.
	clock.t.Store(start.Add(year + 24*time.Hour).UnixNano())
	if total, _ := longTerm(); total != 3 {
		t.Fatalf("after a year, %v counts; want 3 (the memos' latest sends are in the window)", total)
	}
	// After an erasure the period restarts: the memo is charged again.
	if _, err := l.Erase(ctx); err != nil {
		t.Fatal(err)
	}
	if err := send("after", 0, memo); err != nil {
		t.Fatal(err)
	}
	if total, _ := longTerm(); total != 1 {
		t.Fatalf("after erasing, %v counts; want 1", total)
	}
	es, _ := l.Entries(ctx, time.Time{})
	if last := es[len(es)-1]; last.Memo != memo || last.Epsilon != 1 {
		t.Errorf("last entry %+v, want its memo %v", last, memo)
	}
}

package ledger_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wisp-project/wisp/host/internal/ledger"
	"github.com/wisp-project/wisp/internal/ldp"
)

func mustOpen(tb testing.TB, path string, cfg ledger.Config) *ledger.Ledger {
	tb.Helper()
	l, err := ledger.Open(context.Background(), path, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	return l
}

// fixedClock is a controllable clock.
type fixedClock struct{ t atomic.Int64 }

func (c *fixedClock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *fixedClock) advance(d time.Duration) { c.t.Add(int64(d)) }

func newClock() *fixedClock {
	c := &fixedClock{}
	c.t.Store(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func TestSpendEnforcesEpochBudgetAndDailyCap(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	l := mustOpen(t, filepath.Join(t.TempDir(), "ledger.db"), ledger.NewConfig(3).WithClock(clock.now))
	steps := []struct {
		c       ledger.Charge
		advance time.Duration
		wantErr string // "", "campaign-epoch" or "daily"
	}{
		{ledger.Charge{Campaign: "a", Epoch: 1, Epsilon: 0.5, EpochBudget: 1}, 0, ""},
		{ledger.Charge{Campaign: "a", Epoch: 1, Epsilon: 0.5, EpochBudget: 1}, 0, ""},
		{ledger.Charge{Campaign: "a", Epoch: 1, Epsilon: 0.1, EpochBudget: 1}, 0, "campaign-epoch"},
		{ledger.Charge{Campaign: "a", Epoch: 2, Epsilon: 1, EpochBudget: 1}, 0, ""},
		{ledger.Charge{Campaign: "b", Epoch: 1, Epsilon: 1, EpochBudget: 2}, 0, ""},        // 3.0 of 3
		{ledger.Charge{Campaign: "b", Epoch: 1, Epsilon: 0.1, EpochBudget: 2}, 0, "daily"}, // window full
		{ledger.Charge{Campaign: "b", Epoch: 1, Epsilon: 0.1, EpochBudget: 2}, 23 * time.Hour, "daily"},
		{ledger.Charge{Campaign: "b", Epoch: 1, Epsilon: 1, EpochBudget: 2}, time.Hour, ""}, // first spends left the window
	}
	for i, s := range steps {
		clock.advance(s.advance)
		_, err := l.Spend(ctx, s.c)
		var be *ledger.BudgetError
		switch {
		case s.wantErr == "" && err != nil:
			t.Fatalf("step %d: %v", i, err)
		case s.wantErr != "" && (!errors.As(err, &be) || be.Scope != s.wantErr || !errors.Is(err, ledger.ErrOverBudget)):
			t.Fatalf("step %d: err = %v, want %s budget error", i, err, s.wantErr)
		}
	}
	got, err := l.Remaining(ctx, "b", 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := ledger.Budget{Campaign: "b", Epoch: 1, Spent: 2, EpochLeft: 0, DailyLeft: 2, Left: 0}
	if got != want {
		t.Errorf("Remaining = %+v, want %+v", got, want)
	}
	win, err := l.Window(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if win.Total != 1 || win.PerCampaign["b"] != 1 || len(win.PerCampaign) != 1 || win.Cap != 3 {
		t.Errorf("Window = %+v, want only the last spend of b (1 of 3)", win)
	}
}

func TestSpendRejectsBadCharges(t *testing.T) {
	l := mustOpen(t, filepath.Join(t.TempDir(), "ledger.db"), ledger.NewConfig(3))
	for _, c := range []ledger.Charge{
		{Campaign: "", Epsilon: 1, EpochBudget: 1},
		{Campaign: "a", Epsilon: 0, EpochBudget: 1},
		{Campaign: "a", Epsilon: -1, EpochBudget: 1},
		{Campaign: "a", Epsilon: 1, EpochBudget: -1},
	} {
		if _, err := l.Spend(context.Background(), c); !errors.Is(err, ledger.ErrCharge) {
			t.Errorf("Spend(%+v) err = %v, want ErrCharge", c, err)
		}
	}
}

// TestFaultAtEveryStepNeverOverspends injects a failure at each step of
// Spend in turn, many times, interleaved with successful spends, and checks
// after every call that (a) the recorded total never exceeds the daily cap
// and category 99's never exceeds its long-term cap, (b) a call that
// returned an error before the commit recorded nothing, and (c) a call
// that returned nil recorded exactly its entry — the caller's rule "queue
// only on nil" then never sends an unrecorded report. Every round names a
// new category set, so the set's insert is among the faulted steps.
func TestFaultAtEveryStepNeverOverspends(t *testing.T) {
	ctx := context.Background()
	var failAt atomic.Value // ledger.Step or ""
	failAt.Store(ledger.Step(""))
	hook := func(s ledger.Step) error {
		if failAt.Load().(ledger.Step) == s {
			return errors.New("injected")
		}
		return nil
	}
	const capEps, catCap = 2.0, 1.5
	l := mustOpen(t, filepath.Join(t.TempDir(), "ledger.db"),
		ledger.NewConfig(capEps).WithLongTerm(catCap, 100, 365*24*time.Hour).WithFault(hook))
	total := func() (all, cat99 float64) {
		es, err := l.Entries(ctx, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			all += e.Epsilon
			if slices.Contains(e.Categories, 99) {
				cat99 += e.Epsilon
			}
		}
		return all, cat99
	}
	sent := 0.0 // what a caller following the rule would have queued
	for round := range 12 {
		for _, step := range append(ledger.Steps[:], "") {
			failAt.Store(step)
			before, _ := total()
			_, err := l.Spend(ctx, ledger.Charge{Campaign: "c", Epoch: uint32(round), Epsilon: 0.1, EpochBudget: 1,
				Categories: []uint32{99, uint32(round)*10 + uint32(len(step))}})
			after, cat := total()
			if err == nil {
				sent += 0.1
			}
			switch {
			case after > capEps+1e-9:
				t.Fatalf("round %d step %q: recorded %.2f > cap %.2f", round, step, after, capEps)
			case cat > catCap+1e-9:
				t.Fatalf("round %d step %q: category 99 recorded %.2f > its cap %.2f", round, step, cat, catCap)
			case err == nil && after-before < 0.1-1e-9:
				t.Fatalf("round %d step %q: Spend returned nil without recording", round, step)
			case err != nil && step != ledger.StepAfterCommit && after != before:
				t.Fatalf("round %d step %q: failed Spend recorded %.2f", round, step, after-before)
			}
			if sent > after+1e-9 {
				t.Fatalf("queued %.2f but recorded only %.2f", sent, after)
			}
		}
	}
	if _, cat := total(); cat < catCap-1e-9 {
		t.Errorf("category cap not reached after all rounds: %.2f", cat)
	}
}

// TestFaultAtEveryEraseStep fails Erase at each step: before the commit it
// leaves the memos and the long-term period as they were, after it both
// are done; a retried Erase then completes.
func TestFaultAtEveryEraseStep(t *testing.T) {
	ctx := context.Background()
	for _, step := range ledger.EraseSteps {
		t.Run(string(step), func(t *testing.T) {
			var fail atomic.Bool
			fail.Store(true)
			l := mustOpen(t, filepath.Join(t.TempDir(), "ledger.db"), ledger.NewConfig(10).WithLongTerm(1, 5, 365*24*time.Hour).
				WithFault(func(s ledger.Step) error {
					if s == step && fail.Load() {
						return errors.New("injected")
					}
					return nil
				}))
			key := ldp.MemoKey{Campaign: "a", Value: "1"}
			if err := l.StoreMemo(ctx, key, []byte{1}); err != nil {
				t.Fatal(err)
			}
			if _, err := l.Spend(ctx, ledger.Charge{Campaign: "a", Epsilon: 1, EpochBudget: 1, Categories: []uint32{7}}); err != nil {
				t.Fatal(err)
			}
			if _, err := l.Erase(ctx); err == nil {
				t.Fatal("Erase succeeded through the fault")
			}
			committed := step == ledger.StepEraseAfterCommit
			_, memo, _ := l.LoadMemo(ctx, key)
			lt, _ := l.LongTerm(ctx)
			if memo == committed || (lt.Category(7) == 0) != committed || lt.ErasedAt.IsZero() == committed {
				t.Fatalf("after a fault at %s: memo kept %v, category 7 at %v, erased at %v", step, memo, lt.Category(7), lt.ErasedAt)
			}
			fail.Store(false)
			if _, err := l.Erase(ctx); err != nil {
				t.Fatal(err)
			}
			if _, memo, _ := l.LoadMemo(ctx, key); memo {
				t.Error("the retried Erase left the memo")
			}
		})
	}
}

// TestConcurrentSpendersShareTheCap runs spenders on two Ledger handles to
// one file (as two processes would) and checks exactly cap/charge succeed.
func TestConcurrentSpendersShareTheCap(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	handles := []*ledger.Ledger{mustOpen(t, path, ledger.NewConfig(5)), mustOpen(t, path, ledger.NewConfig(5))}
	var ok atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for range 15 {
				_, err := handles[g%2].Spend(ctx, ledger.Charge{Campaign: "c", Epsilon: 0.25, EpochBudget: 100})
				switch {
				case err == nil:
					ok.Add(1)
				case !errors.Is(err, ledger.ErrOverBudget):
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if got := ok.Load(); got != 20 {
		t.Errorf("%d spends of 0.25 accepted under a cap of 5, want 20", got)
	}
}

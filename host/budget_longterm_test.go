package host

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wisp-project/wisp/host/attack"
)

// TestHostileOperatorHitsTheCategoryCap: an operator who defines every
// campaign registers 100 threshold questions on one category (Running,
// 410), each with its own min_score so no memo is shared
// (attack.ThresholdCampaigns: one epoch each, so each id asks once), and
// gets the owner to opt in to one more each day. The real scheduler answers while the
// category's long-term budget lasts — 8 answers at ε = 1, though neither
// the 24-hour cap nor any campaign's epoch budget would stop it — and then
// refuses, and Status says why in words. Erasing everything restarts the
// long-term period; the 24-hour cap still holds.
func TestHostileOperatorHitsTheCategoryCap(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	hostile := attack.ThresholdCampaigns()
	agg := startTestAggregatorWith(t, clock, hostile)
	d := workoutsDevice(t, clock, agg)
	start := clock.Now()

	answered := 0
	for day := range hostile {
		if err := d.Grant(ctx, CampaignPurpose(hostile[day].ID)); err != nil {
			t.Fatal(err)
		}
		sum, err := d.Flush(ctx)
		if err != nil {
			t.Fatalf("day %d: %v", day, err)
		}
		want := 0
		if day < 8 {
			want = 1
		}
		if sum.Answered != want {
			t.Fatalf("day %d: answered %d, want %d", day, sum.Answered, want)
		}
		answered += sum.Answered
		clock.Advance(24 * time.Hour)
	}
	reached := 0
	for _, c := range hostile {
		reached += agg.stored(t, c.ID, c.Epoch(start))
	}
	if answered != 8 || reached != 8 {
		t.Fatalf("%d answers, %d at the aggregator; want 8 and 8", answered, reached)
	}

	s, err := d.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := s.Budget
	if b.SpentLongTerm != 8 || b.DeviceCap != 64 || b.CategoryCap != 8 || len(b.Categories) != 1 ||
		b.Categories[0].Category != 410 || b.Categories[0].Spent != 8 || b.Categories[0].Left != 0 {
		t.Fatalf("Status.Budget = %+v, want 8 of 8 spent on category 410 and nothing else", b)
	}
	refused := 0
	for _, c := range s.Campaigns {
		if c.AnsweredThisEpoch && c.OverBudget != nil {
			t.Errorf("campaign %s answered this epoch but shows a refusal: %+v", c.ID, c.OverBudget)
		}
		if c.LastAnswered.IsZero() {
			e := c.OverBudget
			if e == nil || e.Budget != BudgetCategory || e.Category != 410 || e.Left != 0 || e.Spent != 8 || !errors.Is(e, ErrOverBudget) {
				t.Fatalf("campaign %s: OverBudget = %+v, want the category cap of 410 with nothing left", c.ID, e)
			}
			refused++
		}
	}
	if refused != 92 {
		t.Errorf("%d campaigns show a refusal, want 92", refused)
	}
	var text strings.Builder
	if err := s.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	running := d.categoryName(410)
	for _, want := range []string{
		"min-100 — \"Runners?\" about " + running + ": you agreed to answer it.\n    not answered: answers about " + running +
			" have used ε 8.00 of 8.00 since 2026-03-03; this one costs 1.00 and 0.00 is left.\n",
		"  All topics: ε 8.00 of 64.00 used, 56.00 left.\n",
		"  " + running + ": ε 8.00 of 8.00 used, none left — questions about it wait until earlier answers are 365 days old, or you erase everything.\n",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("status text lacks %q:\n%s", want, text.String())
		}
	}

	// The owner erases everything: the long-term period restarts (and the
	// memos go with it), the 24-hour cap does not.
	if err := d.Forget(ctx, ""); err != nil {
		t.Fatal(err)
	}
	sum, err := d.Flush(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Answered != 4 {
		t.Errorf("after erasing, %d answered, want the 24-hour cap's 4", sum.Answered)
	}
	s, err = d.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b := s.Budget; !b.Since.Equal(clock.Now()) || !b.ErasedAt.Equal(clock.Now()) || b.SpentLongTerm != 4 || b.Categories[0].Spent != 4 {
		t.Errorf("after erasing, Status.Budget = %+v, want 4 spent since now", b)
	}
	text.Reset()
	s.WriteText(&text)
	if want := "Privacy budget, long term (since you erased everything on 2027-03-03):\n"; !strings.Contains(text.String(), want) {
		t.Errorf("status text lacks %q:\n%s", want, text.String())
	}
}

// TestStatusTextLongTermBudgets: the long-term budgets read in plain
// words — all topics, each topic most used first, how many more, spends
// from before topics were recorded — and a campaign a long-term budget
// refuses says which and what is left.
func TestStatusTextLongTermBudgets(t *testing.T) {
	since := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	s := Status{
		Campaigns: []CampaignStatus{
			{ID: "runners", Name: "Runners", Category: "Running", Consent: true, Answerable: true, Epsilon: 1,
				OverBudget: &BudgetError{Campaign: "runners", Budget: BudgetCategory, Category: 410, CategoryName: "Running",
					Spent: 7.5, Cost: 1, Limit: 8, Left: 0.5, Since: since}},
			{ID: "cyclists", Name: "Cyclists", Category: "Cycling", Consent: true, Answerable: true, Epsilon: 2,
				LastAnswered: since.Add(time.Hour), Spent: 2,
				OverBudget: &BudgetError{Campaign: "cyclists", Budget: BudgetDevice, Spent: 49, Cost: 2, Limit: 50, Left: 1, Since: since}},
		},
		Budget: BudgetStatus{DailyCap: 4, SpentToday: 1, LeftToday: 3,
			Since: since, WindowDays: 365, DeviceCap: 50, SpentLongTerm: 49, LeftLongTerm: 1, CategoryCap: 8,
			Categories: []CategoryBudget{
				{Category: 410, Name: "Running", Spent: 8, Left: 0},
				{Category: 625, Name: "Cycling", Spent: 3, Left: 5},
			},
			CategoriesMore: 12, EveryCategory: 0.5},
	}
	var b strings.Builder
	if err := s.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{
		"runners — \"Runners\" about Running: you agreed to answer it.\n" +
			"    not answered: answers about Running have used ε 7.50 of 8.00 since 2026-01-01; this one costs 1.00 and 0.50 is left.\n",
		"    last answered 2026-01-01 10:00 UTC; privacy spent on it so far ε = 2.00 (2.00 per answer).\n" +
			"    not answered again for now: all answers together have used ε 49.00 of the device's 50.00 since 2026-01-01; this one costs 2.00 and 1.00 is left.\n",
		"Privacy budget, last 24 hours: ε spent 1.00 of 4.00, 3.00 left.\n" +
			"Privacy budget, long term (the last 365 days, since 2026-01-01; erasing everything starts it again):\n" +
			"  All topics: ε 49.00 of 50.00 used, 1.00 left.\n" +
			"  Running: ε 8.00 of 8.00 used, none left — questions about it wait until earlier answers are 365 days old, or you erase everything.\n" +
			"  Cycling: ε 3.00 of 8.00 used, 5.00 left.\n" +
			"  … and 12 more topics, each with less used.\n" +
			"  ε 0.50 was spent before this device recorded topics; it counts against every topic.\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("status text lacks %q:\n%s", want, text)
		}
	}
	s.Budget.ErasedAt = since
	b.Reset()
	s.WriteText(&b)
	if want := "Privacy budget, long term (since you erased everything on 2026-01-01):\n"; !strings.Contains(b.String(), want) {
		t.Errorf("status text lacks %q:\n%s", want, b.String())
	}
}

// TestForgetCrashBeforeLedgerErase: a crash after the device store's
// erasure but inside the ledger's leaves the memos and the old long-term
// period (conservative: nothing restarted on data that might remain);
// forgetting again completes both at once.
func TestForgetCrashBeforeLedgerErase(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	agg := startTestAggregator(t, clock)
	d, _ := readyDevice(t, t.TempDir(), clock, agg)
	if sum, err := d.Flush(ctx); err != nil || sum.Answered != 2 {
		t.Fatalf("Flush = %+v, %v", sum, err)
	}
	for _, step := range []string{"ledger-erase-memos", "ledger-erase-mark", "ledger-erase-commit"} {
		d.fault = func(s string) error {
			if s == step {
				return errCrash
			}
			return nil
		}
		if err := d.Forget(ctx, ""); !errors.Is(err, errCrash) {
			t.Fatalf("Forget = %v, want the crash at %s", err, step)
		}
		s, err := d.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s.Stored["events"] != 0 || s.Stored["memo"] != 2 || !s.Budget.ErasedAt.IsZero() || s.Budget.SpentLongTerm != 2 {
			t.Fatalf("after a crash at %s: %d events, %d memos, erased at %v, %v long-term spent; want 0, 2, never, 2",
				step, s.Stored["events"], s.Stored["memo"], s.Budget.ErasedAt, s.Budget.SpentLongTerm)
		}
	}
	d.fault = nil
	if err := d.Forget(ctx, ""); err != nil {
		t.Fatal(err)
	}
	s, err := d.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Stored["memo"] != 0 || !s.Budget.ErasedAt.Equal(clock.Now()) || s.Budget.SpentLongTerm != 0 || s.Budget.SpentToday != 2 {
		t.Errorf("after Forget: %d memos, erased at %v, %v long-term, %v today; want 0, now, 0, 2",
			s.Stored["memo"], s.Budget.ErasedAt, s.Budget.SpentLongTerm, s.Budget.SpentToday)
	}
}

package host

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/wisp-project/wisp/internal/campaign"
)

// WriteText prints the status in plain words for the device's owner.
func (s Status) WriteText(w io.Writer) error {
	p := &printer{w: w}
	when := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
	p.f("Wisp on this device, %s\n\n", when(s.At))
	if !s.PausedSince.IsZero() {
		p.f("ALL SHARING IS PAUSED since %s: nothing leaves this device (no campaign fetched, answered or sent).\n\n", when(s.PausedSince))
	}

	p.f("Plugins (%d installed)\n", len(s.Plugins))
	if len(s.Plugins) == 0 {
		p.f("  none — nothing on this device looks at your data.\n")
	}
	for _, pl := range s.Plugins {
		author := "UNSIGNED (development only)"
		if pl.Signed {
			author = "signed by " + short(pl.Author)
		}
		state := "OFF — you have not allowed it; it records and scores nothing"
		if pl.Consent {
			state = "on"
		}
		p.f("  %s %s, %s: %s. %d events kept, each for %s.\n", pl.Name, pl.Version, author, state, pl.Events, days(pl.Retention))
		if !pl.Running {
			p.f("    (installed but not running: it could not be loaded or is no longer trusted)\n")
		}
	}

	p.f("\nWhat the plugins think you are interested in (stays on this device)\n")
	if len(s.Interests) == 0 {
		p.f("  nothing yet.\n")
	}
	for _, in := range s.Interests {
		p.f("  %3.0f%%  %s  (from %s)\n", 100*in.Score, in.Name, strings.Join(in.Plugins, ", "))
	}

	p.f("\nCampaigns\n")
	if len(s.Campaigns) == 0 {
		p.f("  none known yet.\n")
	}
	for _, c := range s.Campaigns {
		state := "you have not agreed to answer it"
		switch {
		case c.Consent && c.ConsentOutdated:
			state = "you agreed to answer an earlier version of it"
		case c.Consent:
			state = "you agreed to answer it"
		}
		p.f("  %s — %q about %s: %s.\n", c.ID, c.Name, c.Category, state)
		if c.Consent && c.ConsentOutdated {
			p.f("    not answered: the campaign changed what it asks since you agreed; it waits until you agree again.\n")
		}
		if !c.RefusedChange.IsZero() {
			p.f("    on %s the aggregator offered a different version of this campaign under the same version number; this device refused it and keeps the one it verified first.\n", when(c.RefusedChange))
		}
		if len(c.SharedWith) == 2 {
			p.f("    each answer is a secret-shared answer about %s, sent to %s and %s: each gets one share, which alone looks random, and only their noisy total over many devices is released. One report goes every epoch, a zero when no plugin you allowed scores this, so that sending one says nothing.\n",
				c.Category, c.SharedWith[0], c.SharedWith[1])
		}
		if c.TokenIssuer != "" {
			p.f("    each answer goes with a one-time token from %s, which learns that this device answers this campaign this epoch, not the answer; the token shows the aggregator only that some real device sent it.\n", c.TokenIssuer)
		}
		longTerm := c.OverBudget != nil && (c.OverBudget.Budget == BudgetCategory || c.OverBudget.Budget == BudgetDevice)
		switch {
		case c.Consent && c.ConsentOutdated:
			if !c.LastAnswered.IsZero() {
				p.f("    last answered %s; privacy spent on it so far ε = %.2f.\n", when(c.LastAnswered), c.Spent)
			}
		case !c.LastAnswered.IsZero():
			p.f("    last answered %s; privacy spent on it so far ε = %.2f (%.2f per answer).\n", when(c.LastAnswered), c.Spent, c.Epsilon)
			if c.Consent && !c.Answerable && len(c.SharedWith) == 0 { // a prio3 campaign is answered with a zero then
				p.f("    not answerable now: no plugin you allowed scores this interest.\n")
			} else if c.Consent && longTerm {
				p.f("    not answered again for now: %s.\n", c.OverBudget.Plain())
			}
		case c.Consent && !c.Answerable && c.Mode != campaign.ModePrio3:
			p.f("    not answered: no plugin you allowed scores this interest.\n")
		case c.Consent && longTerm:
			p.f("    not answered: %s.\n", c.OverBudget.Plain())
		case c.Consent && c.Epsilon > s.Budget.LeftToday:
			p.f("    not answered yet: an answer costs ε = %.2f and %.2f is left of your 24-hour budget; it waits until enough is.\n", c.Epsilon, s.Budget.LeftToday)
		case c.Consent:
			p.f("    not answered yet.\n")
		}
	}

	p.f("\nPrivacy budget, last 24 hours: ε spent %.2f of %.2f, %.2f left.\n", s.Budget.SpentToday, s.Budget.DailyCap, s.Budget.LeftToday)
	s.Budget.writeLongTerm(p)

	p.f("\nWaiting to be sent (%d)\n", len(s.Queued))
	for _, q := range s.Queued {
		kind := "report"
		if q.Dummy {
			kind = "dummy report (carries no answer)"
		}
		p.f("  %s for %s, %d bytes sealed, not before %s, expires %s", kind, q.Campaign, q.Size, when(q.NextAttempt), when(q.Expires))
		if q.Attempts > 0 {
			p.f(", %d attempts so far", q.Attempts)
		}
		p.f(".\n")
	}

	left := 0
	for _, r := range s.Sent {
		if r.Left {
			left++
		}
	}
	p.f("\nReports that left this device (latest %d; their content is sealed and not kept here)\n", left)
	for _, r := range s.Sent {
		if r.Left {
			p.f("  %s  %s, %d bytes: %s\n", when(r.At), r.Campaign, r.Size, r.OutcomeText())
		}
	}
	for _, r := range s.Sent {
		if !r.Left {
			p.f("  %s  %s, %d bytes: never sent (%s)\n", when(r.At), r.Campaign, r.Size, r.Cause)
		}
	}

	if len(s.Shown) > 0 {
		p.f("\nShown on this device in the last 24 hours (chosen here; nobody is told)\n")
		for _, c := range sortedKeys(s.Shown) {
			p.f("  %s: %d\n", c, s.Shown[c])
		}
	}

	p.f("\nYour consent history\n")
	if len(s.Consent) == 0 {
		p.f("  no decisions yet: everything is off.\n")
	}
	for _, c := range s.Consent {
		verb := "allowed"
		if !c.Granted {
			verb = "withdrew"
			if c.Erased {
				verb = "withdrew and erased"
			}
		}
		p.f("  %s  %s %s %s\n", when(c.At), verb, c.Purpose.Kind, c.Purpose.ID)
	}

	p.f("\nData held about you on this device: %d events, %d interest scores, %d queued reports, %d answer records, %d ad impressions, %d remembered answers.\n",
		s.Stored["events"], s.Stored["profile"], s.Stored["outbox"], s.Stored["answers"], s.Stored["impressions"], s.Stored["memo"])
	return p.err
}

// writeLongTerm prints the long-term budgets: all answers, then each
// category answers depended on.
func (b BudgetStatus) writeLongTerm(p *printer) {
	if b.DeviceCap == 0 && b.CategoryCap == 0 && b.Since.IsZero() {
		return // a Status not read from a device
	}
	since := b.Since.UTC().Format(time.DateOnly)
	if !b.ErasedAt.IsZero() && !b.ErasedAt.Before(b.Since) {
		p.f("Privacy budget, long term (since you erased everything on %s):\n", since)
	} else {
		p.f("Privacy budget, long term (the last %d days, since %s; erasing everything starts it again):\n", b.WindowDays, since)
	}
	p.f("  All topics: ε %.2f of %.2f used, %s.\n", b.SpentLongTerm, b.DeviceCap, left(b.LeftLongTerm))
	if len(b.Categories) == 0 {
		p.f("  No answer has been about any one topic yet; each topic may use ε %.2f.\n", b.CategoryCap)
	}
	for _, c := range b.Categories {
		p.f("  %s: ε %.2f of %.2f used, %s", c.Name, c.Spent, b.CategoryCap, left(c.Left))
		if c.Left <= 0 {
			p.f(" — questions about it wait until earlier answers are %d days old, or you erase everything", b.WindowDays)
		}
		p.f(".\n")
	}
	if b.CategoriesMore > 0 {
		p.f("  … and %d more topics, each with less used.\n", b.CategoriesMore)
	}
	if b.EveryCategory > 0 {
		p.f("  ε %.2f was spent before this device recorded topics; it counts against every topic.\n", b.EveryCategory)
	}
}

func left(eps float64) string {
	if eps <= 0 {
		return "none left"
	}
	return fmt.Sprintf("%.2f left", eps)
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

func short(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}

func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		n := int(d / (24 * time.Hour))
		if n == 1 {
			return "1 day"
		}
		return fmt.Sprintf("%d days", n)
	}
	return d.String()
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

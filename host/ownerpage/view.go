package ownerpage

import (
	"context"
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wisp-project/wisp/host"
)

// view is what page.html shows, every sentence already in words.
type view struct {
	CSRF        string
	Done        string
	Paused      bool
	PausedSince string
	Aggregator  string
	Interests   []interestView
	Left        []string
	Waiting     []string
	Budget      budgetView
	Campaigns   []campaignView
	Plugins     []pluginView
	Stored      []storedView
}

type interestView struct {
	Category uint32
	Name     string // the leaf: "Running and Jogging"
	Path     string // the full taxonomy path
	Strength string
	Plugins  string
}

type budgetView struct {
	Period     string // "this year", "since you erased everything on 1 Dec 2026"
	Today      meter
	Device     meter
	Categories []meter
	PerTopic   string // a topic's cap, for the sentence when there are none
}

// meter is one budget: a <meter> and the sentence that labels it.
type meter struct {
	ID         string
	Label      string
	Spent, Cap float64
}

type campaignView struct {
	ID, Name, Asks, State string
	On                    bool
}

type pluginView struct {
	Name, About, State string
	On                 bool
}

type storedView struct {
	What string
	N    int
}

// storedKinds names, for the owner, what Status.Stored counts.
var storedKinds = []struct{ table, label string }{
	{"events", "events the plugins read"},
	{"profile", "interest scores"},
	{"outbox", "reports waiting to leave"},
	{"answers", "records of campaigns answered"},
	{"impressions", "offers shown here"},
	{"memo", "remembered randomized answers"},
}

// done are the messages a finished action shows (by a fixed key, so the
// page never echoes what a link put in its address).
var done = map[string]string{
	"paused":       "All sharing is paused: nothing leaves this device until you resume.",
	"resumed":      "Sharing resumed: campaigns you allow are answered again.",
	"interest":     "The interest is deleted, with any report about it that was waiting to leave.",
	"plugin-on":    "The plugin is on.",
	"plugin-off":   "The plugin is off: it reads nothing more, and what it inferred is no longer used.",
	"campaign-on":  "You allowed the campaign.",
	"campaign-off": "The campaign is no longer answered; its waiting reports were dropped.",
}

var funcs = template.FuncMap{"units": units}

func (p *Page) view(ctx context.Context, doneKey string) (view, error) {
	st, err := p.dev.Status(ctx)
	if err != nil {
		return view{}, err
	}
	paused := !st.PausedSince.IsZero()
	sent, err := p.dev.SentLog(ctx, 50)
	if err != nil {
		return view{}, err
	}
	v := view{CSRF: p.csrf, Done: done[doneKey], Paused: paused, PausedSince: day(st.PausedSince), Aggregator: aggregatorName(p.dev.AggregatorURL())}
	for _, in := range st.Interests {
		v.Interests = append(v.Interests, interestView{Category: in.Category, Name: leaf(in.Name), Path: in.Name,
			Strength: strength(in.Score), Plugins: strings.Join(in.Plugins, ", ")})
	}
	byID := map[string]host.CampaignStatus{}
	for _, c := range st.Campaigns {
		byID[c.ID] = c
	}
	for _, r := range sent {
		v.Left = append(v.Left, sentence(r, byID, v.Aggregator))
	}
	for _, q := range st.Queued {
		what := answerWords(byID, q.Campaign, q.Dummy)
		v.Waiting = append(v.Waiting, fmt.Sprintf("%s, for %s, may leave after %s.", capital(what), v.Aggregator, when(q.NextAttempt)))
	}
	v.Budget = budget(st.Budget)
	for _, c := range st.Campaigns {
		v.Campaigns = append(v.Campaigns, campaignView{ID: c.ID, Name: c.Name, Asks: asks(c), State: campaignState(c, paused), On: c.Consent && !c.ConsentOutdated})
	}
	for _, pl := range st.Plugins {
		about := fmt.Sprintf("version %s, unsigned (for development only)", pl.Version)
		if pl.Signed {
			about = fmt.Sprintf("version %s, signed by %s", pl.Version, short(pl.Author))
		}
		state := "Off: it reads and infers nothing."
		if pl.Consent {
			state = fmt.Sprintf("On: %d events kept, each for %s.", pl.Events, days(pl.Retention))
		}
		if !pl.Running {
			state += " It is installed but not running (it could not be loaded, or is no longer trusted)."
		}
		v.Plugins = append(v.Plugins, pluginView{Name: pl.Name, About: about, State: state, On: pl.Consent})
	}
	for _, k := range storedKinds {
		v.Stored = append(v.Stored, storedView{What: k.label, N: st.Stored[k.table]})
	}
	return v, nil
}

// sentence says what one report was, where it went and when — never what
// it said (the device cannot read it back).
func sentence(r host.SentReport, byID map[string]host.CampaignStatus, aggregator string) string {
	what := capital(answerWords(byID, r.Campaign, r.Dummy))
	if !r.Left {
		return fmt.Sprintf("%s was never sent: %s (%s).", what, dropWords[r.Cause], day(r.At))
	}
	s := fmt.Sprintf("%s, sent to %s on %s", what, aggregator, when(r.At))
	switch r.Outcome {
	case host.OutcomeRejected:
		s += fmt.Sprintf("; the aggregator refused it (%s)", r.Reason)
	case host.OutcomeDuplicate:
		s += " (sent again after an interruption; the aggregator kept one copy)"
	}
	return s + "."
}

var dropWords = map[host.DropCause]string{
	host.DropConsentRevoked: "you withdrew your consent",
	host.DropPluginErased:   "you erased the plugin's data",
	host.DropExpired:        "it expired before the aggregator could be reached",
	host.DropForgotten:      "you asked the device to forget",
	host.DropCorrupt:        "it was damaged on disk",
}

// answerWords names the kind of answer a campaign's report carries.
func answerWords(byID map[string]host.CampaignStatus, campaign string, dummy bool) string {
	if dummy {
		return "a dummy report that carries no answer (it hides how many real ones leave)"
	}
	c, ok := byID[campaign]
	if !ok {
		return fmt.Sprintf("a randomized answer for the campaign %q", campaign)
	}
	kind := "randomized"
	if len(c.SharedWith) == 2 { // prio3: the true answer, split in two shares
		kind = "secret-shared"
	}
	switch c.Question {
	case "mean":
		return "a " + kind + " number about " + leaf(c.Category)
	case "top_k":
		return "a " + kind + " pick of " + c.Category
	}
	return "a " + kind + " yes/no about " + leaf(c.Category)
}

// asks says what a campaign asks, in words; a prio3 campaign's answer is
// true but split between two aggregators, neither of which can read it.
func asks(c host.CampaignStatus) string {
	how := map[string]string{"mean": "a randomized number", "top_k": "a randomized pick", "": "a randomized yes/no"}
	if len(c.SharedWith) == 2 {
		how = map[string]string{"mean": "a number", "top_k": "a pick", "": "a yes/no"}
		for k, v := range how {
			how[k] = v + ", split between " + c.SharedWith[0] + " and " + c.SharedWith[1] + " so that neither can read it"
		}
	}
	var q string
	switch c.Question {
	case "mean":
		q = fmt.Sprintf("How strong your interest in %s is (%s).", leaf(c.Category), how["mean"])
	case "top_k":
		q = fmt.Sprintf("Which are %s (%s).", c.Category, how["top_k"])
	default:
		q = fmt.Sprintf("Whether %s is one of your interests (%s).", leaf(c.Category), how[""])
	}
	if c.TokenIssuer != "" { // report tokens: a third party learns that the device takes part
		q += fmt.Sprintf(" Each answer goes with a one-time token from %s, which learns that this device answers it each epoch, never the answer.", c.TokenIssuer)
	}
	return q
}

func campaignState(c host.CampaignStatus, paused bool) string {
	cost := fmt.Sprintf(" Each answer uses %s.", unitWords(c.Epsilon))
	switch {
	case !c.Consent:
		return "Not answered: you have not allowed it." + cost
	case c.ConsentOutdated:
		return "Not answered: it changed what it asks since you allowed it. Allow it again to answer the new question."
	case !c.Answerable:
		return "Not answerable: no plugin you allow infers this interest."
	case paused:
		return "Not answered while sharing is paused."
	case c.OverBudget != nil:
		return "Not answered for now: " + c.OverBudget.Plain() + "."
	case !c.LastAnswered.IsZero():
		return fmt.Sprintf("Answered, last on %s; %s used on it so far.", day(c.LastAnswered), unitWords(c.Spent)) + cost
	}
	return "Allowed; not answered yet." + cost
}

func budget(b host.BudgetStatus) budgetView {
	period := "this year"
	switch {
	case !b.ErasedAt.IsZero() && !b.ErasedAt.Before(b.Since):
		period = "since you erased everything on " + day(b.ErasedAt)
	case b.WindowDays != 365:
		period = fmt.Sprintf("in the last %d days", b.WindowDays)
	}
	v := budgetView{Period: period, PerTopic: units(b.CategoryCap),
		Today:  meter{ID: "budget-today", Label: fmt.Sprintf("Last 24 hours: %s of %s privacy units used", units(b.SpentToday), units(b.DailyCap)), Spent: b.SpentToday, Cap: b.DailyCap},
		Device: meter{ID: "budget-device", Label: fmt.Sprintf("All topics together: %s of %s privacy units used %s", units(b.SpentLongTerm), units(b.DeviceCap), period), Spent: b.SpentLongTerm, Cap: b.DeviceCap},
	}
	for _, c := range b.Categories {
		v.Categories = append(v.Categories, meter{ID: "budget-" + strconv.FormatUint(uint64(c.Category), 10),
			Label: fmt.Sprintf("%s: %s of %s privacy units used %s", leaf(c.Name), units(c.Spent), units(b.CategoryCap), period),
			Spent: c.Spent, Cap: b.CategoryCap})
	}
	return v
}

// units prints a privacy amount as people write numbers: 3, 0.5, 1.25.
func units(eps float64) string {
	return strconv.FormatFloat(float64(int64(eps*100+0.5))/100, 'f', -1, 64)
}

// unitWords is an amount of privacy units in words: "1 privacy unit",
// "2.5 privacy units".
func unitWords(eps float64) string {
	if u := units(eps); u != "1" {
		return u + " privacy units"
	}
	return "1 privacy unit"
}

func strength(score float64) string {
	switch {
	case score >= 0.66:
		return fmt.Sprintf("strong (%.0f%%)", 100*score)
	case score >= 0.33:
		return fmt.Sprintf("moderate (%.0f%%)", 100*score)
	}
	return fmt.Sprintf("weak (%.0f%%)", 100*score)
}

// leaf is the last part of a taxonomy path, the name people use.
func leaf(name string) string {
	if i := strings.LastIndex(name, " | "); i >= 0 {
		return name[i+3:]
	}
	return name
}

func aggregatorName(raw string) string {
	if raw == "" {
		return "no aggregator"
	}
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return raw
}

func day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2 Jan 2006")
}

func when(t time.Time) string { return t.UTC().Format("2 Jan 2006 at 15:04 UTC") }

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func short(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}

func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		if n := int(d / (24 * time.Hour)); n != 1 {
			return fmt.Sprintf("%d days", n)
		}
		return "1 day"
	}
	return d.String()
}

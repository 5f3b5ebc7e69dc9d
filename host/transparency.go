package host

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/wisp-project/wisp/internal/campaign"
)

// Status is the owner's view of the device, in one value: what runs, what
// it inferred, what was answered and spent, what waits to leave and what
// left. It is built for people — Status.WriteText prints it in plain words,
// and it encodes to JSON as is.
type Status struct {
	At        time.Time        `json:"at"`
	Plugins   []PluginStatus   `json:"plugins"`
	Interests []Interest       `json:"top_interests"`
	Campaigns []CampaignStatus `json:"campaigns"`
	Budget    BudgetStatus     `json:"budget"`
	Queued    []QueuedReport   `json:"queued"`
	Sent      []SentReport     `json:"sent"`
	Consent   []ConsentChange  `json:"consent_history"`
	Stored    map[string]int   `json:"stored_rows"`
	// Shown counts, per campaign, the creatives shown in the last 24
	// hours (on-device targeting; never reported anywhere).
	Shown   map[string]int `json:"shown_24h"`
	Answers []AnswerRecord `json:"answers"`
	// PausedSince is when the owner paused all sharing (PauseSharing);
	// zero while sharing runs.
	PausedSince time.Time `json:"sharing_paused_since,omitzero"`
}

// PluginStatus is an installed plugin and the owner's decision about it.
type PluginStatus struct {
	PluginInfo
	Consent bool `json:"consent"`
	Events  int  `json:"events_stored"`
}

// CampaignStatus is a campaign the device knows, the owner's decision, and
// what answering it has cost.
type CampaignStatus struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Category names what the campaign asks about, in words: one
	// category, or for a top_k question how many of which categories.
	Category string  `json:"category"`
	Consent  bool    `json:"consent"`
	Epsilon  float64 `json:"epsilon_per_answer"`
	// Spent is the ε spent on this campaign over all epochs.
	Spent float64 `json:"epsilon_spent"`
	// AnsweredThisEpoch: the device already answered the current epoch.
	AnsweredThisEpoch bool      `json:"answered_this_epoch"`
	LastAnswered      time.Time `json:"last_answered,omitzero"`
	// Answerable: some consented plugin scores the campaign's category.
	Answerable bool `json:"answerable"`
	// Version is the version of the campaign's config the device holds.
	Version uint32 `json:"version,omitempty"`
	// QuestionDigest identifies what the campaign asks (hex SHA-256 over
	// its question, categories, ε, epoch length and mechanism); the
	// owner's consent is bound to it.
	QuestionDigest string `json:"question_digest"`
	// ConsentOutdated: the owner agreed to the campaign when it asked
	// something else (another QuestionDigest). It is not answered until
	// the owner agrees again (Grant).
	ConsentOutdated bool `json:"consent_outdated,omitempty"`
	// RefusedChange is when the device last refused a different config
	// served under this id without a higher version; it keeps the one it
	// verified first.
	RefusedChange time.Time `json:"refused_change_at,omitzero"`
	// OverBudget is why the campaign's next answer would be refused by a
	// privacy budget now (nil: it fits, or was answered this epoch).
	OverBudget *BudgetError `json:"over_budget,omitempty"`
	// Mode is "prio3" for a campaign answered with a secret-shared true
	// answer, empty for a randomized (LDP) one.
	Mode string `json:"mode,omitempty"`
	// SharedWith names, for a prio3 campaign, the two aggregators that
	// each receive one share: the leader and the helper.
	SharedWith []string `json:"shared_with,omitempty"`
	// TokenIssuer names, for a campaign with report tokens, the issuer the
	// device asks for one token per epoch: it learns that this device
	// answers the campaign that epoch, never the answer.
	TokenIssuer string `json:"report_token_issuer,omitempty"`
	// Question is the kind of question: threshold (a yes/no), mean (a
	// number) or top_k (a pick among categories).
	Question campaign.QuestionType `json:"question_type"`
}

// AnswerRecord is one answer the device gave: which campaign, which
// epoch, when, at what ε. (The answer itself is randomized and sealed; the
// device does not keep it.)
type AnswerRecord struct {
	Campaign string    `json:"campaign"`
	Epoch    uint32    `json:"epoch"`
	Epsilon  float64   `json:"epsilon"`
	At       time.Time `json:"at"`
}

// BudgetStatus is the device's privacy budgets: over the last 24 hours,
// and over the long-term window (WithLifetimeBudget) for all answers and
// per category.
type BudgetStatus struct {
	DailyCap   float64 `json:"daily_epsilon_cap"`
	SpentToday float64 `json:"epsilon_spent_24h"`
	LeftToday  float64 `json:"epsilon_left_24h"`

	// Since is when the long-term period began: the window's start, or the
	// last time the owner erased everything if that is later.
	Since time.Time `json:"long_term_since"`
	// Window is the long-term window in days.
	WindowDays int `json:"long_term_window_days"`
	// ErasedAt is the last time the owner erased everything; zero if never.
	ErasedAt      time.Time `json:"erased_at,omitzero"`
	DeviceCap     float64   `json:"long_term_epsilon_cap"`
	SpentLongTerm float64   `json:"long_term_epsilon_spent"`
	LeftLongTerm  float64   `json:"long_term_epsilon_left"`
	CategoryCap   float64   `json:"category_epsilon_cap"`
	// Categories are the categories answers have depended on in the
	// period, most spent first (at most statusEntries; CategoriesMore
	// counts the rest).
	Categories     []CategoryBudget `json:"categories"`
	CategoriesMore int              `json:"categories_more,omitempty"`
	// EveryCategory is ε spent before the ledger recorded categories: it
	// counts against every category's cap (and is included in each of
	// Categories).
	EveryCategory float64 `json:"every_category,omitempty"`
}

// CategoryBudget is what answers about one category have spent of its
// long-term cap.
type CategoryBudget struct {
	Category uint32  `json:"category"`
	Name     string  `json:"name"`
	Spent    float64 `json:"epsilon_spent"`
	Left     float64 `json:"epsilon_left"`
}

// statusEntries bounds the interests and log entries Status returns.
const statusEntries = 20

// Status returns the owner's view of the device.
func (d *Device) Status(ctx context.Context) (Status, error) {
	if !d.gate.enter() {
		return Status{}, ErrDeviceClosed
	}
	defer d.gate.leave()
	now := d.now()
	s := Status{At: now}
	var err error
	consents, err := d.store.Consents(ctx)
	if err != nil {
		return Status{}, err
	}
	plugins, err := d.Plugins(ctx)
	if err != nil {
		return Status{}, err
	}
	for _, p := range plugins {
		counts, err := d.store.Counts(ctx, p.Name)
		if err != nil {
			return Status{}, err
		}
		s.Plugins = append(s.Plugins, PluginStatus{PluginInfo: p, Consent: consents[PluginPurpose(p.Name).String()], Events: counts["events"]})
	}
	if s.Interests, err = d.Interests(ctx, statusEntries); err != nil {
		return Status{}, err
	}
	if s.Campaigns, s.Answers, err = d.campaignStatus(ctx, now, consents); err != nil {
		return Status{}, err
	}
	if s.Budget, err = d.budgetStatus(ctx); err != nil {
		return Status{}, err
	}
	if s.Queued, err = d.Outbox(ctx); err != nil {
		return Status{}, err
	}
	if s.Sent, err = d.SentLog(ctx, statusEntries); err != nil {
		return Status{}, err
	}
	if s.Consent, err = d.ConsentHistory(ctx); err != nil {
		return Status{}, err
	}
	if s.Stored, err = d.store.Counts(ctx, ""); err != nil {
		return Status{}, err
	}
	if s.Stored["memo"], err = d.ledger.MemoCount(ctx); err != nil {
		return Status{}, err
	}
	if s.Shown, err = d.store.Impressions(ctx, now.Add(-24*time.Hour)); err != nil {
		return Status{}, err
	}
	if _, s.PausedSince, err = d.sharingPaused(ctx); err != nil {
		return Status{}, err
	}
	return s, nil
}

func (d *Device) campaignStatus(ctx context.Context, now time.Time, consents map[string]bool) ([]CampaignStatus, []AnswerRecord, error) {
	list, err := d.campaigns(ctx)
	if err != nil {
		return nil, nil, err
	}
	spent, err := d.spentPerCampaign(ctx)
	if err != nil {
		return nil, nil, err
	}
	answers, err := d.store.Answers(ctx)
	if err != nil {
		return nil, nil, err
	}
	covered, err := d.coveredCategories(ctx, consents)
	if err != nil {
		return nil, nil, err
	}
	agreed, err := d.store.CampaignConsents(ctx)
	if err != nil {
		return nil, nil, err
	}
	scores, err := d.localScores(ctx, now)
	if err != nil {
		return nil, nil, err
	}
	last := map[string]time.Time{}
	var log []AnswerRecord
	for _, a := range answers {
		if a.At.After(last[a.Campaign]) {
			last[a.Campaign] = a.At
		}
		log = append(log, AnswerRecord{Campaign: a.Campaign, Epoch: a.Epoch, Epsilon: a.Epsilon, At: a.At})
	}
	if len(log) > statusEntries {
		log = log[:statusEntries]
	}
	out := make([]CampaignStatus, 0, len(list))
	for i := range list {
		c := &list[i]
		this, err := d.answeredEpoch(ctx, c.ID, c.Epoch(now), c.Epsilon)
		if err != nil {
			return nil, nil, err
		}
		consent := consents[CampaignPurpose(c.ID).String()]
		var refused *BudgetError
		if !this {
			memo, err := d.pendingMemo(ctx, &c.Campaign, scores)
			if err != nil {
				return nil, nil, err
			}
			if err := d.checkBudget(ctx, &c.Campaign, c.Epoch(now), memo); !errors.As(err, &refused) && err != nil {
				return nil, nil, err
			}
		}
		out = append(out, CampaignStatus{
			ID: c.ID, Name: c.Name, Category: d.questionTopic(c.Question),
			Consent: consent, Epsilon: c.Epsilon, Spent: spent[c.ID],
			AnsweredThisEpoch: this, LastAnswered: last[c.ID], Answerable: coversQuestion(covered, c.Question),
			Version: c.Version, QuestionDigest: hex.EncodeToString(c.digest),
			ConsentOutdated: consent && !agreedTo(agreed, c), RefusedChange: c.refusedAt,
			OverBudget: refused, Mode: c.Mode, SharedWith: d.sharedWith(&c.Campaign), TokenIssuer: issuerHost(&c.Campaign), Question: c.Question.Type,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, log, nil
}

// budgetStatus reads the ledger's budgets for the owner.
func (d *Device) budgetStatus(ctx context.Context) (BudgetStatus, error) {
	w, err := d.ledger.Window(ctx)
	if err != nil {
		return BudgetStatus{}, err
	}
	lt, err := d.ledger.LongTerm(ctx)
	if err != nil {
		return BudgetStatus{}, err
	}
	b := BudgetStatus{
		DailyCap: w.Cap, SpentToday: w.Total, LeftToday: max(0, w.Cap-w.Total),
		Since: lt.Since, WindowDays: int(lt.Window / (24 * time.Hour)), ErasedAt: lt.ErasedAt,
		DeviceCap: lt.DeviceCap, SpentLongTerm: lt.Total, LeftLongTerm: max(0, lt.DeviceCap-lt.Total),
		CategoryCap: lt.CategoryCap, EveryCategory: lt.Unattributed,
	}
	for id := range lt.PerCategory {
		spent := lt.Category(id)
		b.Categories = append(b.Categories, CategoryBudget{Category: id, Name: d.categoryName(id), Spent: spent, Left: max(0, lt.CategoryCap-spent)})
	}
	sort.Slice(b.Categories, func(i, j int) bool {
		if b.Categories[i].Spent != b.Categories[j].Spent {
			return b.Categories[i].Spent > b.Categories[j].Spent
		}
		return b.Categories[i].Category < b.Categories[j].Category
	})
	if len(b.Categories) > statusEntries {
		b.CategoriesMore = len(b.Categories) - statusEntries
		b.Categories = b.Categories[:statusEntries]
	}
	return b, nil
}

// questionTopic says in words what q asks about, for the owner.
func (d *Device) questionTopic(q campaign.Question) string {
	if q.Type != campaign.QuestionTopK {
		return d.categoryName(q.Category)
	}
	names := make([]string, 0, 3)
	for _, id := range q.Categories[:min(3, len(q.Categories))] {
		name := d.categoryName(id)
		if c, ok := d.tax.Lookup(id); ok && len(c.Path) > 0 {
			name = c.Path[len(c.Path)-1] // the leaf reads well in a list
		}
		names = append(names, name)
	}
	more := ""
	if len(q.Categories) > len(names) {
		more = fmt.Sprintf(" and %d more", len(q.Categories)-len(names))
	}
	return fmt.Sprintf("your top %d among %s%s", q.K, strings.Join(names, ", "), more)
}

package host

import (
	"context"
	"testing"
	"time"

	"github.com/wisp-project/wisp/internal/campaign"
)

// TestGreedyCampaignCannotStarveOthers: an hourly campaign whose id sorts
// first and two daily ones share a 24-hour budget that pays for two
// answers. Answered in id order, the hourly one and the first daily one
// would take both answers whenever the budget frees up and the second
// daily campaign would never be answered. In fair order every campaign
// gets its turn.
func TestGreedyCampaignCannotStarveOthers(t *testing.T) {
	campaigns := []campaign.Campaign{
		{ID: "000-greedy", Name: "Hourly", Question: campaign.Question{Type: campaign.QuestionThreshold, Category: 410, MinScore: 0.5},
			Epsilon: 1, EpochSeconds: 3600, K: 1},
		{ID: "daily-a", Name: "Cyclists today", Question: campaign.Question{Type: campaign.QuestionThreshold, Category: 625, MinScore: 0.5},
			Epsilon: 1, EpochSeconds: 86400, K: 1},
		{ID: "daily-b", Name: "Runners today", Question: campaign.Question{Type: campaign.QuestionThreshold, Category: 410, MinScore: 0.3},
			Epsilon: 1, EpochSeconds: 86400, K: 1},
	}
	const days = 6
	n := answersOverDays(t, campaigns, days, true)
	total := n["000-greedy"] + n["daily-a"] + n["daily-b"]
	t.Logf("answers over %d days: %v", days, n)
	// Two answers per 24 hours: about 12, four each.
	if total < 2*days || total > 2*days+2 {
		t.Errorf("%d answers in %d days with a budget of two a day", total, days)
	}
	for id, c := range n {
		if c < days/2 || c > days/2+2 {
			t.Errorf("%s answered %d times in %d days, want its turn: %d–%d (all: %v)", id, c, days, days/2, days/2+2, n)
		}
	}
	if len(n) != 3 {
		t.Errorf("campaigns answered: %v, want all three", n)
	}
}

// TestLargeCampaignKeepsItsTurn: a daily campaign that costs the whole
// 24-hour budget and an hourly one that costs half of it. If the hourly
// one could spend whenever the large one does not fit, it would always
// take the ε freed as its own old spends leave the window, and the large
// one would never fit; the campaign first in line keeps its turn instead.
func TestLargeCampaignKeepsItsTurn(t *testing.T) {
	campaigns := []campaign.Campaign{
		{ID: "000-greedy", Name: "Hourly", Question: campaign.Question{Type: campaign.QuestionThreshold, Category: 410, MinScore: 0.5},
			Epsilon: 1, EpochSeconds: 3600, K: 1},
		{ID: "large", Name: "Cyclists today", Question: campaign.Question{Type: campaign.QuestionThreshold, Category: 625, MinScore: 0.5},
			Epsilon: 2, EpochSeconds: 86400, K: 1},
	}
	const days = 6
	n := answersOverDays(t, campaigns, days, false)
	t.Logf("answers over %d days: %v", days, n)
	if n["large"] < days/2-1 || n["000-greedy"] < days/2-1 {
		t.Errorf("answers over %d days: %v; want each campaign answered at least %d times", days, n, days/2-1)
	}
}

// answersOverDays runs a device consenting to the workouts plugin and every
// campaign, with a 24-hour budget of ε 2, one pass an hour for days, and
// counts its answers per campaign. withEvents records the owner's runs
// first.
func answersOverDays(t *testing.T, campaigns []campaign.Campaign, days int, withEvents bool) map[string]int {
	t.Helper()
	ctx := context.Background()
	clock := newFakeClock()
	agg := startTestAggregatorWith(t, clock, campaigns)
	a := newAuthor(t)
	d := testDevice(t, t.TempDir(), clock, a, agg, func(c DeviceConfig) DeviceConfig { return c.WithDailyBudget(2) })
	if _, err := d.Install(ctx, a.signedManifest, workoutsWasm); err != nil {
		t.Fatal(err)
	}
	purposes := []Purpose{PluginPurpose("workouts")}
	for _, c := range campaigns {
		purposes = append(purposes, CampaignPurpose(c.ID))
	}
	for _, p := range purposes {
		if err := d.Grant(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if withEvents {
		recordRuns(t, d, clock.Now(), 5, 40)
	}
	for range days * 24 { // a pass an hour
		if _, err := d.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Hour)
	}
	answers, err := d.store.Answers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, r := range answers {
		n[r.Campaign]++
	}
	return n
}

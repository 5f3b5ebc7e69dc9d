package host

import (
	"context"
	"testing"
	"time"

	"github.com/wisp-project/wisp/internal/campaign"
)

// TestEachReportLeavesAlone: four campaigns answered in one pass, each
// with a dummy, are eight reports. With a send delay of an hour and a
// pass every 10 minutes several of them come due in the same pass; each
// still leaves in a request of its own, at a time of its own: the
// aggregator sees eight requests of one report each, at eight different
// times.
func TestEachReportLeavesAlone(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	campaigns := append([]campaign.Campaign(nil), testCampaigns...)
	campaigns = append(campaigns,
		campaign.Campaign{ID: "keen-runners", Name: "Keen runners", Question: campaign.Question{Type: campaign.QuestionThreshold, Category: 410, MinScore: 0.8},
			Epsilon: 0.5, EpochSeconds: 7 * 86400, K: 1},
		campaign.Campaign{ID: "keen-cyclists", Name: "Keen cyclists", Question: campaign.Question{Type: campaign.QuestionThreshold, Category: 625, MinScore: 0.8},
			Epsilon: 0.5, EpochSeconds: 7 * 86400, K: 1})
	agg := startTestAggregatorWith(t, clock, campaigns)
	a := newAuthor(t)
	d := testDevice(t, t.TempDir(), clock, a, agg, func(c DeviceConfig) DeviceConfig {
		return c.WithSendDelay(time.Hour).WithDummyReports(1)
	})
	if _, err := d.Install(ctx, a.signedManifest, workoutsWasm); err != nil {
		t.Fatal(err)
	}
	if err := d.Grant(ctx, PluginPurpose("workouts")); err != nil {
		t.Fatal(err)
	}
	for _, c := range campaigns {
		if err := d.Grant(ctx, CampaignPurpose(c.ID)); err != nil {
			t.Fatal(err)
		}
	}
	recordRuns(t, d, clock.Now(), 5, 40)

	start := clock.Now()
	sum, err := d.RunOnce(ctx)
	if err != nil || sum.Answered != 4 || sum.Dummies != 4 {
		t.Fatalf("first pass: %+v, %v; want 4 answers and 4 dummies queued", sum, err)
	}
	for range 6 * 6 { // six hours, a pass every 10 minutes
		clock.Advance(10 * time.Minute)
		if _, err := d.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	posts := agg.uploadsSeen()
	seen := map[time.Time]bool{}
	for _, p := range posts {
		if p.reports != 1 {
			t.Errorf("an upload at %v carried %d reports, want 1", p.at, p.reports)
		}
		if seen[p.at] {
			t.Errorf("two uploads at %v", p.at)
		}
		seen[p.at] = true
		if p.at.Before(start) {
			t.Errorf("an upload at %v, %v after answering", p.at, p.at.Sub(start))
		}
	}
	if len(posts) != 8 {
		t.Errorf("%d uploads, want 8 (one per report): %+v", len(posts), posts)
	}
	if q, _ := d.Outbox(ctx); len(q) != 0 {
		t.Errorf("%d reports still queued", len(q))
	}
	log, err := d.SentLog(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[Outcome]int{}
	for _, s := range log {
		outcomes[s.Outcome]++
	}
	if outcomes[OutcomeAccepted] != 4 || outcomes[OutcomeDummy] != 4 {
		t.Errorf("sent log outcomes %v, want 4 accepted and 4 dummies", outcomes)
	}
	t.Logf("upload times after answering: %v", func() (out []time.Duration) {
		for _, p := range posts {
			out = append(out, p.at.Sub(start))
		}
		return out
	}())
}

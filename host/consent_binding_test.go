package host

import (
	"context"
	"strings"
	"testing"
	"time"
)

// campaignStatusOf returns the owner's view of campaign id (ok false when
// Status does not list it).
func campaignStatusOf(t *testing.T, d *Device, id string) (CampaignStatus, Status, bool) {
	t.Helper()
	st, err := d.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range st.Campaigns {
		if c.ID == id {
			return c, st, true
		}
	}
	return CampaignStatus{}, st, false
}

// TestChangedQuestionNeedsConsentAgain: the aggregator publishes version 1
// of both campaigns the owner agreed to. runners now asks for a higher
// score: it is not answered, and Status says why, until the owner agrees
// again. cyclists is only renamed: the owner's consent still covers it.
func TestChangedQuestionNeedsConsentAgain(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	agg := startTestAggregator(t, clock)
	d, _ := readyDevice(t, t.TempDir(), clock, agg)
	if sum, err := d.RunOnce(ctx); err != nil || sum.Answered != 2 {
		t.Fatalf("first pass: %+v, %v; want both campaigns answered", sum, err)
	}
	before, _, _ := campaignStatusOf(t, d, "runners")

	runners, cyclists := testCampaigns[0], testCampaigns[1]
	runners.Version, runners.Question.MinScore = 1, 0.8
	cyclists.Version, cyclists.Name = 1, "Cyclists and bikers"
	agg.serve(t, runners, cyclists)
	clock.Advance(7 * 24 * time.Hour) // the next epoch
	if err := d.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	sum, err := d.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	epoch := runners.Epoch(clock.Now())
	if done, _ := d.answeredEpoch(ctx, "runners", epoch, 1); done || sum.Answered != 1 {
		t.Errorf("runners answered after its question changed (%+v)", sum)
	}
	if done, _ := d.answeredEpoch(ctx, "cyclists", epoch, 1); !done {
		t.Error("cyclists (renamed, same question) not answered")
	}
	st, full, _ := campaignStatusOf(t, d, "runners")
	if !st.Consent || !st.ConsentOutdated || st.Version != 1 || st.QuestionDigest == before.QuestionDigest || st.QuestionDigest == "" {
		t.Errorf("runners status %+v; want consent outdated at version 1 with a new digest (was %s)", st, before.QuestionDigest)
	}
	if cs, _, _ := campaignStatusOf(t, d, "cyclists"); cs.ConsentOutdated || cs.Name != "Cyclists and bikers" || cs.Version != 1 {
		t.Errorf("cyclists status %+v; want version 1, renamed, consent current", cs)
	}
	var text strings.Builder
	if err := full.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "the campaign changed what it asks since you agreed") {
		t.Errorf("status text does not say why runners is not answered:\n%s", text.String())
	}

	// The owner agrees to the new question: answered in this epoch.
	if err := d.Grant(ctx, CampaignPurpose("runners")); err != nil {
		t.Fatal(err)
	}
	if sum, err := d.RunOnce(ctx); err != nil || sum.Answered != 1 {
		t.Fatalf("after agreeing again: %+v, %v; want runners answered", sum, err)
	}
	if st, _, _ := campaignStatusOf(t, d, "runners"); st.ConsentOutdated || !st.AnsweredThisEpoch {
		t.Errorf("runners status after agreeing again: %+v", st)
	}
}

// TestSwappedQuestionRefused: an aggregator that holds the signing key
// serves another question under the id and version the device pinned. The
// device refuses it, keeps the config it verified first, says so in
// Status and goes on answering the question the owner agreed to — also
// after the aggregator stopped serving the id for a while, and when it
// serves an older version.
func TestSwappedQuestionRefused(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	agg := startTestAggregator(t, clock)
	d, _ := readyDevice(t, t.TempDir(), clock, agg)
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	first, _, _ := campaignStatusOf(t, d, "runners")
	kept := func(when string) {
		t.Helper()
		st, _, ok := campaignStatusOf(t, d, "runners")
		if !ok || st.QuestionDigest != first.QuestionDigest || st.Category != first.Category || st.RefusedChange.IsZero() || st.ConsentOutdated {
			t.Errorf("%s: runners status %+v; want the first config (%s, %s), a refusal, consent current", when, st, first.Category, first.QuestionDigest)
		}
		list, err := d.campaigns(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range list {
			if c.ID == "runners" && (c.Question.Category != 410 || c.Question.MinScore != 0.5) {
				t.Errorf("%s: pinned runners asks %+v", when, c.Question)
			}
		}
	}

	swapped := testCampaigns[0]
	swapped.Question.Category = 625 // cycling, under the runners id
	agg.serve(t, swapped, testCampaigns[1])
	clock.Advance(7 * 24 * time.Hour)
	if err := d.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	kept("same version")
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if done, _ := d.answeredEpoch(ctx, "runners", swapped.Epoch(clock.Now()), 1); !done {
		t.Error("runners not answered with the question the owner agreed to")
	}
	_, full, _ := campaignStatusOf(t, d, "runners")
	var text strings.Builder
	full.WriteText(&text)
	if !strings.Contains(text.String(), "this device refused it and keeps the one it verified first") {
		t.Errorf("status text does not tell of the refused config:\n%s", text.String())
	}

	// The aggregator stops serving runners: not shown, but still pinned.
	agg.serve(t, testCampaigns[1])
	if err := d.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := campaignStatusOf(t, d, "runners"); ok {
		t.Error("runners shown while the aggregator does not serve it")
	}
	agg.serve(t, swapped, testCampaigns[1])
	if err := d.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	kept("after a gap")

	// Version 2 (the same question, renamed) replaces the pin; version 1
	// with the swapped question is then a rollback, refused.
	v2 := testCampaigns[0]
	v2.Version, v2.Name = 2, "Runners v2"
	agg.serve(t, v2, testCampaigns[1])
	if err := d.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	swapped.Version = 1
	agg.serve(t, swapped, testCampaigns[1])
	if err := d.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	kept("older version")
	if st, _, _ := campaignStatusOf(t, d, "runners"); st.Version != 2 || st.Name != "Runners v2" {
		t.Errorf("runners status %+v; want version 2 kept", st)
	}
}

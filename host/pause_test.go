package host

import (
	"context"
	"testing"
	"time"
)

// TestPauseSharingStopsEgress pauses a device before it ever ran: a real
// aggregator then receives no upload and the device fetches no campaign
// (it knows none) and spends nothing, across a restart; after the owner
// resumes, the next pass answers and sends as usual.
func TestPauseSharingStopsEgress(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	agg := startTestAggregator(t, clock)
	dir := t.TempDir()
	d, a := readyDevice(t, dir, clock, agg)
	if err := d.PauseSharing(ctx); err != nil {
		t.Fatal(err)
	}
	for _, pass := range []func(context.Context) (RunSummary, error){d.RunOnce, d.Flush} {
		sum, err := pass(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Answered != 0 || sum.Sent != 0 || sum.PluginsScored > 1 {
			t.Errorf("paused pass: %+v, want nothing answered or sent", sum)
		}
	}
	if err := d.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := d.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := agg.uploads.Load(); n != 0 {
		t.Errorf("the aggregator received %d uploads while sharing was paused", n)
	}
	if !st.PausedSince.Equal(clock.Now()) {
		t.Errorf("Status shows the pause since %v, want %v", st.PausedSince, clock.Now())
	}
	if len(st.Campaigns) != 0 || st.Budget.SpentToday != 0 || len(st.Interests) == 0 {
		t.Errorf("paused: %d campaigns fetched, ε %.2f spent, %d interests; want none fetched, none spent, scoring going on",
			len(st.Campaigns), st.Budget.SpentToday, len(st.Interests))
	}

	d.Close(ctx)
	d = testDevice(t, dir, clock, a, agg)
	paused, since, err := d.SharingPaused(ctx)
	if err != nil || !paused || !since.Equal(clock.Now()) {
		t.Fatalf("after a restart SharingPaused = %v, %v, %v; want paused since %v", paused, since, err, clock.Now())
	}
	if sum, err := d.Flush(ctx); err != nil || sum.Sent != 0 || agg.uploads.Load() != 0 {
		t.Fatalf("paused after a restart: %+v, %v, %d uploads", sum, err, agg.uploads.Load())
	}

	if err := d.ResumeSharing(ctx); err != nil {
		t.Fatal(err)
	}
	if paused, _, _ := d.SharingPaused(ctx); paused {
		t.Fatal("still paused after ResumeSharing")
	}
	sum, err := d.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Answered != 2 || sum.Sent != 2 {
		t.Errorf("after resume: %+v, want 2 answered and sent", sum)
	}
	if got := agg.stored(t, "runners", testCampaigns[0].Epoch(clock.Now())); got != 1 {
		t.Errorf("the aggregator holds %d runners reports after resume, want 1", got)
	}
}

// TestPauseSharingHoldsQueuedReports: reports queued before the pause stay
// in the outbox and leave only after it.
func TestPauseSharingHoldsQueuedReports(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	agg := startTestAggregator(t, clock)
	d := delayedDevice(t, clock, agg)
	if sum, err := d.RunOnce(ctx); err != nil || sum.Answered != 2 {
		t.Fatalf("first pass: %+v, %v; want 2 answered and queued", sum, err)
	}
	before := agg.uploads.Load()
	if err := d.PauseSharing(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour) // past every send delay
	if sum, err := d.Flush(ctx); err != nil || sum.Sent != 0 || sum.Remaining != 2-int(before) {
		t.Fatalf("paused flush: %+v, %v; want nothing sent, the queue kept", sum, err)
	}
	if n := agg.uploads.Load(); n != before {
		t.Errorf("the aggregator received %d uploads while paused", n-before)
	}
	if err := d.ResumeSharing(ctx); err != nil {
		t.Fatal(err)
	}
	if sum, err := d.Flush(ctx); err != nil || sum.Sent != 2-int(before) || sum.Remaining != 0 {
		t.Fatalf("flush after resume: %+v, %v; want the queue sent", sum, err)
	}
}

// TestForgetInterest erases one interest and the queued reports about it;
// the other interests and reports stay.
func TestForgetInterest(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	agg := startTestAggregator(t, clock)
	d := delayedDevice(t, clock, agg)
	if err := d.RecordEvent(ctx, "workouts", Event{Kind: kindWorkout, Code: codeRide, Time: clock.Now(), Value: 60}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.ForgetInterest(ctx, 410); err != nil {
		t.Fatal(err)
	}
	st, err := d.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range st.Interests {
		if in.Category == 410 {
			t.Errorf("Running is still an interest after ForgetInterest: %+v", st.Interests)
		}
	}
	if len(st.Interests) != 1 || st.Interests[0].Category != 625 {
		t.Errorf("interests %+v, want Cycling only", st.Interests)
	}
	if len(st.Queued) != 1 || st.Queued[0].Campaign != "cyclists" {
		t.Errorf("queued %+v, want the cyclists report only", st.Queued)
	}
}

// delayedDevice is readyDevice with a send delay of up to an hour, so
// that a pass queues its reports rather than sending them.
func delayedDevice(t *testing.T, clock *fakeClock, agg *testAggregator) *Device {
	t.Helper()
	a := newAuthor(t)
	d := testDevice(t, t.TempDir(), clock, a, agg, func(c DeviceConfig) DeviceConfig { return c.WithSendDelay(time.Hour) })
	if _, err := d.Install(context.Background(), a.signedManifest, workoutsWasm); err != nil {
		t.Fatal(err)
	}
	for _, p := range []Purpose{PluginPurpose("workouts"), CampaignPurpose("runners"), CampaignPurpose("cyclists")} {
		if err := d.Grant(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	recordRuns(t, d, clock.Now(), 5, 40)
	return d
}

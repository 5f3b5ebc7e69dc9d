package host

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wisp-project/wisp/host/sandbox"
)

func TestDeviceAnswersOncePerEpoch(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	agg := startTestAggregator(t, clock)
	d, _ := readyDevice(t, t.TempDir(), clock, agg)

	sum, err := d.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// 200 minutes of running: Running ≈ 0.77 ≥ 0.5; no rides, but the
	// plugin scores Cycling 0, so both campaigns are answerable.
	if got, want := [3]int{sum.PluginsScored, sum.Answered, sum.Sent}, [3]int{1, 2, 2}; got != want {
		t.Fatalf("first pass scored, answered, sent = %v, want %v (%+v)", got, want, sum)
	}
	again, err := d.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again.Answered != 0 || again.Sent != 0 {
		t.Errorf("second pass in the same epoch: %+v, want nothing answered or sent", again)
	}
	epoch := testCampaigns[0].Epoch(clock.Now())
	if got := agg.stored(t, "runners", epoch); got != 1 {
		t.Errorf("aggregator holds %d runners reports for epoch %d, want 1", got, epoch)
	}
	clock.Advance(7 * 24 * time.Hour)
	next, err := d.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if next.Answered != 2 {
		t.Errorf("next epoch answered %d, want 2", next.Answered)
	}

	st, err := d.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Interests) == 0 || st.Interests[0].Name != "Interest | Healthy Living | Fitness and Exercise | Running and Jogging" {
		t.Errorf("top interest = %+v, want Running and Jogging", st.Interests)
	}
	var left int
	for _, s := range st.Sent {
		if s.Left && s.Outcome == "accepted" {
			left++
		}
	}
	if left != 4 {
		t.Errorf("sent log has %d accepted reports, want 4: %+v", left, st.Sent)
	}
	for _, c := range st.Campaigns {
		if c.Spent != 2 || !c.AnsweredThisEpoch {
			t.Errorf("campaign %s: spent %v, answered this epoch %v; want 2, true", c.ID, c.Spent, c.AnsweredThisEpoch)
		}
	}
}

func TestDeviceConsentGatesEverything(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	agg := startTestAggregator(t, clock)
	a := newAuthor(t)
	d := testDevice(t, t.TempDir(), clock, a, agg)
	if _, err := d.Install(ctx, a.signedManifest, workoutsWasm); err != nil {
		t.Fatal(err)
	}
	ev := Event{Kind: kindWorkout, Code: codeRun, Time: clock.Now(), Value: 30}
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"event before plugin consent", d.RecordEvent(ctx, "workouts", ev), ErrNoConsent},
		{"event for unknown plugin", d.RecordEvent(ctx, "nope", ev), ErrUnknownPlugin},
		{"grant unknown plugin", d.Grant(ctx, PluginPurpose("nope")), ErrUnknownPlugin},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	if err := d.Grant(ctx, PluginPurpose("workouts")); err != nil {
		t.Fatal(err)
	}
	recordRuns(t, d, clock.Now(), 7, 60)
	sum, err := d.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.PluginsScored != 1 || sum.Answered != 0 || agg.uploads.Load() != 0 {
		t.Errorf("without campaign consent: %+v and %d uploads, want scoring only", sum, agg.uploads.Load())
	}
}

func TestDeviceRefusesUnsignedAndUntrusted(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	d := testDevice(t, t.TempDir(), clock, newAuthor(t), nil)
	if _, err := d.InstallUnsigned(ctx, sandbox.Manifest{Name: "x", Categories: []uint32{410}}, workoutsWasm); !errors.Is(err, ErrUnsignedRefused) {
		t.Errorf("InstallUnsigned = %v, want ErrUnsignedRefused", err)
	}
	stranger := newAuthor(t)
	if _, err := d.Install(ctx, stranger.signedManifest, workoutsWasm); !errors.Is(err, sandbox.ErrUnknownAuthor) {
		t.Errorf("Install by an untrusted author = %v, want ErrUnknownAuthor", err)
	}
}

func TestDeviceReopensInstalledPlugins(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := newFakeClock()
	d, a := readyDevice(t, dir, clock, nil)
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	d2 := testDevice(t, dir, clock, a, nil)
	if _, err := d2.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	in, err := d2.Interests(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(in) != 1 || in[0].Category != 410 || in[0].Score < 0.7 {
		t.Errorf("after reopen, top interest = %+v, want Running ≈ 0.77", in)
	}
}

package host

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestOutboxSurvivesOutage: the aggregator is unreachable for two days;
// the device backs off, keeps its reports, and delivers each exactly once
// when the aggregator is back. A second outage outlasts the epoch's
// validity: the reports are dropped (and logged), not sent late.
func TestOutboxSurvivesOutage(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	agg := startTestAggregator(t, clock)
	dir := t.TempDir()
	d, a := readyDevice(t, dir, clock, agg)
	if err := d.sync(ctx, clock.Now(), true); err != nil {
		t.Fatal(err)
	}
	agg.down.Store(true)
	attempts := 0
	for range 48 { // two days, a pass an hour, with a reboot halfway
		sum, _ := d.RunOnce(ctx)
		attempts += sum.Deferred
		clock.Advance(time.Hour)
		if clock.Now().Hour() == 9 {
			d.Close(ctx)
			d = testDevice(t, dir, clock, a, agg)
		}
	}
	// Backoff from 1 minute doubling to 6 hours: far fewer tries than
	// passes, but still trying.
	if attempts/2 < 5 || attempts/2 > 20 {
		t.Errorf("%d upload attempts per report over 48 hourly passes, want backoff between 5 and 20", attempts/2)
	}
	if q, _ := d.Outbox(ctx); len(q) != 2 {
		t.Fatalf("after the outage %d reports queued, want 2", len(q))
	}
	agg.down.Store(false)
	clock.Advance(6 * time.Hour) // the longest backoff
	sum, err := d.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	epoch := testCampaigns[0].Epoch(clock.Now())
	if sum.Sent != 2 || agg.stored(t, "runners", epoch) != 1 || agg.stored(t, "cyclists", epoch) != 1 {
		t.Errorf("after the outage: sent %d, aggregator holds %d runners and %d cyclists reports; want 2, 1, 1",
			sum.Sent, agg.stored(t, "runners", epoch), agg.stored(t, "cyclists", epoch))
	}

	// Next epoch, and an outage past its end and grace: that epoch's
	// reports are dropped, the following epoch's are delivered.
	clock.Advance(7 * 24 * time.Hour) // Wednesday 15:00, 9 hours before the epoch ends
	lost := testCampaigns[0].Epoch(clock.Now())
	recordRuns(t, d, clock.Now(), 3, 40)
	agg.down.Store(true)
	for range 2 {
		d.RunOnce(ctx)
		clock.Advance(24 * time.Hour)
	}
	agg.down.Store(false)
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"runners", "cyclists"} {
		if got := agg.stored(t, c, lost); got != 0 {
			t.Errorf("%s: %d reports of the expired epoch reached the aggregator", c, got)
		}
		if got := agg.stored(t, c, lost+1); got != 1 {
			t.Errorf("%s: %d reports of the next epoch stored, want 1", c, got)
		}
	}
	log, err := d.SentLog(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	expired := 0
	for _, s := range log {
		if s.Outcome == OutcomeDropped && s.Cause == DropExpired {
			expired++
			if s.Epoch != lost {
				t.Errorf("expired report of epoch %d, want %d", s.Epoch, lost)
			}
		}
	}
	if expired != 2 {
		t.Errorf("%d reports logged as expired, want 2: %+v", expired, log)
	}
}

var errCrash = errors.New("injected crash")

// crashOnceAt is a Device.fault hook that fails the first time the
// pipeline reaches step, as a crash there would.
func crashOnceAt(step string) func(string) error {
	crashed := false
	return func(s string) error {
		if s == step && !crashed {
			crashed = true
			return errCrash
		}
		return nil
	}
}

// TestOutboxCrashInjection crashes the device between every two steps of
// answering and sending, reopens it, and checks the promises: the budget is
// spent at most once per epoch, the aggregator stores at most one report
// per campaign and epoch, nothing acknowledged is lost, every report that
// left is logged once.
func TestOutboxCrashInjection(t *testing.T) {
	tests := []struct {
		step string
		// stored: reports the aggregator holds for the epoch afterwards;
		// uploads: POSTs that reached it (2 = an in-doubt resend).
		stored, uploads int
	}{
		{"ledger-" + "insert-set", 1, 1},   // crash inside the spend, at its category set: the same
		{"ledger-" + "commit", 1, 1},       // crash inside the spend: nothing spent, answered after reopen
		{"ledger-" + "after-commit", 0, 0}, // spent, report never made: lost, not re-answered
		{"after-spend", 0, 0},              // same, on the device's side
		{"after-enqueue", 1, 1},            // queued: sent after reopen
		{"after-claim", 1, 1},              // claimed, not sent: sent after reopen
		{"after-upload", 1, 2},             // stored, not settled: resent once, aggregator says replay
		{"before-profile", 1, 1},           // scored, profile not written: rescored after reopen
	}
	for _, tt := range tests {
		t.Run(tt.step, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			agg := startTestAggregator(t, clock)
			dir := t.TempDir()
			d, a := readyDevice(t, dir, clock, agg)
			if err := d.Revoke(ctx, CampaignPurpose("cyclists"), false); err != nil {
				t.Fatal(err) // one campaign keeps the counts simple
			}
			d.fault = crashOnceAt(tt.step)
			if _, err := d.Flush(ctx); !errors.Is(err, errCrash) {
				t.Fatalf("Flush = %v, want the injected crash", err)
			}
			d.Close(ctx) // the process dies: only what was committed remains

			d = testDevice(t, dir, clock, a, agg)
			if _, err := d.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Flush(ctx); err != nil { // and once more: nothing new
				t.Fatal(err)
			}
			epoch := testCampaigns[0].Epoch(clock.Now())
			if got := agg.stored(t, "runners", epoch); got != tt.stored {
				t.Errorf("aggregator holds %d reports, want %d", got, tt.stored)
			}
			if got := agg.uploads.Load(); got != int64(tt.uploads) {
				t.Errorf("%d uploads reached the aggregator, want %d", got, tt.uploads)
			}
			spent, err := d.spentPerCampaign(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if spent["runners"] != 1 {
				t.Errorf("ledger: ε spent on runners = %v, want exactly 1", spent["runners"])
			}
			log, err := d.SentLog(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(log) != tt.stored {
				t.Errorf("sent log has %d entries, want %d: %+v", len(log), tt.stored, log)
			}
			if q, _ := d.Outbox(ctx); len(q) != 0 {
				t.Errorf("%d reports still queued", len(q))
			}
		})
	}
}

package host

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRevokeDropsQueuedReports(t *testing.T) {
	tests := []struct {
		name      string
		revoke    Purpose
		erase     bool
		wantDrop  []string // campaigns whose queued reports are dropped
		wantEvent int      // events left
	}{
		{"campaign", CampaignPurpose("runners"), false, []string{"runners"}, 5},
		{"plugin", PluginPurpose("workouts"), false, []string{"cyclists", "runners"}, 5},
		{"plugin and erase", PluginPurpose("workouts"), true, []string{"cyclists", "runners"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			agg := startTestAggregator(t, clock)
			d, _ := readyDevice(t, t.TempDir(), clock, agg)
			d.cfg = d.cfg.WithSendDelay(time.Hour) // keep the reports queued
			if _, err := d.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			if q, _ := d.Outbox(ctx); len(q) != 2 {
				t.Fatalf("queued %d reports, want 2", len(q))
			}
			if err := d.Revoke(ctx, tt.revoke, tt.erase); err != nil {
				t.Fatal(err)
			}
			clock.Advance(2 * time.Hour) // every send delay has passed
			if _, err := d.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			st, err := d.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var dropped, sent []string
			for _, s := range st.Sent {
				if s.Left {
					sent = append(sent, s.Campaign)
				} else if s.Outcome == OutcomeDropped && (s.Cause == DropConsentRevoked || s.Cause == DropPluginErased) {
					dropped = append(dropped, s.Campaign)
				}
			}
			if got, want := strings.Join(slices.Sorted(slices.Values(dropped)), ","), strings.Join(tt.wantDrop, ","); got != want {
				t.Errorf("dropped %q, want %q", got, want)
			}
			for _, c := range sent {
				for _, w := range tt.wantDrop {
					if c == w {
						t.Errorf("a %s report left after its consent was revoked", c)
					}
				}
			}
			if got := st.Stored["events"]; got != tt.wantEvent {
				t.Errorf("events left = %d, want %d", got, tt.wantEvent)
			}
			last := st.Consent[len(st.Consent)-1]
			if last.Purpose != tt.revoke || last.Granted || last.Erased != tt.erase || !last.At.Equal(clock.Now().Add(-2*time.Hour)) {
				t.Errorf("last consent change = %+v, want revoke of %v at the revoke time, erased %v", last, tt.revoke, tt.erase)
			}
		})
	}
}

// TestGrantSeveralAtOnce: one Grant of several purposes grants all of them
// together, and grants none if one of them is refused.
func TestGrantSeveralAtOnce(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, t.TempDir(), NewDeviceConfig().WithClock(newFakeClock().Now))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(ctx)
	if err := d.Grant(ctx, CampaignPurpose("runners"), PluginPurpose("not-installed"), CampaignPurpose("cyclists")); !errors.Is(err, ErrUnknownPlugin) {
		t.Fatalf("granting an unknown plugin with two campaigns: %v, want ErrUnknownPlugin", err)
	}
	if h, err := d.ConsentHistory(ctx); err != nil || len(h) != 0 {
		t.Fatalf("after a refused Grant the history holds %v (%v), want nothing granted", h, err)
	}
	if err := d.Grant(ctx, CampaignPurpose("runners"), CampaignPurpose("cyclists")); err != nil {
		t.Fatal(err)
	}
	h, err := d.ConsentHistory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range h {
		if c.Granted {
			got = append(got, c.Purpose.String())
		}
	}
	if slices.Sort(got); strings.Join(got, ",") != "campaign:cyclists,campaign:runners" {
		t.Fatalf("granted %v, want both campaigns", got)
	}
}

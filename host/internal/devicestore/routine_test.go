package devicestore_test

import (
	"context"
	"testing"
	"time"

	"github.com/wisp-project/wisp/host/internal/devicestore"
)

// TestRoutineStepsWriteOnlyWhenNeeded: retention, recovery and expiry
// begin a write transaction only when they have something to change, and
// still change it when they do.
func TestRoutineStepsWriteOnlyWhenNeeded(t *testing.T) {
	ctx := context.Background()
	s, _ := mustOpen(t)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	writes := func(what string, want int64, step func() (int, error), wantN int) {
		t.Helper()
		before := s.Stats()
		n, err := step()
		if err != nil {
			t.Fatal(what, err)
		}
		if got := s.Stats().Sub(before).Writes; got != want || n != wantN {
			t.Fatalf("%s: %d write transactions and %d rows, want %d and %d", what, got, n, want, wantN)
		}
	}
	if err := s.PutPlugin(ctx, devicestore.Plugin{Name: "p", Retention: 30 * 24 * time.Hour, Installed: now, Categories: []uint32{410}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetConsent(ctx, "plugin:p", true, false, now.Add(-40*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddEvents(ctx, "p", []devicestore.Event{{Kind: 1, At: now.Add(-31 * 24 * time.Hour)}, {Kind: 1, At: now}}, now.Add(-40*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	retain := func() (int, error) { return s.Retain(ctx, now) }
	writes("retain an old event", 1, retain, 1)
	writes("retain nothing", 0, retain, 0)
	if c, err := s.Counts(ctx, "p"); err != nil || c["events"] != 1 {
		t.Fatalf("events left %v, %v; want the recent one", c, err)
	}

	if err := s.SetConsent(ctx, "campaign:c", true, false, now); err != nil {
		t.Fatal(err)
	}
	r := devicestore.Report{ID: [16]byte{1}, Campaign: "c", Epoch: 1, Envelope: []byte{1}, Created: now, NotBefore: now, Expires: now.Add(time.Hour)}
	if err := s.Enqueue(ctx, r, 1); err != nil {
		t.Fatal(err)
	}
	recover := func() (int, error) { return s.Recover(ctx) }
	writes("recover with none in flight", 0, recover, 0)
	if claimed, err := s.SettleAndClaim(ctx, nil, now, 1, true); err != nil || len(claimed) != 1 {
		t.Fatalf("claim %v, %v", claimed, err)
	}
	writes("recover one in flight", 1, recover, 1)

	expire := func(at time.Time) func() (int, error) {
		return func() (int, error) {
			if err := s.Expire(ctx, at); err != nil {
				return 0, err
			}
			q, err := s.Queued(ctx)
			return len(q), err
		}
	}
	writes("expire before the report's end", 0, expire(now), 1)
	writes("expire after it", 1, expire(now.Add(2*time.Hour)), 0)
}

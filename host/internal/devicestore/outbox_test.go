package devicestore_test

import (
	"context"
	"testing"
	"time"

	"github.com/wisp-project/wisp/host/internal/devicestore"
)

// TestSettleAndClaimOneCommit: SettleAndClaim logs and removes the
// settled report and claims the next due one in a single write
// transaction, and never claims a report it settles.
func TestSettleAndClaimOneCommit(t *testing.T) {
	ctx := context.Background()
	s, _ := mustOpen(t)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	if err := s.SetConsent(ctx, "campaign:c", true, false, now); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		r := devicestore.Report{ID: [16]byte{byte(i + 1)}, Campaign: "c", Epoch: uint32(i + 1), Envelope: []byte{1},
			Created: now, NotBefore: now.Add(time.Duration(i) * time.Second), Expires: now.Add(time.Hour)}
		if err := s.Enqueue(ctx, r, 1); err != nil {
			t.Fatal(err)
		}
	}
	at := now.Add(time.Minute)
	first, err := s.SettleAndClaim(ctx, nil, at, 1, false)
	if err != nil || len(first) != 1 || first[0].ID[0] != 1 {
		t.Fatalf("first claim %v, %v; want report 1", first, err)
	}
	before := s.Stats()
	done := []devicestore.Sent{{ID: first[0].ID, Campaign: "c", Epoch: 1, Size: 1, At: at, Outcome: devicestore.OutcomeAccepted}}
	next, err := s.SettleAndClaim(ctx, done, at, 1, false)
	if err != nil || len(next) != 1 || next[0].ID[0] != 2 || !next[0].InFlight {
		t.Fatalf("settle 1 and claim: %v, %v; want report 2 in flight", next, err)
	}
	if got := s.Stats().Sub(before); got.Writes != 1 {
		t.Fatalf("settle and claim began %d write transactions, want 1", got.Writes)
	}
	queued, err := s.Queued(ctx)
	if err != nil || len(queued) != 1 || queued[0].ID[0] != 2 {
		t.Fatalf("outbox %v, %v; want only report 2", queued, err)
	}
	sent, err := s.Egress(ctx, 0)
	if err != nil || len(sent) != 1 || sent[0].ID[0] != 1 || sent[0].Outcome != devicestore.OutcomeAccepted {
		t.Fatalf("egress log %v, %v; want report 1 accepted", sent, err)
	}
	last, err := s.SettleAndClaim(ctx, []devicestore.Sent{{ID: next[0].ID, Campaign: "c", Epoch: 2, Size: 1, At: at, Outcome: devicestore.OutcomeAccepted}}, at, 1, false)
	if err != nil || len(last) != 0 {
		t.Fatalf("settling the last: claimed %v, %v; want none", last, err)
	}
}

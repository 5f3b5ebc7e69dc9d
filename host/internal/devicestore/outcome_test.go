package devicestore_test

import (
	"context"
	"testing"
	"time"

	"github.com/wisp-project/wisp/host/internal/devicestore"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/sqlitedb"
)

// legacyOutcomes are the egress log's outcome strings as the device wrote
// them while Sent.Outcome was a string, with what they mean now.
var legacyOutcomes = []struct {
	text    string
	outcome devicestore.Outcome
	reason  api.Reason
	cause   devicestore.DropCause
}{
	{"accepted", devicestore.OutcomeAccepted, "", ""},
	{"duplicate", devicestore.OutcomeDuplicate, "", ""},
	{"dummy", devicestore.OutcomeDummy, "", ""},
	{"rejected:bad_answer", devicestore.OutcomeRejected, api.ReasonBadAnswer, ""},
	{"rejected:epoch_too_late", devicestore.OutcomeRejected, api.ReasonEpochTooLate, ""},
	{"rejected:", devicestore.OutcomeRejected, "", ""}, // a rejection that named no reason
	{"rejected:from_a_newer_aggregator", devicestore.OutcomeRejected, "from_a_newer_aggregator", ""},
	{"dropped:consent-revoked", devicestore.OutcomeDropped, "", devicestore.DropConsentRevoked},
	{"dropped:plugin-erased", devicestore.OutcomeDropped, "", devicestore.DropPluginErased},
	{"dropped:expired", devicestore.OutcomeDropped, "", devicestore.DropExpired},
	{"dropped:forgotten", devicestore.OutcomeDropped, "", devicestore.DropForgotten},
	{"dropped:corrupt", devicestore.OutcomeDropped, "", devicestore.DropCorrupt},
}

func TestOutcomeTextRoundTrip(t *testing.T) {
	for _, tc := range legacyOutcomes {
		if got := devicestore.FormatOutcome(tc.outcome, tc.reason, tc.cause); got != tc.text {
			t.Errorf("FormatOutcome(%q, %q, %q) = %q, want %q", tc.outcome, tc.reason, tc.cause, got, tc.text)
		}
		o, r, c, err := devicestore.ParseOutcome(tc.text)
		if err != nil || o != tc.outcome || r != tc.reason || c != tc.cause {
			t.Errorf("ParseOutcome(%q) = %q, %q, %q, %v", tc.text, o, r, c, err)
		}
		if !o.IsValid() || (o == devicestore.OutcomeDropped && !c.IsValid()) {
			t.Errorf("%q: outcome %q or cause %q is not valid", tc.text, o, c)
		}
	}
	for _, bad := range []string{"", "accepted:x", "dummy:", "rejected", "dropped", "sent", "Accepted"} {
		if o, r, c, err := devicestore.ParseOutcome(bad); err == nil {
			t.Errorf("ParseOutcome(%q) = %q, %q, %q, want an error", bad, o, r, c)
		}
	}
}

// TestEgressStoresLegacyText: the egress log's outcome column holds the
// same text as before Sent.Outcome was typed, and rows an older device
// wrote read back typed.
func TestEgressStoresLegacyText(t *testing.T) {
	ctx := context.Background()
	s, path := mustOpen(t)
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var sent []devicestore.Sent
	for i, tc := range legacyOutcomes {
		sent = append(sent, devicestore.Sent{ID: [16]byte{byte(i + 1)}, Campaign: "runners", Epoch: 7, Size: 64, At: at,
			Outcome: tc.outcome, Reason: tc.reason, Cause: tc.cause})
	}
	if err := s.Settle(ctx, sent); err != nil {
		t.Fatal(err)
	}
	db, err := sqlitedb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT outcome FROM egress ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	var stored []string
	for rows.Next() {
		var o string
		if err := rows.Scan(&o); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, o)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(legacyOutcomes) {
		t.Fatalf("%d rows stored, want %d", len(stored), len(legacyOutcomes))
	}
	for i, tc := range legacyOutcomes {
		if stored[i] != tc.text {
			t.Errorf("row %d stored as %q, want %q", i, stored[i], tc.text)
		}
	}

	// Rows as an older device wrote them.
	for i, tc := range legacyOutcomes {
		if _, err := db.ExecContext(ctx, `INSERT INTO egress (report_id, campaign, epoch, size, dummy, at, outcome) VALUES (?, 'old', 1, 64, 0, 0, ?)`,
			[]byte{0xff, byte(i), 15: 0}, tc.text); err != nil {
			t.Fatal(err)
		}
	}
	log, err := s.Egress(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var old []devicestore.Sent
	for _, e := range log {
		if e.Campaign == "old" {
			old = append(old, e)
		}
	}
	if len(old) != len(legacyOutcomes) {
		t.Fatalf("%d old rows read, want %d", len(old), len(legacyOutcomes))
	}
	for i, e := range old {
		tc := legacyOutcomes[len(old)-1-i] // newest first
		if e.Outcome != tc.outcome || e.Reason != tc.reason || e.Cause != tc.cause || e.Left() != (tc.outcome != devicestore.OutcomeDropped) {
			t.Errorf("stored %q reads as %+v", tc.text, e)
		}
	}
}

package host

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/wisp-project/wisp/internal/api"
)

// legacySentReport is SentReport as it was while Outcome was a string.
type legacySentReport struct {
	Campaign string    `json:"campaign"`
	Epoch    uint32    `json:"epoch"`
	Size     int       `json:"size_bytes"`
	Dummy    bool      `json:"dummy,omitempty"`
	At       time.Time `json:"at"`
	Outcome  string    `json:"outcome"`
	Left     bool      `json:"left"`
}

// TestSentReportJSON: a sent report's JSON (wisp device status --json)
// keeps every field and value it had, "outcome" still the combined text;
// a rejection gains "reason", a drop "cause". It decodes back to the same
// typed report.
func TestSentReportJSON(t *testing.T) {
	at := time.Date(2026, 11, 23, 19, 16, 0, 0, time.UTC)
	for _, tc := range []struct {
		typed  SentReport
		legacy string
		extra  string // the field it gains, inserted before "left"
	}{
		{SentReport{Outcome: OutcomeAccepted, Left: true}, "accepted", ""},
		{SentReport{Outcome: OutcomeDuplicate, Left: true}, "duplicate", ""},
		{SentReport{Outcome: OutcomeDummy, Dummy: true, Left: true}, "dummy", ""},
		{SentReport{Outcome: OutcomeRejected, Reason: api.ReasonKeyExpired, Left: true}, "rejected:key_expired", `"reason":"key_expired",`},
		{SentReport{Outcome: OutcomeRejected, Left: true}, "rejected:", ""},
		{SentReport{Outcome: OutcomeDropped, Cause: DropConsentRevoked}, "dropped:consent-revoked", `"cause":"consent-revoked",`},
		{SentReport{Outcome: OutcomeDropped, Cause: DropExpired}, "dropped:expired", `"cause":"expired",`},
	} {
		r := tc.typed
		r.Campaign, r.Epoch, r.Size, r.At = "runners", 7, 156, at
		if got := r.OutcomeText(); got != tc.legacy {
			t.Errorf("%+v: outcome text %q, want %q", r, got, tc.legacy)
		}
		got, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		old, err := json.Marshal(legacySentReport{Campaign: r.Campaign, Epoch: r.Epoch, Size: r.Size, Dummy: r.Dummy, At: r.At, Outcome: tc.legacy, Left: r.Left})
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.LastIndex(old, []byte(`"left":`))
		if i < 0 {
			t.Fatalf("legacy JSON %s has no left", old)
		}
		want := string(old[:i]) + tc.extra + string(old[i:])
		if string(got) != want {
			t.Errorf("JSON\n%s\nwant\n%s", got, want)
		}
		var back SentReport
		if err := json.Unmarshal(got, &back); err != nil || !reflect.DeepEqual(back, r) {
			t.Errorf("%s decodes as %+v (%v), want %+v", got, back, err, r)
		}
		var fromOld SentReport
		if err := json.Unmarshal(old, &fromOld); err != nil || !reflect.DeepEqual(fromOld, r) {
			t.Errorf("legacy %s decodes as %+v (%v), want %+v", old, fromOld, err, r)
		}
	}
	var r SentReport
	if err := json.Unmarshal([]byte(`{"campaign":"x","outcome":"sent"}`), &r); err == nil {
		t.Errorf("an unknown outcome decodes as %+v", r)
	}
}

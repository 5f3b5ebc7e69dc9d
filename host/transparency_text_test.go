package host

import (
	"strings"
	"testing"
	"time"

	"github.com/wisp-project/wisp/internal/api"
)

// TestStatusTextSaysWhyNotAnswered: a consented campaign the owner's
// 24-hour budget cannot pay for says so, in those terms; one it can pay
// for is just not answered yet.
func TestStatusTextSaysWhyNotAnswered(t *testing.T) {
	s := Status{
		Campaigns: []CampaignStatus{
			{ID: "costly", Name: "Costly", Category: "Cycling", Consent: true, Answerable: true, Epsilon: 2},
			{ID: "cheap", Name: "Cheap", Category: "Running", Consent: true, Answerable: true, Epsilon: 0.25},
		},
		Budget: BudgetStatus{DailyCap: 4, SpentToday: 3.5, LeftToday: 0.5},
	}
	var b strings.Builder
	if err := s.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{
		"costly — \"Costly\" about Cycling: you agreed to answer it.\n    not answered yet: an answer costs ε = 2.00 and 0.50 is left of your 24-hour budget",
		"cheap — \"Cheap\" about Running: you agreed to answer it.\n    not answered yet.\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("status text lacks %q:\n%s", want, text)
		}
	}
}

// TestStatusTextSentLog: the sent log reads as it did while outcomes were
// strings: "rejected:<reason>" for a rejection, "never sent (<cause>)" for
// a drop.
func TestStatusTextSentLog(t *testing.T) {
	at := time.Date(2026, 11, 23, 19, 16, 0, 0, time.UTC)
	s := Status{Sent: []SentReport{
		{Campaign: "runners", Size: 156, At: at, Outcome: OutcomeAccepted, Left: true},
		{Campaign: "cyclists", Size: 156, At: at, Outcome: OutcomeRejected, Reason: api.ReasonEpochTooLate, Left: true},
		{Campaign: "swimmers", Size: 161, At: at, Outcome: OutcomeDropped, Cause: DropConsentRevoked},
	}}
	var b strings.Builder
	if err := s.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{
		"2026-11-23 19:16 UTC  runners, 156 bytes: accepted\n",
		"2026-11-23 19:16 UTC  cyclists, 156 bytes: rejected:epoch_too_late\n",
		"2026-11-23 19:16 UTC  swimmers, 161 bytes: never sent (consent-revoked)\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("status text lacks %q:\n%s", want, text)
		}
	}
}

package host

import (
	"strings"
	"testing"
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

package ownerpage

import (
	"strings"
	"testing"

	"github.com/wisp-project/wisp/host"
)

// TestPrio3AnswersReadAsSecretShared: a two-aggregator campaign's answer is
// the true one, split between two aggregators; the page must not call it
// randomized, and must name both.
func TestPrio3AnswersReadAsSecretShared(t *testing.T) {
	ldp := host.CampaignStatus{ID: "runners", Category: "Interest | Sports | Running and Jogging", Question: "threshold"}
	prio3 := ldp
	prio3.ID, prio3.SharedWith = "runners-p3", []string{"leader.example", "helper.example"}
	byID := map[string]host.CampaignStatus{ldp.ID: ldp, prio3.ID: prio3}
	if got := answerWords(byID, ldp.ID, false); got != "a randomized yes/no about Running and Jogging" {
		t.Errorf("LDP answer: %q", got)
	}
	if got := answerWords(byID, prio3.ID, false); got != "a secret-shared yes/no about Running and Jogging" {
		t.Errorf("prio3 answer: %q", got)
	}
	if got := asks(prio3); strings.Contains(got, "randomized") || !strings.Contains(got, "leader.example and helper.example") {
		t.Errorf("prio3 question: %q", got)
	}
	if got := asks(ldp); !strings.Contains(got, "(a randomized yes/no)") {
		t.Errorf("LDP question: %q", got)
	}
}

// TestReportTokensNameTheIssuer: a campaign with report tokens names the
// issuer, which learns that the device takes part; one without does not
// mention tokens.
func TestReportTokensNameTheIssuer(t *testing.T) {
	c := host.CampaignStatus{ID: "runners", Category: "Interest | Sports | Running and Jogging", Question: "threshold"}
	if got := asks(c); strings.Contains(got, "token") {
		t.Errorf("campaign without tokens: %q", got)
	}
	c.TokenIssuer = "issuer.example"
	if got := asks(c); !strings.Contains(got, "token from issuer.example") || !strings.Contains(got, "never the answer") {
		t.Errorf("campaign with tokens: %q", got)
	}
}

package campaign_test

import (
	"errors"
	"testing"
	"time"

	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/taxonomy"
)

func tax(t *testing.T) *taxonomy.Taxonomy {
	t.Helper()
	tx, err := taxonomy.ParseBytes(taxonomy.DefaultTSV())
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func valid() campaign.Campaign {
	return campaign.Campaign{ID: "runners", Question: campaign.Question{Type: "threshold", Category: 410, MinScore: 0.6},
		Epsilon: 1, EpochSeconds: 3600, K: 10}
}

func TestValidateRejects(t *testing.T) {
	tests := map[string]func(c *campaign.Campaign){
		"empty id":             func(c *campaign.Campaign) { c.ID = "" },
		"id with spaces":       func(c *campaign.Campaign) { c.ID = "a b" },
		"unknown question":     func(c *campaign.Campaign) { c.Question.Type = "histogram" },
		"zero min score":       func(c *campaign.Campaign) { c.Question.MinScore = 0 },
		"min score above 1":    func(c *campaign.Campaign) { c.Question.MinScore = 1.5 },
		"zero epsilon":         func(c *campaign.Campaign) { c.Epsilon = 0 },
		"huge epsilon":         func(c *campaign.Campaign) { c.Epsilon = 50 },
		"short epoch":          func(c *campaign.Campaign) { c.EpochSeconds = 1 },
		"k zero":               func(c *campaign.Campaign) { c.K = 0 },
		"unknown category":     func(c *campaign.Campaign) { c.Question.Category = 99999 },
		"demographic category": func(c *campaign.Campaign) { c.Question.Category = 3 },
	}
	for name, mutate := range tests {
		c := valid()
		mutate(&c)
		if err := c.Validate(tax(t)); !errors.Is(err, campaign.ErrInvalid) {
			t.Errorf("%s: Validate = %v, want ErrInvalid", name, err)
		}
	}
	c := valid()
	if err := c.Validate(tax(t)); err != nil {
		t.Fatalf("valid campaign rejected: %v", err)
	}
}

func TestParseListRejectsDuplicatesAndBadJSON(t *testing.T) {
	for _, in := range []string{`{`, `[{"id":"a","question":{"type":"threshold","category":410,"min_score":0.5},"epsilon":1,"epoch_seconds":60,"k":1},{"id":"a","question":{"type":"threshold","category":410,"min_score":0.5},"epsilon":1,"epoch_seconds":60,"k":1}]`} {
		if _, err := campaign.ParseList([]byte(in), tax(t)); !errors.Is(err, campaign.ErrInvalid) {
			t.Errorf("ParseList(%.20q) = %v, want ErrInvalid", in, err)
		}
	}
}

func TestAnswerAndEpoch(t *testing.T) {
	c := valid()
	if c.Answer(map[uint32]float32{410: 0.59}) || !c.Answer(map[uint32]float32{410: 0.6}) || c.Answer(nil) {
		t.Fatal("threshold answer wrong")
	}
	if got := c.Epoch(time.Unix(7200, 0)); got != 2 {
		t.Fatalf("Epoch = %d, want 2", got)
	}
	if c.PaddedSize() != campaign.DefaultReportSize {
		t.Fatal("default report size not applied")
	}
}

// TestReportTokensValidated: a report_tokens section needs an http(s)
// issuer URL and a printable issuer name, in either mode; without one a
// campaign asks for no tokens.
func TestReportTokensValidated(t *testing.T) {
	tax := taxonomy.Default()
	base := func() campaign.Campaign {
		return campaign.Campaign{ID: "t", Name: "t", Question: campaign.Question{Type: campaign.QuestionThreshold, Category: 410, MinScore: 0.5}, Epsilon: 1, EpochSeconds: 3600, K: 50}
	}
	c := base()
	if err := c.Validate(tax); err != nil || c.RequiresTokens() {
		t.Fatalf("no section: %v, requires %v", err, c.RequiresTokens())
	}
	c = base()
	c.ReportTokens = &campaign.ReportTokens{IssuerURL: "https://issuer.example", IssuerName: "issuer.example"}
	if err := c.Validate(tax); err != nil || !c.RequiresTokens() {
		t.Fatalf("good section: %v", err)
	}
	for _, rt := range []campaign.ReportTokens{
		{IssuerURL: "ftp://issuer.example", IssuerName: "i"},
		{IssuerURL: "https://", IssuerName: "i"},
		{IssuerURL: "https://issuer.example"},
		{IssuerURL: "https://issuer.example", IssuerName: "bad\nname"},
		{IssuerURL: "https://issuer.example", IssuerName: string(make([]byte, 256))},
	} {
		c := base()
		c.ReportTokens = &rt
		if err := c.Validate(tax); !errors.Is(err, campaign.ErrInvalid) {
			t.Errorf("%+v: %v, want campaign.ErrInvalid", rt, err)
		}
	}
}

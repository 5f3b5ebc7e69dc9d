package aggregator

import (
	"slices"
	"testing"
	"time"
)

// TestCSVRowsReadAsNumbersPeopleUse: device counts are whole numbers with
// the interval rounded outwards, a threshold row has its share of
// reporters, a mean keeps 4 decimals and no share, a suppressed row has no
// number and no count, and text cells that a spreadsheet would run are
// escaped.
func TestCSVRowsReadAsNumbersPeopleUse(t *testing.T) {
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	base := Segment{Campaign: "runners", Name: "=HYPERLINK(\"x\")", Category: 410, CategoryName: "Running and Jogging",
		Epsilon: 1, Mechanism: "rr", EpochStart: start, EpochEnd: start.Add(24 * time.Hour), ReleasedAt: start.Add(25 * time.Hour)}
	threshold := base
	threshold.Question, threshold.Reports = "threshold", 10000
	threshold.SizeEstimate = &SizeEstimate{Estimate: 1909.8745251812036, CILow: 1021.2, CIHigh: 2798.01}
	mean := base
	mean.Question, mean.Reports, mean.Mean = "mean", 500, &MeanResult{Mean: 0.412345, CILow: 0.38111, CIHigh: 0.44359}
	topk := base
	topk.Question, topk.Reports = "top_k", 200
	topk.TopK = &TopKResult{K: 1, Categories: []CategoryEstimate{{Category: 408, CategoryName: "Fitness and Exercise", Estimate: -3.6, CILow: -20.5, CIHigh: 13.2, Share: -0.018}}}
	suppressed := base
	suppressed.Question, suppressed.Suppressed = "threshold", true

	rows := csvRows([]Segment{threshold, mean, topk, suppressed})
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4", len(rows))
	}
	col := func(row []string, name string) string { return row[slices.Index(csvHeader, name)] }
	for i, want := range []map[string]string{
		{"estimate": "1910", "ci95_low": "1021", "ci95_high": "2799", "share": "0.1910", "reports": "10000", "name": `'=HYPERLINK("x")`},
		{"estimate": "0.4123", "ci95_low": "0.3811", "ci95_high": "0.4436", "share": "", "reports": "500"},
		{"estimate": "-4", "ci95_low": "-21", "ci95_high": "14", "share": "-0.0180", "category": "408", "category_name": "Fitness and Exercise"},
		{"estimate": "", "ci95_low": "", "ci95_high": "", "share": "", "reports": "", "suppressed": "true"},
	} {
		if len(rows[i]) != len(csvHeader) {
			t.Fatalf("row %d has %d cells for %d columns", i, len(rows[i]), len(csvHeader))
		}
		for name, v := range want {
			if got := col(rows[i], name); got != v {
				t.Errorf("row %d %s = %q, want %q", i, name, got, v)
			}
		}
	}
	if col(rows[0], "epoch_start") != "2026-12-01T00:00:00Z" {
		t.Errorf("epoch_start %q", col(rows[0], "epoch_start"))
	}
}

// TestOpenRTBOneObjectPerCampaign: two campaigns on one category give two
// user.data objects, each with the category once; a mean campaign and a
// suppressed one give none.
func TestOpenRTBOneObjectPerCampaign(t *testing.T) {
	seg := func(id string) Segment {
		return Segment{Campaign: id, Name: id, Category: 410, CategoryName: "Running and Jogging", Question: "threshold", Reports: 100,
			SizeEstimate: &SizeEstimate{Estimate: 40, CILow: 20, CIHigh: 60}}
	}
	mean := seg("run-mean")
	mean.SizeEstimate, mean.Mean = nil, &MeanResult{Mean: 0.5}
	hidden := seg("hidden")
	hidden.Suppressed, hidden.SizeEstimate = true, nil
	out := ToOpenRTB([]Segment{seg("runners"), seg("joggers"), mean, hidden})
	if len(out.User.Data) != 2 {
		t.Fatalf("%d data objects, want 2: %+v", len(out.User.Data), out.User.Data)
	}
	for i, want := range []string{"runners", "joggers"} {
		d := out.User.Data[i]
		if d.ID != "wisp:"+want || d.Ext.SegTax != SegTaxAudience11 || len(d.Segment) != 1 || d.Segment[0].ID != "410" || d.Segment[0].Ext.Campaign != want {
			t.Errorf("data %d: %+v", i, d)
		}
	}
}

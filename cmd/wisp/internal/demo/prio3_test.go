package demo_test

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/cmd/wisp/internal/demo"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/prio"
	"github.com/wisp-project/wisp/internal/sqlitedb"
	"github.com/wisp-project/wisp/internal/taxonomy"
)

// storedShare reads an aggregator's one aggregate share of a prio3
// campaign from its SQLite file: the sum of the out shares before any
// noise (the noised copy is a column of its own).
func storedShare(t *testing.T, path string, p prio.Params, camp string) *prio.AggShare {
	t.Helper()
	db, err := sqlitedb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	var share []byte
	if err := db.QueryRow(`SELECT reports, share FROM prio3_aggregates WHERE campaign = ?`, camp).Scan(&n, &share); err != nil {
		t.Fatalf("%s: %s: %v", filepath.Base(path), camp, err)
	}
	a, err := prio.DecodeAggShare(p, uint64(n), share)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestPrio3Population runs the demo in prio3 mode on 80 devices: every
// device through the real device runtime and its real plugin, the prio3
// twins' reports through a real leader and a real helper on 127.0.0.1.
// The two stored aggregate shares of every prio3 campaign unshard to
// exactly the truth the simulation counted from the devices' own
// profiles; every consented device sent exactly one report per campaign,
// null reports of the devices that score nothing counted as zeros; the
// noisy releases lie about their truth within their stated intervals.
func TestPrio3Population(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 80 devices through the device runtime and two aggregators; skipped with -short")
	}
	opts := demo.DefaultOptions()
	opts.Devices, opts.Mode, opts.Dir = 80, demo.ModePrio3, t.TempDir()
	res, err := demo.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	list, err := campaign.ParseList(demo.Campaigns, taxonomy.Default())
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]demo.SegmentOutcome{}
	for _, s := range res.Segments {
		rows[s.Campaign] = append(rows[s.Campaign], s)
		if s.Mode != demo.ModeLDP && s.Mode != demo.ModePrio3 {
			t.Errorf("%s: mode %q in a prio3 run", s.Campaign, s.Mode)
		}
	}
	covered, released, noised := 0, 0, 0
	for _, c := range list {
		if got := rows[c.ID]; len(got) == 0 || got[0].Mode != demo.ModeLDP {
			t.Errorf("%s: LDP rows %+v", c.ID, got)
		}
		id := c.ID + "-p3"
		twin := rows[id]
		if len(twin) == 0 {
			t.Errorf("%s: no prio3 twin", c.ID)
			continue
		}
		p := twinParams(c)
		exact, err := prio.Unshard(p, storedShare(t, filepath.Join(opts.Dir, "aggregator.db"), p, id), storedShare(t, filepath.Join(opts.Dir, "helper.db"), p, id))
		if err != nil {
			t.Fatalf("%s: unshard: %v", id, err)
		}
		if len(exact) != len(twin) {
			t.Fatalf("%s: %d totals for %d rows", id, len(exact), len(twin))
		}
		for i, s := range twin {
			if !strings.HasPrefix(s.Mechanism, "Prio3") {
				t.Errorf("%s: mechanism %q, want the VDAF", id, s.Mechanism)
			}
			if s.Mode != demo.ModePrio3 || s.Reports != opts.Devices || s.BelowK {
				t.Errorf("%s %s: mode %q, %d reports, below k %v: want prio3, one report from each of the %d devices", id, s.CategoryName, s.Mode, s.Reports, s.BelowK, opts.Devices)
			}
			total, truth := float64(exact[i]), s.Truth
			if s.Question == "mean" { // truth is the mean score over every device at the instance's levels
				total /= float64(p.MaxValue()) * float64(opts.Devices)
			}
			if math.Abs(total-truth) > 1e-9 {
				t.Errorf("%s %s: the aggregators' exact total %v, the devices' truth %v", id, s.CategoryName, total, truth)
			}
			if s.Question == "threshold" && (exact[i] <= 0 || exact[i] >= int64(opts.Devices)) {
				t.Errorf("%s: %d of %d devices hold it: want some, and null reports from the rest", id, exact[i], opts.Devices)
			}
			half := (s.CIHigh - s.CILow) / 2
			if !(half > 0) || math.Abs(s.Estimate-s.Truth) > 4*half {
				t.Errorf("%s %s: estimate %v, truth %v, ±%v: noise beyond 4 half-widths", id, s.CategoryName, s.Estimate, s.Truth, half)
			}
			released++
			if s.Covered {
				covered++
			}
			if s.Estimate != s.Truth {
				noised++
			}
		}
	}
	// The exact 95% half-width covers at least 95% per row.
	if float64(covered) < 0.8*float64(released) {
		t.Errorf("%d of %d prio3 intervals cover the truth, want about 95%%", covered, released)
	}
	if noised == 0 {
		t.Errorf("all %d prio3 releases equal their truth: no central noise was added", released)
	}
	if res.ReportsReceived != res.Reports || res.ReportsCarryingMembership != 0 {
		t.Errorf("%d reports received of %d sent, %d carrying membership: want all, and none", res.ReportsReceived, res.Reports, res.ReportsCarryingMembership)
	}
	var text strings.Builder
	demo.WriteText(&text, res, false)
	for _, want := range []string{"LDP beside prio3", "runners", "two sealed secret shares"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text output lacks %q", want)
		}
	}
}

// twinParams is the instance of c's prio3 twin: the question's own
// (docs/PRIO3.md, "Campaign config and wire format").
func twinParams(c campaign.Campaign) prio.Params {
	switch c.Question.Type {
	case campaign.QuestionThreshold:
		return prio.ForThreshold()
	case campaign.QuestionTopK:
		return prio.ForTopK(len(c.Question.Categories), c.Question.K)
	}
	return prio.ForMean(campaign.DefaultMeanBits)
}

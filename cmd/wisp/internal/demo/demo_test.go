package demo_test

import (
	"context"
	"math"
	"testing"

	"github.com/wisp-project/wisp/cmd/wisp/internal/demo"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/taxonomy"
)

func TestDemoCampaignsAreValid(t *testing.T) {
	tx, err := taxonomy.ParseBytes(taxonomy.DefaultTSV())
	if err != nil {
		t.Fatal(err)
	}
	list, err := campaign.ParseList(demo.Campaigns, tx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) < 3 {
		t.Fatalf("demo has %d campaigns, want several", len(list))
	}
}

// TestEndToEnd runs the whole path on a small population: real plugin in the
// real host, sealed reports over real HTTP, real SQLite, estimates read
// back over HTTP.
func TestEndToEnd(t *testing.T) {
	opts := demo.DefaultOptions()
	opts.Devices = 600
	opts.BatchSize = 97 // several uploads per worker, one partial
	progress := 0
	opts.Progress = func(done int) { progress = max(progress, done) }
	opts.Workers = 1 // Progress is then called from one goroutine
	res, err := demo.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if progress != opts.Devices {
		t.Errorf("progress reached %d, want %d", progress, opts.Devices)
	}
	campaigns := map[string]bool{}
	for _, s := range res.Segments {
		campaigns[s.Campaign] = true
	}
	if res.Devices != 600 || res.Reports != 600*len(campaigns) || len(campaigns) < 3 {
		t.Fatalf("result %+v", res)
	}
	questions := map[string]int{}
	for _, s := range res.Segments {
		questions[s.Question]++
		if s.Reports != 600 {
			t.Errorf("%s: %d reports stored, want 600", s.Campaign, s.Reports)
		}
		if s.Mechanism == "" || s.MechanismReason == "" {
			t.Errorf("%s: mechanism %q, reason %q: the output must say which and why", s.Campaign, s.Mechanism, s.MechanismReason)
		}
		switch s.Question {
		case "threshold":
			if s.Truth <= 0 || s.Truth >= 600 {
				t.Errorf("%s: truth %v: the simulated population should have some but not all", s.Campaign, s.Truth)
			}
		case "mean":
			if s.Truth <= 0 || s.Truth >= 1 {
				t.Errorf("%s: mean score %v: want some but not all of the range", s.Campaign, s.Truth)
			}
		case "top_k":
			if s.Category == 0 {
				t.Errorf("%s: a top_k row without its category", s.Campaign)
			}
		}
		// The interval is ±1.96 SE; 4 SE apart would be a 1-in-15,000 event.
		se := (s.CIHigh - s.CILow) / 2 / 1.96
		if !(se > 0) || math.Abs(s.Estimate-s.Truth) > 4*se {
			t.Errorf("%s %d: estimate %.3f is more than 4 SE (%.3f) from the truth %v", s.Campaign, s.Category, s.Estimate, se, s.Truth)
		}
	}
	if questions["threshold"] < 3 || questions["top_k"] < 2 || questions["mean"] != 1 {
		t.Errorf("rows per question type %v: want several thresholds, a top_k histogram and a mean", questions)
	}
}

func TestRejectsBadOptions(t *testing.T) {
	opts := demo.DefaultOptions()
	opts.Devices = 0
	if _, err := demo.Run(context.Background(), opts); err == nil {
		t.Fatal("Run accepted 0 devices")
	}
}

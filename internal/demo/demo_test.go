package demo_test

import (
	"context"
	"math"
	"testing"

	"github.com/wisp-project/wisp/internal/demo"
)

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
	if res.Devices != 600 || res.Reports != 600*len(res.Segments) || len(res.Segments) < 3 {
		t.Fatalf("result %+v", res)
	}
	for _, s := range res.Segments {
		if s.Reports != 600 {
			t.Errorf("%s: %d reports stored, want 600", s.Campaign, s.Reports)
		}
		if s.Truth <= 0 || s.Truth >= 600 {
			t.Errorf("%s: truth %d: the simulated population should have some but not all", s.Campaign, s.Truth)
		}
		// The interval is ±1.96 SE; 4 SE apart would be a 1-in-15,000 event.
		se := (s.CIHigh - s.CILow) / 2 / 1.96
		if math.Abs(s.Estimate-float64(s.Truth)) > 4*se {
			t.Errorf("%s: estimate %.0f is more than 4 SE (%.0f) from the truth %d", s.Campaign, s.Estimate, se, s.Truth)
		}
	}
}

func TestRejectsBadOptions(t *testing.T) {
	opts := demo.DefaultOptions()
	opts.Devices = 0
	if _, err := demo.Run(context.Background(), opts); err == nil {
		t.Fatal("Run accepted 0 devices")
	}
}

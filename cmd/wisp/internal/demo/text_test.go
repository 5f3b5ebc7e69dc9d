package demo_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/cmd/wisp/internal/demo"
)

// TestWriteText: one plain line first, names instead of ids, counts and
// means in their own sections, mechanisms only with verbose.
func TestWriteText(t *testing.T) {
	res := demo.Result{Devices: 3, Reports: 4, ReportsReceived: 4,
		DeviceClasses: []demo.ClassOutcome{{Class: "phone", Devices: 2, Plugin: "store", Language: "C", Reports: 2},
			{Class: "wearable", Devices: 1, Plugin: "fitness", Language: "Go, wasip1", Reports: 2}},
		Segments: []demo.SegmentOutcome{
			{Campaign: "runners", Question: "threshold", Category: 410, CategoryName: "Running and Jogging", Class: "wearable",
				Mechanism: "rr", MechanismReason: "least variance", Epsilon: 1, Truth: 1, Estimate: 2, CILow: -1, CIHigh: 5, Covered: true},
			{Campaign: "running-score", Question: "mean", Category: 410, CategoryName: "Running and Jogging", Class: "wearable",
				Mechanism: "duchi", MechanismReason: "smaller worst case", Epsilon: 1, Truth: 0.25, Estimate: 0.3, CILow: 0.1, CIHigh: 0.5, Covered: true},
			{Campaign: "bakers", Question: "threshold", Category: 372, CategoryName: "Desserts and Baking", Class: "fridge", Epsilon: 1, Truth: 2, BelowK: true}},
		Offers: []demo.OfferOutcome{{Campaign: "running-shoes", Class: "wearable", CategoryName: "Running and Jogging", MinScore: 0.6,
			Moments: 4, Shown: 1, Precision: 1, Recall: 1, SuppressedByThreshold: 1, SuppressedByCap: 1, SuppressedByQuietHours: 1}},
		AisleFour: demo.PushOutcome{Passes: 2, SuppressedByThreshold: 2}}
	var plain, verbose bytes.Buffer
	demo.WriteText(&plain, res, false)
	demo.WriteText(&verbose, res, true)
	out := plain.String()
	first := strings.SplitN(strings.TrimLeft(out, "\n"), "\n", 2)[0]
	if !strings.HasPrefix(first, "Wisp ran 3 simulated devices in 2 households") {
		t.Errorf("first line %q: want what is shown, plainly", first)
	}
	counts, means := strings.Index(out, "\nCounts, in devices"), strings.Index(out, "\nMeans, of the interest score in [0, 1]")
	if counts < 0 || means < counts || strings.Contains(out[counts:means], "running-score") || !strings.Contains(out[means:], "0.300") {
		t.Errorf("counts and means are not in their own sections with units:\n%s", out)
	}
	for _, want := range []string{"Running and Jogging", "running-shoes", "aisle 4 at 9:56 am", "membership: 0", "below k: not released",
		"2 of 2 intervals cover"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, " 410 ") || strings.Contains(out, "least variance") {
		t.Errorf("plain output shows a category id or mechanism details:\n%s", out)
	}
	if !strings.Contains(verbose.String(), "runners: rr (least variance)") {
		t.Errorf("--verbose lacks the mechanism reasons:\n%s", verbose.String())
	}
}

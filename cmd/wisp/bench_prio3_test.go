package main

import (
	"encoding/json"
	"testing"
)

// TestBenchPrio3JSON: --json prints one object whose results carry the
// issue's fields (name, mode, n, epsilon, ci_half_width on the accuracy
// rows, seconds_per_report on the cost rows), both modes.
func TestBenchPrio3JSON(t *testing.T) {
	out := execute(t, "bench", "prio3", "--n", "5000", "--d", "12", "--releases", "500", "--populations", "5", "--cost-time", "10ms", "--json")
	var rep struct {
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not one JSON object (%v):\n%s", err, out)
	}
	modes := map[any]int{}
	for _, r := range rep.Results {
		modes[r["mode"]]++
		if _, ok := r["seconds_per_report"]; ok { // a cost row
			continue
		}
		for _, k := range []string{"name", "mode", "n", "epsilon", "ci_half_width"} {
			if _, ok := r[k]; !ok {
				t.Errorf("row %v has no %q", r, k)
			}
		}
		if r["n"] != 5000.0 || r["epsilon"] != 1.0 {
			t.Errorf("row %v: n or ε not as asked", r)
		}
	}
	if modes["prio3"] != 4+5 || modes["ldp"] != 7+1 {
		t.Errorf("rows per mode %v, want 4 accuracy and 5 cost rows in prio3, 7 and 1 in ldp", modes)
	}
}

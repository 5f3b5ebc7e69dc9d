package main

import (
	"encoding/json"
	"testing"
)

// TestBenchPrio3JSON: --json prints one object whose results carry the
// issue's fields (name, mode, n, epsilon, ci_half_width), both modes.
func TestBenchPrio3JSON(t *testing.T) {
	out := execute(t, "bench", "prio3", "--n", "5000", "--d", "12", "--releases", "500", "--populations", "5", "--json")
	var rep struct {
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not one JSON object (%v):\n%s", err, out)
	}
	modes := map[any]int{}
	for _, r := range rep.Results {
		for _, k := range []string{"name", "mode", "n", "epsilon", "ci_half_width"} {
			if _, ok := r[k]; !ok {
				t.Errorf("row %v has no %q", r, k)
			}
		}
		if r["n"] != 5000.0 || r["epsilon"] != 1.0 {
			t.Errorf("row %v: n or ε not as asked", r)
		}
		modes[r["mode"]]++
	}
	if modes["prio3"] != 4 || modes["ldp"] != 7 {
		t.Errorf("rows per mode %v, want 4 prio3 and 7 ldp", modes)
	}
}

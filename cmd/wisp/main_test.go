package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/internal/ldp/ldpsim"
)

// execute builds a fresh root command and runs it with args.
func execute(t *testing.T, args ...string) string {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		t.Fatalf("wisp %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}

// TestRootCommandTwice builds and runs the root command twice in one
// process with different flags: each run gets its own flags, and nothing
// the first set (--json, --seed, --n, --epsilons) leaks into the second.
func TestRootCommandTwice(t *testing.T) {
	first := execute(t, "bench", "privacy", "--n", "2000", "--d", "16", "--repeats", "2", "--epsilons", "1", "--seed", "5", "--json", "--coverage-trials", "3", "--attack-devices", "10")
	var rep ldpsim.Report
	if err := json.Unmarshal([]byte(first), &rep); err != nil {
		t.Fatalf("bench privacy --json printed no JSON (%v):\n%s", err, first)
	}
	if c := rep.Config; c.N != 2000 || c.D != 16 || c.Seed != 5 || len(c.Epsilons) != 1 || c.Epsilons[0] != 1 || len(rep.Results) == 0 {
		t.Fatalf("first run: config %+v, %d results", c, len(rep.Results))
	}
	for _, r := range rep.Results {
		if r.Epsilon != 1 {
			t.Errorf("first run: a row at ε = %g, want only ε = 1", r.Epsilon)
		}
	}
	// The coverage section (issue 14): one cell per mechanism × ε × n ×
	// true value, with the keys the issue names.
	var cov struct {
		Coverage []map[string]any `json:"coverage"`
	}
	if err := json.Unmarshal([]byte(first), &cov); err != nil || len(cov.Coverage) != 420 {
		t.Fatalf("first run: %d coverage cells (%v), want 420", len(cov.Coverage), err)
	}
	for _, k := range []string{"mechanism", "epsilon", "n", "true_value", "coverage"} {
		if _, ok := cov.Coverage[0][k]; !ok {
			t.Errorf("coverage cell %v lacks %q", cov.Coverage[0], k)
		}
	}
	// The attacks section (issue 14): the four lifetime attacks.
	var att struct {
		Attacks []map[string]any `json:"attacks"`
	}
	if err := json.Unmarshal([]byte(first), &att); err != nil || len(att.Attacks) != 4 {
		t.Fatalf("first run: %d attacks (%v), want 4", len(att.Attacks), err)
	}
	for _, k := range []string{"attack", "attacker_success", "bound"} {
		if _, ok := att.Attacks[0][k]; !ok {
			t.Errorf("attack %v lacks %q", att.Attacks[0], k)
		}
	}

	second := execute(t, "bench", "privacy", "--n", "3000", "--d", "16", "--repeats", "2", "--epsilons", "2", "--coverage-trials", "0", "--attack-devices", "0")
	if json.Valid([]byte(second)) {
		t.Fatalf("second run (no --json) printed JSON:\n%s", second)
	}
	// The default seed (2026), not the first run's 5; ε = 2 rows only.
	want := "n = 3000 devices, d = 16, Zipf s = 1, one population randomized 2 times per row, seed 2026\n"
	if !strings.HasPrefix(second, want) || !strings.Contains(second, "\n  2 ") || strings.Contains(second, "\n  1 ") || strings.Contains(second, "coverage") {
		t.Fatalf("second run printed:\n%s\nwant it to start %q with ε = 2 rows only", second, want)
	}
}

package privacy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/cmd/wisp/internal/bench/privacy"
)

func TestParseEpsilons(t *testing.T) {
	got, err := privacy.ParseEpsilons("0.5, 1,4")
	if err != nil || !slices.Equal(got, []float64{0.5, 1, 4}) {
		t.Fatalf("ParseEpsilons = %v, %v", got, err)
	}
	for _, bad := range []string{"", "1,,2", "0", "-1", "x"} {
		if _, err := privacy.ParseEpsilons(bad); err == nil {
			t.Errorf("ParseEpsilons(%q) accepted", bad)
		}
	}
}

// TestRunSmall runs a tiny simulation with a plot: the plumbing, not the
// figures.
func TestRunSmall(t *testing.T) {
	opts := privacy.DefaultOptions()
	opts.N, opts.D, opts.Repeats, opts.MeanGroups, opts.Epsilons = 2000, 16, 2, 10, "1"
	opts.Plot = filepath.Join(t.TempDir(), "plot.png")
	opts.AttackDevices = 20
	opts.CoverageTrials, opts.CoverageTrialsLarge = 5, 2
	rep, err := privacy.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Coverage) != 420 {
		t.Fatalf("%d coverage cells, want 420", len(rep.Coverage))
	}
	for _, c := range rep.Coverage {
		if want := map[bool]int{true: 2, false: 5}[c.N >= 10_000]; c.Trials != want {
			t.Fatalf("cell %+v: %d trials, want %d", c, c.Trials, want)
		}
	}
	if len(rep.Results) == 0 || rep.Config.N != 2000 {
		t.Fatalf("report %+v", rep)
	}
	if b, err := os.ReadFile(opts.Plot); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatalf("plot: %v", err)
	}
	var out bytes.Buffer
	privacy.WriteText(&out, rep)
	if !strings.Contains(out.String(), "n = 2000 devices, d = 16") ||
		!strings.Contains(out.String(), "lifetime attacks on one device (default budgets; 20 simulated devices each):\n  same-question-100-ids  attacker success") {
		t.Errorf("text:\n%s", out.String())
	}
	b, _ := json.Marshal(rep)
	var back struct {
		Attacks []struct {
			Attack          string   `json:"attack"`
			AttackerSuccess *float64 `json:"attacker_success"`
			Bound           *float64 `json:"bound"`
		} `json:"attacks"`
	}
	if err := json.Unmarshal(b, &back); err != nil || len(back.Attacks) != 4 {
		t.Fatalf("attacks in JSON: %s (%v)", b, err)
	}
	for _, a := range back.Attacks {
		if a.Attack == "" || a.AttackerSuccess == nil || a.Bound == nil || *a.AttackerSuccess > 1 || !(*a.Bound > 0) {
			t.Errorf("attack item %+v", a)
		}
	}
}

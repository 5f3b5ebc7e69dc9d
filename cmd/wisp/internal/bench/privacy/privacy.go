// Package privacy runs `wisp bench privacy`: the LDP mechanisms' accuracy
// on simulated populations (internal/ldp/ldpsim), an optional PNG plot of
// it, and the table the command prints.
package privacy

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/wisp-project/wisp/host/attack"
	"github.com/wisp-project/wisp/internal/ldp/ldpsim"
)

// Options are a run's settings: the simulation's, and the command's own.
type Options struct {
	ldpsim.Config
	// Quick runs 100,000 devices and 6 repeats whatever Config says.
	Quick bool
	// Epsilons is the comma-separated list of ε values to simulate; it
	// replaces Config.Epsilons.
	Epsilons string
	// Plot, if set, is where to write a PNG plot of error vs ε.
	Plot string
	// CoverageTrials is how many populations measure each cell of the
	// interval-coverage grid (a fifth of it at n = 10⁴); 0 skips the grid.
	CoverageTrials int
	// CoverageTrialsLarge, if positive, replaces the fifth at n = 10⁴.
	CoverageTrialsLarge int
	// AttackDevices is how many simulated devices each lifetime attack
	// (host/attack) runs on; 0 skips them.
	AttackDevices int
}

// CoverageNs and CoverageEpsilons span the coverage grid (issue 14, item
// 9): small populations, where intervals are hardest to get right, up to
// 10⁴, and ε up to 8.
var (
	CoverageNs       = []int{50, 100, 1000, 10_000}
	CoverageEpsilons = []float64{0.5, 1, 2, 4, 8}
)

// Report is the simulation's report and, when measured, the coverage of
// nominal 95% intervals, worst cell first.
type Report struct {
	ldpsim.Report
	Coverage []ldpsim.CoverageCell `json:"coverage,omitempty"`
	// Attacks are the lifetime attacks of an operator who defines every
	// campaign (host/attack), with host's default budgets.
	Attacks []attack.Result `json:"attacks,omitempty"`
}

// DefaultOptions is the full benchmark: ldpsim.DefaultConfig at ε = 0.5, 1,
// 2 and 4, the coverage grid at 300 populations per cell, and the
// lifetime attacks on 2,000 devices each.
func DefaultOptions() Options {
	return Options{Config: ldpsim.DefaultConfig(), Epsilons: "0.5,1,2,4", CoverageTrials: 300,
		AttackDevices: attack.DefaultConfig().Devices}
}

// Run simulates the populations (and writes the plot if asked).
func Run(ctx context.Context, opts Options) (Report, error) {
	cfg := opts.Config
	if opts.Quick {
		cfg.N, cfg.Repeats = 100_000, 6
	}
	eps, err := ParseEpsilons(opts.Epsilons)
	if err != nil {
		return Report{}, err
	}
	cfg.Epsilons = eps
	sim, err := ldpsim.Run(ctx, cfg)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Report: sim}
	if opts.CoverageTrials > 0 {
		trials := func(n int) int {
			switch {
			case n >= 10_000 && opts.CoverageTrialsLarge > 0:
				return opts.CoverageTrialsLarge
			case n >= 10_000:
				return max(1, opts.CoverageTrials/5)
			}
			return opts.CoverageTrials
		}
		if rep.Coverage, err = ldpsim.CoverageGrid(ctx, CoverageNs, CoverageEpsilons, trials, cfg.Seed); err != nil {
			return Report{}, err
		}
	}
	if opts.AttackDevices > 0 {
		ac := attack.DefaultConfig()
		ac.Devices, ac.Seed = opts.AttackDevices, cfg.Seed
		if rep.Attacks, err = attack.Run(ctx, ac); err != nil {
			return Report{}, err
		}
	}
	if opts.Plot != "" {
		f, err := os.Create(opts.Plot)
		if err != nil {
			return Report{}, err
		}
		if err := ldpsim.PlotPNG(f, rep.Report); err != nil {
			f.Close()
			return Report{}, err
		}
		if err := f.Close(); err != nil {
			return Report{}, err
		}
	}
	return rep, nil
}

// ParseEpsilons reads a comma-separated list of positive ε values.
func ParseEpsilons(s string) ([]float64, error) {
	var out []float64
	for _, part := range strings.Split(s, ",") {
		e, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
		if err != nil || !(e > 0) {
			return nil, fmt.Errorf("bad ε %q in --epsilons", part)
		}
		out = append(out, e)
	}
	return out, nil
}

// WriteText prints rep as `wisp bench privacy` does: the table, then
// whether each automatic choice was the best measured, and why.
func WriteText(w io.Writer, rep Report) {
	c := rep.Config
	fmt.Fprintf(w, "n = %d devices, d = %d, Zipf s = %g, one population randomized %d times per row, seed %d\n\n", c.N, c.D, c.Zipf, c.Repeats, c.Seed)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "ε\tmechanism\tkind\tbytes\tMSE\ttheory\tratio\t±se\tdecode s\tchosen\t")
	for _, r := range rep.Results {
		chosen := ""
		if r.Chosen {
			chosen = "*"
		}
		fmt.Fprintf(tw, "%g\t%s\t%s\t%d\t%.4g\t%.4g\t%.3f\t%.3f\t%.3f\t%s\t\n",
			r.Epsilon, r.Mechanism, r.Kind, r.ReportBytes, r.MSE, r.TheoryVariance, r.RatioToTheory, r.RatioSE, r.DecodeSeconds, chosen)
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, ch := range rep.Choices {
		verdict := "best measured"
		switch {
		case !ch.Strict && ch.WithinNoise:
			verdict = "within noise of best measured (" + ch.BestMeasured + ")"
		case !ch.WithinNoise:
			verdict = "NOT the best measured (" + ch.BestMeasured + ")"
		}
		fmt.Fprintf(w, "%-9s ε=%-3g chose %-9s %s — %s\n", ch.Kind, ch.Epsilon, ch.Chosen, verdict, ch.Reason)
		fmt.Fprintf(w, "          rule: %s\n", ch.Rule)
	}
	if len(rep.Coverage) > 0 {
		fmt.Fprintf(w, "\ncoverage of nominal 95%% intervals over %d cells (n × ε × mechanism × true value); worst:\n", len(rep.Coverage))
		for _, c := range rep.Coverage[:min(5, len(rep.Coverage))] {
			fmt.Fprintf(w, "  %.3f  %-9s ε=%-3g n=%-5d true value %g (%d populations)\n", c.Coverage, c.Mechanism, c.Epsilon, c.N, c.TrueValue, c.Trials)
		}
	}
	if len(rep.Attacks) > 0 {
		fmt.Fprintf(w, "\nlifetime attacks on one device (default budgets; %d simulated devices each):\n", rep.Attacks[0].Devices)
		for _, a := range rep.Attacks {
			fmt.Fprintf(w, "  %-22s attacker success %.3f, bound %.3g (long-term ε %g); %d answers, %d refused; fresh randomizations per device median %g, max %d",
				a.Attack, a.AttackerSuccess, a.Bound, a.Epsilon, a.Answers, a.Refused, a.FreshMedian, a.FreshMax)
			if a.MedianError > 0 {
				fmt.Fprintf(w, "; median error %.3f", a.MedianError)
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintf(w, "\n%.1f s\n", rep.Seconds)
}

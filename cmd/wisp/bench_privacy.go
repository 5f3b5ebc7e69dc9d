package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wisp-project/wisp/internal/ldp/ldpsim"
)

func init() {
	cfg := ldpsim.DefaultConfig()
	var (
		asJSON, quick bool
		epsilons      string
		plot          string
	)
	cmd := &cobra.Command{
		Use:   "privacy",
		Short: "Accuracy of the LDP mechanisms on simulated populations (MSE vs theory, decode time, report size)",
		Long: `privacy simulates seeded populations (default 1,000,000 devices, d = 497 Interest
categories, Zipf prevalence) and, for each ε and each mechanism (GRR, OUE, OLH,
Hadamard, a RAPPOR-style Bloom-filter baseline, padding-and-sampling for top-k
sets, and the Duchi and piecewise mean mechanisms), reports the measured mean
squared error against the exact theoretical variance, the median time to decode
n answers, the answer size, and whether the automatic choice (ldp.Choose) was
the best measured. --quick runs 100,000 devices in a few seconds.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if quick {
				cfg.N, cfg.Repeats = 100_000, 6
			}
			eps, err := parseEpsilons(epsilons)
			if err != nil {
				return err
			}
			cfg.Epsilons = eps
			bar := newProgressBar(len(eps)*8*cfg.Repeats, "simulating populations")
			cfg.Progress = func(done, total int) { bar.ChangeMax(total); bar.Set(done) }
			rep, err := ldpsim.Run(cmd.Context(), cfg)
			bar.Finish()
			if err != nil {
				return err
			}
			if plot != "" {
				f, err := os.Create(plot)
				if err != nil {
					return err
				}
				if err := ldpsim.PlotPNG(f, rep); err != nil {
					f.Close()
					return err
				}
				if err := f.Close(); err != nil {
					return err
				}
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), rep)
			}
			printPrivacyBench(cmd.OutOrStdout(), rep)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.N, "n", cfg.N, "devices per simulated population")
	f.IntVar(&cfg.D, "d", cfg.D, "domain size (497 = IAB Interest subtree)")
	f.IntVar(&cfg.L, "set-size", cfg.L, "items per device for the set-valued (top-k) rows")
	f.IntVar(&cfg.Repeats, "repeats", cfg.Repeats, "independent populations per row")
	f.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the simulation")
	f.IntVar(&cfg.Workers, "workers", cfg.Workers, "populations simulated in parallel")
	f.StringVar(&epsilons, "epsilons", "0.5,1,2,4", "comma-separated ε values")
	f.BoolVar(&quick, "quick", false, "100,000 devices and 6 repeats: seconds instead of minutes")
	f.BoolVar(&asJSON, "json", false, "print one JSON object with a results array")
	f.StringVar(&plot, "plot", "", "also write a PNG plot of error vs ε per mechanism to this file")
	benchCmd.AddCommand(cmd)
}

func parseEpsilons(s string) ([]float64, error) {
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

func printPrivacyBench(w io.Writer, rep ldpsim.Report) {
	c := rep.Config
	fmt.Fprintf(w, "n = %d devices, d = %d, Zipf s = %g, %d populations per row, seed %d\n\n", c.N, c.D, c.Zipf, c.Repeats, c.Seed)
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
	fmt.Fprintf(w, "\n%.1f s\n", rep.Seconds)
}

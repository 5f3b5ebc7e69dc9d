package main

import (
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/wisp-project/wisp/cmd/wisp/internal/bench/privacy"
)

// newBenchPrivacyCmd is wisp bench privacy.
func newBenchPrivacyCmd() *cobra.Command {
	opts := privacy.DefaultOptions()
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "privacy",
		Short: "Accuracy of the LDP mechanisms on simulated populations (MSE vs theory, decode time, report size)",
		Long: `privacy simulates a seeded population (default 1,000,000 devices, d = 497 Interest
categories, Zipf prevalence) and, for each ε and each mechanism (GRR, OUE, OLH,
Hadamard, a RAPPOR-style Bloom-filter baseline, padding-and-sampling for top-k
sets, and the Duchi and piecewise mean mechanisms), reports the measured mean
squared error against the closed-form theoretical variance (exact but for piecewise, an upper bound), the median time to decode
n answers, the answer size, and whether the automatic choice (ldp.Choose) was
the best measured. --quick runs 100,000 devices in a few seconds.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var bar *progressbar.ProgressBar
			opts.Progress = func(done, total int) {
				if bar == nil {
					bar = newProgressBar(total, "simulating populations")
				}
				bar.ChangeMax(total)
				bar.Set(done)
			}
			rep, err := privacy.Run(cmd.Context(), opts)
			if bar != nil {
				bar.Finish()
			}
			if err != nil {
				return err
			}
			return printReport(cmd.OutOrStdout(), asJSON, rep, privacy.WriteText)
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.N, "n", opts.N, "devices per simulated population")
	f.IntVar(&opts.D, "d", opts.D, "domain size (497 = IAB Interest subtree)")
	f.IntVar(&opts.L, "set-size", opts.L, "items per device for the set-valued (top-k) rows")
	f.IntVar(&opts.Repeats, "repeats", opts.Repeats, "independent randomizations of the one seeded population per row")
	f.Uint64Var(&opts.Seed, "seed", opts.Seed, "seed of the simulation")
	f.IntVar(&opts.Workers, "workers", opts.Workers, "populations simulated in parallel")
	f.StringVar(&opts.Epsilons, "epsilons", opts.Epsilons, "comma-separated ε values")
	f.BoolVar(&opts.Quick, "quick", false, "100,000 devices and 6 repeats: seconds instead of minutes")
	f.BoolVar(&asJSON, "json", false, "print one JSON object with a results array")
	f.StringVar(&opts.Plot, "plot", "", "also write a PNG plot of error vs ε per mechanism to this file")
	f.IntVar(&opts.CoverageTrials, "coverage-trials", opts.CoverageTrials, "populations per cell of the 95%-interval coverage grid (a fifth at n = 10⁴); 0 skips it")
	f.IntVar(&opts.CoverageTrialsLarge, "coverage-trials-large", 0, "populations per cell at n = 10⁴ (default: a fifth of --coverage-trials)")
	f.IntVar(&opts.AttackDevices, "attack-devices", opts.AttackDevices, "simulated devices per lifetime attack (an operator defining every campaign); 0 skips them")
	return cmd
}

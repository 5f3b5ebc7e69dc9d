package main

import (
	"github.com/spf13/cobra"

	"github.com/wisp-project/wisp/cmd/wisp/internal/bench/prio3"
)

// newBenchPrio3Cmd is wisp bench prio3.
func newBenchPrio3Cmd() *cobra.Command {
	opts := prio3.DefaultOptions()
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "prio3",
		Short: "Two-aggregator Prio3 vs the best local DP: 95% intervals, device cost and report size",
		Long: `prio3 compares, at one ε and population size (default ε = 1, 1,000,000 devices),
the 95% interval half-width of a segment estimate answered in prio3 mode (the
true answer secret-shared between two aggregators, each adding discrete
Laplace noise to its aggregate share) and in local-DP mode (randomized
response, padding-and-sampling with the least-variance oracle, Duchi or
piecewise for a mean), one layer and two layers as Wisp's LDP campaigns
answer. The figures come from the exact variances; each prio3 row is checked
over seeded releases through the aggregators' noise and unsharding code, and
the randomized-response row over simulated populations (the other LDP
mechanisms are checked by wisp bench privacy). It then measures a device's
cost per report (CPU and wall time of shard + two seals, randomize + seal for
LDP) and the report's size, per instance. --plot FILE.png draws the segment
count's 95% half-width against n, 10² to 10⁸ devices, prio3 beside LDP.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := prio3.Run(cmd.Context(), opts)
			if err != nil {
				return err
			}
			return printReport(cmd.OutOrStdout(), asJSON, rep, prio3.WriteText)
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.N, "n", opts.N, "devices")
	f.Float64Var(&opts.Epsilon, "epsilon", opts.Epsilon, "ε per release (prio3) and per report (LDP)")
	f.Float64Var(&opts.Share, "share", opts.Share, "the segment's share of the devices (LDP variances depend on it)")
	f.IntVar(&opts.D, "d", opts.D, "categories of the one-of-d and top-k rows (497 = IAB Interest subtree)")
	f.IntVar(&opts.Releases, "releases", opts.Releases, "seeded noised releases checking each prio3 row (0 skips)")
	f.IntVar(&opts.Populations, "populations", opts.Populations, "simulated populations checking the randomized-response row (0 skips)")
	f.Uint64Var(&opts.Seed, "seed", opts.Seed, "seed of the checks")
	f.DurationVar(&opts.CostTime, "cost-time", opts.CostTime, "how long each device-cost row runs (0 skips them)")
	f.StringVar(&opts.Plot, "plot", "", "also write a PNG plot of the segment count's 95% half-width vs n (prio3 and LDP, log-log) to this file")
	f.BoolVar(&asJSON, "json", false, "print one JSON object with a results array")
	return cmd
}

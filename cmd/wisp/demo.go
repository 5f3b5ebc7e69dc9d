package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wisp-project/wisp/cmd/wisp/internal/demo"
)

func init() {
	opts := demo.DefaultOptions()
	var asJSON, serve bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run Wisp end to end on simulated wearables and compare estimates with the truth",
		Long: `demo starts an aggregator on a free 127.0.0.1 port, simulates a population of
wearables that each run the real fitness plugin in the real sandbox, answers the
demo campaigns (thresholds, a top-3 histogram, a mean) with ε-LDP mechanisms, sends HPKE-sealed reports over
HTTP, and prints each segment's true size beside its estimate and 95% interval.
With --serve the aggregator and its marketer dashboard keep running afterwards
so you can open the dashboard and look at the segments.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bar := newProgressBar(opts.Devices, "simulating devices")
			opts.Progress = func(int) { bar.Add(1) }
			show := func(res demo.Result) error {
				if asJSON {
					return printJSON(cmd.OutOrStdout(), res)
				}
				printDemo(cmd.OutOrStdout(), res)
				return nil
			}
			ctx := cmd.Context()
			if serve {
				var stop context.CancelFunc
				ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
				defer stop()
				opts.Serve = func(ctx context.Context, res demo.Result, s demo.Serving) error {
					bar.Finish()
					if err := show(res); err != nil {
						return err
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "\nThe demo's aggregator keeps running; press Ctrl-C to stop it.\n"+
						"  dashboard: %s\n  token:     %s   (operator: sees every tenant)\n  API:       %s\n",
						s.DashboardURL, s.Token, s.URL)
					<-ctx.Done()
					return nil
				}
			}
			res, err := demo.Run(ctx, opts)
			bar.Finish()
			if err != nil || serve {
				return err
			}
			return show(res)
		},
	}
	cmd.Flags().IntVar(&opts.Devices, "devices", opts.Devices, "number of simulated devices")
	cmd.Flags().Uint64Var(&opts.Seed, "seed", opts.Seed, "seed of the simulated population (device noise is always truly random)")
	cmd.Flags().IntVar(&opts.Workers, "workers", opts.Workers, "devices simulated in parallel")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as one JSON object")
	cmd.Flags().BoolVar(&serve, "serve", false, "keep the aggregator and its dashboard running after the simulation (until Ctrl-C); prints the URL and a token")
	commands = append(commands, cmd)
}

func printDemo(w io.Writer, res demo.Result) {
	fmt.Fprintf(w, "\n%d devices, %d sealed reports, %.1f s\n\n", res.Devices, res.Reports, res.ElapsedSeconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "campaign\tcategory\tmechanism\tε\ttruth\testimate\t95% CI\tcovered\t")
	covered := 0
	mechanisms := map[string]string{}
	var order []string
	for _, s := range res.Segments {
		mark := "no"
		if s.Covered {
			mark, covered = "yes", covered+1
		}
		if _, ok := mechanisms[s.Campaign]; !ok {
			order = append(order, s.Campaign)
		}
		mechanisms[s.Campaign] = s.MechanismReason
		num := "%.0f"
		if s.Question == "mean" {
			num = "%.3f"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%.1f\t"+num+"\t"+num+"\t["+num+", "+num+"]\t%s\t\n",
			s.Campaign, s.Category, s.Mechanism, s.Epsilon, s.Truth, s.Estimate, s.CILow, s.CIHigh, mark)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d of %d intervals cover the truth (95%% intervals: expect about 19 in 20).\n", covered, len(res.Segments))
	fmt.Fprintln(w, "top_k rows: devices holding the category among their top k; mean rows: mean score in [0, 1].")
	fmt.Fprintf(w, "device pipeline: %.0f µs per report (score, randomize, encode, seal); ingest: %.0f reports/s per connection.\n",
		res.DevicePipelineMicros, res.IngestPerConnection)
	fmt.Fprintln(w, "\nmechanisms:")
	for _, id := range order {
		fmt.Fprintf(w, "  %s: %s\n", id, mechanisms[id])
	}
}

package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/wisp-project/wisp/cmd/wisp/internal/demo"
)

// newDemoCmd is wisp demo.
func newDemoCmd() *cobra.Command {
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
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Devices < 1 {
				return fmt.Errorf("--devices wants at least 1 device, not %d; e.g. wisp demo --devices 1000", opts.Devices)
			}
			if opts.Workers < 1 {
				return fmt.Errorf("--workers wants at least 1, not %d; e.g. wisp demo --workers 4", opts.Workers)
			}
			bar := newProgressBar(opts.Devices, "simulating devices")
			opts.Progress = func(int) { bar.Add(1) }
			show := func(res demo.Result) error {
				if asJSON {
					return printJSON(cmd.OutOrStdout(), res)
				}
				demo.WriteText(cmd.OutOrStdout(), res)
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
	return cmd
}

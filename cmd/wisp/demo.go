package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/wisp-project/wisp/cmd/wisp/internal/demo"
)

// newDemoCmd is wisp demo.
func newDemoCmd() *cobra.Command {
	opts := demo.DefaultOptions()
	var asJSON, serve, verbose bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run Wisp end to end on simulated households and compare estimates and offers with the truth",
		Long: `demo starts an aggregator on a free 127.0.0.1 port and simulates households of
smart devices (phones passing in-store beacons, wearables, TVs, smart speakers,
fridges, cars). Each device runs its real plugin in the real device runtime:
the owner's consent, local scoring, the privacy ledger, sealed ε-LDP reports
over HTTP, and offers picked on the device from a signed catalogue (relevance
threshold, frequency caps, quiet hours). It prints each segment's true size
beside its estimate and 95% interval, and how well the offers matched the
owners' hidden interests. --verbose adds why each campaign got its mechanism.
--mode prio3 also starts a prio3 helper beside the aggregator (now the leader)
and asks every question a second time as a two-aggregator campaign (Prio3
secret shares, central noise): the same devices' LDP and prio3 estimates are
printed side by side.
With --serve the aggregator and its marketer dashboard keep running afterwards
so you can open the dashboard and look at the segments.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Devices < 1 {
				return fmt.Errorf("--devices wants at least 1 device, not %d; e.g. wisp demo --devices 1000", opts.Devices)
			}
			if opts.Mode != demo.ModeLDP && opts.Mode != demo.ModePrio3 {
				return fmt.Errorf("--mode wants %s or %s, not %q; e.g. wisp demo --mode prio3", demo.ModeLDP, demo.ModePrio3, opts.Mode)
			}
			if opts.Workers < 1 {
				return fmt.Errorf("--workers wants at least 1, not %d; e.g. wisp demo --workers 4", opts.Workers)
			}
			bars := newPhaseBars()
			opts.Progress = bars.set
			show := func(res demo.Result) error {
				if asJSON {
					return printJSON(cmd.OutOrStdout(), res)
				}
				demo.WriteText(cmd.OutOrStdout(), res, verbose)
				return nil
			}
			ctx := cmd.Context()
			if serve {
				var stop context.CancelFunc
				ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
				defer stop()
				opts.Serve = func(ctx context.Context, res demo.Result, s demo.Serving) error {
					bars.finish()
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
			bars.finish()
			if err != nil || serve {
				return err
			}
			return show(res)
		},
	}
	cmd.Flags().IntVar(&opts.Devices, "devices", opts.Devices, "number of simulated devices")
	cmd.Flags().Uint64Var(&opts.Seed, "seed", opts.Seed, "seed of the simulated population (device noise is always truly random)")
	cmd.Flags().StringVar(&opts.Mode, "mode", demo.ModeLDP, "ldp, or prio3: also ask every question through a prio3 leader and helper, and compare")
	cmd.Flags().IntVar(&opts.Workers, "workers", opts.Workers, "devices simulated in parallel")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as one JSON object")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "also print why each campaign got its mechanism, and the per-report costs")
	cmd.Flags().BoolVar(&serve, "serve", false, "keep the aggregator and its dashboard running after the simulation (until Ctrl-C); prints the URL and a token")
	return cmd
}

// phaseBars draws one progress bar per phase of a demo run, the current
// one replacing the last. Progress arrives from several goroutines.
type phaseBars struct {
	mu    sync.Mutex
	phase demo.Phase
	bar   *progressbar.ProgressBar
}

func newPhaseBars() *phaseBars { return &phaseBars{} }

func (b *phaseBars) set(phase demo.Phase, done, total int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if phase != b.phase {
		if b.bar != nil {
			b.bar.Finish()
		}
		b.phase, b.bar = phase, newProgressBar(total, string(phase))
	}
	b.bar.Set(done)
}

func (b *phaseBars) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bar != nil {
		b.bar.Finish()
	}
}

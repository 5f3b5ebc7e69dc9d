package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/wisp-project/wisp/host"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// newDeviceRunCmd is wisp device run.
func newDeviceRunCmd(f *deviceFlags) *cobra.Command {
	var flush, loop, verbose bool
	var every time.Duration
	run := &cobra.Command{
		Use:   "run",
		Short: "Run the scheduler: score new events, answer consented campaigns, send due reports",
		Long: `run performs one scheduler pass (or, with --loop, one every --every until
interrupted): delete events past retention, run plugins on new events, refresh
campaigns from the aggregator, answer each consented campaign once per epoch
(spending the privacy budget first), and send reports whose random delay has
passed, retrying with backoff when the aggregator is unreachable. --flush also
sends reports still inside their random delay (for trying Wisp out).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if verbose {
				f.pluginLog = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelDebug}))
			}
			return f.withDevice(cmd, func(_ context.Context, d *host.Device) error {
				pass := d.RunOnce
				if flush {
					pass = d.Flush
				}
				// A shell user expects the aggregator's latest campaigns.
				syncErr := d.Sync(ctx)
				if syncErr != nil && !unreachable(syncErr) {
					fmt.Fprintln(cmd.ErrOrStderr(), "wisp: device run: campaigns not refreshed:", syncErr)
				}
				for {
					sum, err := pass(ctx)
					if unreachable(err) || (err == nil && unreachable(syncErr)) {
						// Deferring is the designed behaviour, not a failure:
						// one plain line, and the run succeeds.
						fmt.Fprintf(cmd.OutOrStdout(), "%s: the aggregator at %s could not be reached; %d reports wait on this device and will be sent at a later run (scored %d plugins, answered %d campaigns)\n",
							time.Now().Format(time.TimeOnly), d.AggregatorURL(), sum.Remaining, sum.PluginsScored, sum.Answered)
						err = nil
					} else {
						fmt.Fprintf(cmd.OutOrStdout(), "%s: scored %d plugins, answered %d campaigns, sent %d reports, %d rejected, %d deferred, %d queued, %d old events deleted\n",
							time.Now().Format(time.TimeOnly), sum.PluginsScored, sum.Answered, sum.Sent, sum.Rejected, sum.Deferred, sum.Remaining, sum.EventsExpired)
					}
					if paused, _, perr := d.SharingPaused(ctx); perr == nil && paused {
						fmt.Fprintf(cmd.OutOrStdout(), "sharing is paused: nothing was fetched, answered or sent (%s resumes it)\n", f.hint(cmd, "sharing resume"))
					}
					if err != nil {
						fmt.Fprintln(cmd.ErrOrStderr(), "wisp: device run:", err)
					}
					syncErr = nil
					if !loop {
						return err
					}
					select {
					case <-ctx.Done():
						return nil
					case <-time.After(every):
					}
				}
			})
		},
	}
	run.Flags().BoolVarP(&verbose, "verbose", "v", false, "show the plugins' wisp.log lines (on stderr)")
	run.Flags().BoolVar(&flush, "flush", false, "send queued reports now, ignoring their random send delay")
	run.Flags().BoolVar(&loop, "loop", false, "keep running, one pass every --every")
	durationVar(run.Flags(), &every, "every", time.Minute, "time between passes with --loop")
	return run
}

// newDeviceStatusCmd is wisp device status.
func newDeviceStatusCmd(f *deviceFlags) *cobra.Command {
	var asJSON bool
	status := &cobra.Command{
		Use:   "status",
		Short: "Show the owner's view: plugins, interests, campaigns answered, budget, queued and sent reports, consent",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.withDevice(cmd, func(ctx context.Context, d *host.Device) error {
				st, err := d.Status(ctx)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(cmd.OutOrStdout(), st)
				}
				if err := st.WriteText(cmd.OutOrStdout()); err != nil {
					return err
				}
				return f.writeStatusFooter(cmd)
			})
		},
	}
	status.Flags().BoolVar(&asJSON, "json", false, "print the status as one JSON object")
	return status
}

// writeStatusFooter ends the owner's status with what ε means (once, in
// plain words) and how to stop.
func (f *deviceFlags) writeStatusFooter(cmd *cobra.Command) error {
	fmt.Fprintf(cmd.OutOrStdout(), `
What ε means: ε (epsilon) measures how much answers can reveal about you. Every
answer is randomized and spends some ε; the more ε spent on a topic, the more
all the answers together could tell about it. When a budget is used up, this
device stops answering. Smaller is more private.

To stop sharing at once:              %s
To erase everything derived from you: %s
To see and change all this in a browser: %s
`, f.hint(cmd, "consent revoke --all"), f.hint(cmd, "forget --all"), f.hint(cmd, "serve"))
	return nil
}

// unreachable reports whether err means the aggregator could not be
// reached or turned the device away for load: the outbox keeps the
// reports and retries, as designed.
func unreachable(err error) bool {
	var ue *url.Error
	return err != nil && (errors.As(err, &ue) || errors.Is(err, host.ErrBusy))
}

// newDeviceForgetCmd is wisp device forget.
func newDeviceForgetCmd(f *deviceFlags) *cobra.Command {
	var all bool
	forget := &cobra.Command{
		ValidArgsFunction: completeOnce(f.completeDevice(pluginNames)),
		Use:               "forget [plugin]",
		Example:           "  wisp device forget fitness",
		Short:             "Erase one plugin's data, or (--all) everything derived from the owner, and show the proof",
		Args:              maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == all {
				return fmt.Errorf("name one plugin, or pass --all")
			}
			plugin := ""
			if len(args) == 1 {
				plugin = args[0]
			}
			return f.withDevice(cmd, func(ctx context.Context, d *host.Device) error {
				before, err := d.Status(ctx)
				if err != nil {
					return err
				}
				if err := d.Forget(ctx, plugin); err != nil {
					return err
				}
				after, err := d.Status(ctx)
				if err != nil {
					return err
				}
				what := "everything"
				if plugin != "" {
					what = plugin + "'s data"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "forgot %s. Rows held on this device, before → after:\n", what)
				for _, t := range []string{"events", "profile", "outbox", "answers", "impressions", "memo"} {
					fmt.Fprintf(cmd.OutOrStdout(), "  %-12s %5d → %d\n", t, before.Stored[t], after.Stored[t])
				}
				fmt.Fprintln(cmd.OutOrStdout(), "Kept: installed plugins, your consent history, the privacy ledger and the log of reports that already left.")
				return nil
			})
		},
	}
	forget.Flags().BoolVar(&all, "all", false, "erase everything derived from the owner")
	return forget
}

package main

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wisp-project/wisp/cmd/wisp/internal/bench/ingest"
	"github.com/wisp-project/wisp/cmd/wisp/internal/bench/soak"
)

// newBenchSoakCmd is wisp bench soak.
func newBenchSoakCmd() *cobra.Command {
	opts := soak.Options{Duration: 10 * time.Minute, KillEvery: time.Minute, PostgresURL: ingest.DefaultPostgresURL,
		Senders: 4, Batch: 20, Slow: 4}
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "soak",
		Short: "Two aggregator nodes on PostgreSQL under mixed traffic, one killed -9 every minute: nothing lost, nothing twice",
		Long: `soak starts two ` + "`wisp aggregator serve`" + ` nodes (this binary) on 127.0.0.1 over a fresh
schema of --postgres, and for --duration sends them, from this process:
valid report batches, replays of acknowledged batches, malformed bodies and
slow bodies (1 byte/s). Every --kill-every one node gets SIGKILL (they take
turns) and is restarted; senders retry a batch that got no answer on the
other node, as devices do. At the end every valid report is sent once more
(each must be refused as a replay), the nodes stop and the epoch is
released. It prints acknowledged, stored and counted (equal when nothing
was lost or stored twice) and each node's peak RSS, and fails otherwise.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			dir, err := os.MkdirTemp("", "wisp-bench-soak-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			opts.Command, opts.Dir = []string{exe}, dir
			opts.Progress = func(line string) { fmt.Fprintln(cmd.ErrOrStderr(), line) }
			rep, err := soak.Run(cmd.Context(), opts)
			if err != nil {
				return err
			}
			if asJSON {
				err = printJSON(cmd.OutOrStdout(), rep)
			} else {
				writeSoak(cmd, rep)
			}
			if err == nil && !rep.OK() {
				err = fmt.Errorf("soak: reports lost or stored twice (sent %d, acknowledged %d + %d, stored %d, counted %d, lost %d, double %d, malformed refused %d of %d)",
					rep.Sent, rep.Acknowledged, rep.CommittedUnanswered, rep.Stored, rep.Counted, rep.Lost, rep.Double, rep.MalformedRejected, rep.MalformedSent)
			}
			return err
		},
	}
	f := cmd.Flags()
	durationVar(f, &opts.Duration, "duration", opts.Duration, "how long the traffic runs, e.g. 30s or 10m")
	durationVar(f, &opts.KillEvery, "kill-every", opts.KillEvery, "period of the SIGKILLs")
	f.StringVar(&opts.PostgresURL, "postgres", opts.PostgresURL, "PostgreSQL URL (a schema is created and dropped)")
	f.IntVar(&opts.Senders, "senders", opts.Senders, "concurrent senders of valid, replayed and malformed batches")
	f.IntVar(&opts.Batch, "batch", opts.Batch, "reports per batch")
	f.IntVar(&opts.Slow, "slow", opts.Slow, "slow-body clients")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

func writeSoak(cmd *cobra.Command, r soak.Report) {
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "seconds\t%.0f\nkills (SIGKILL + restart)\t%d\n", r.Seconds, r.Kills)
	fmt.Fprintf(tw, "valid reports sent\t%d\nacknowledged\t%d (+ %d committed, answer lost to a kill, found stored on retry)\n", r.Sent, r.Acknowledged, r.CommittedUnanswered)
	fmt.Fprintf(tw, "stored\t%d\ncounted after release\t%d\nlost\t%d\nstored twice\t%d\n", r.Stored, r.Counted, r.Lost, r.Double)
	fmt.Fprintf(tw, "batches retried\t%d\nreplayed batches\t%d (%d reports refused as replays)\n", r.RetriedBatches, r.ReplayedBatches, r.ReplaysRejected)
	fmt.Fprintf(tw, "malformed bodies\t%d (%d refused)\nslow-body connections\t%d (%d cut)\n", r.MalformedSent, r.MalformedRejected, r.SlowConnections, r.SlowCut)
	fmt.Fprintf(tw, "peak RSS node1 / node2\t%.1f / %.1f MiB\n", float64(r.MaxRSSKiB[0])/1024, float64(r.MaxRSSKiB[1])/1024)
	tw.Flush()
}

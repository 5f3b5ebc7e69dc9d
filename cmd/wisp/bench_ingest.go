package main

import (
	"os"
	"runtime"
	"sync"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/wisp-project/wisp/cmd/wisp/internal/bench/ingest"
)

// newBenchIngestCmd is wisp bench ingest.
func newBenchIngestCmd() *cobra.Command {
	opts := ingest.Options{Reports: 30000, Million: 1_000_000, MillionStore: "sqlite", PostgresURL: ingest.DefaultPostgresURL,
		Batch: 1000, Clients: 2 * runtime.GOMAXPROCS(0)}
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ingest",
		Short: "Measure aggregator ingest: HPKE Open bound, end-to-end rate on SQLite and PostgreSQL, a million reports",
		Long: `ingest measures in one run:
  hpke_open            HPKE Open per core (per CPU-second) on all cores — the bound: every report must be opened;
  ingest_sqlite        end to end per core: HTTP → decode → open → validate → durable SQLite commit;
  ingest_postgres      the same on PostgreSQL (--postgres "" skips it);
  population_end_to_end --population reports uploaded, stored, released and estimated: wall time;
with --queue, on a 3-node NATS JetStream cluster (R3 stream) in a child process and PostgreSQL:
  queue_front_end      reports/s a serve --queue front end acknowledges into the stream (wall);
  queue_worker         one worker draining the stream, per core, and its ratio to the bound —
                       of the worker alone (with PostgreSQL) and with the NATS servers' CPU too,
                       and to the bound measured again just before and after it ("beside");
  queue_end_to_end_Nw  front end and N = 1, 2 workers at once, until all is stored (wall).
Reports are sealed before each timing starts (sealing is the devices' cost). The uploading
clients run in the same process and share its cores. The goal is end to end ≥ 0.8 × the bound.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := os.MkdirTemp("", "wisp-bench-ingest-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			opts.Dir = dir
			if opts.Queue {
				opts.NATSCommand = natsClusterCommand()
			}
			// Progress comes from the benchmark's goroutines: the map needs the lock.
			var mu sync.Mutex
			bars := map[string]*progressbar.ProgressBar{}
			var last *progressbar.ProgressBar
			opts.Progress = func(phase string, done, total int) {
				mu.Lock()
				defer mu.Unlock()
				bar, ok := bars[phase]
				if !ok {
					if last != nil {
						last.Finish()
					}
					bar = newProgressBar(total, phase)
					bars[phase], last = bar, bar
				}
				bar.Set(done)
			}
			rep, err := ingest.Run(cmd.Context(), opts)
			if last != nil {
				last.Finish()
			}
			if err != nil {
				return err
			}
			return printReport(cmd.OutOrStdout(), asJSON, rep, ingest.WriteText)
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Reports, "reports", opts.Reports, "reports per throughput measurement")
	f.IntVar(&opts.Million, "population", opts.Million, "reports in the end-to-end population (0 skips it)")
	f.StringVar(&opts.MillionStore, "population-store", opts.MillionStore, "store of the population run: sqlite or postgres")
	f.StringVar(&opts.PostgresURL, "postgres", opts.PostgresURL, `PostgreSQL URL (a schema is created and dropped); "" skips PostgreSQL`)
	f.IntVar(&opts.Batch, "batch", opts.Batch, "reports per upload")
	f.IntVar(&opts.Clients, "clients", opts.Clients, "concurrent uploading clients")
	f.BoolVar(&opts.Queue, "queue", false, "also measure the queue mode (front end, worker, end to end) on a 3-node JetStream cluster in a child process")
	f.BoolVar(&asJSON, "json", false, "print one JSON object with a results array")
	return cmd
}

package main

import (
	"io"

	"github.com/spf13/cobra"
)

// newBenchCmd is the parent of the benchmarks: wisp bench privacy, plugin,
// ingest, prio3, soak, demo.
func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure Wisp: privacy accuracy, plugin cost, ingest throughput, prio3 accuracy, demo cost",
		Args:  noArgs,
	}
	cmd.AddCommand(newBenchPrivacyCmd(), newBenchPluginCmd(), newBenchIngestCmd(), newBenchPrio3Cmd(), newBenchSoakCmd(), newBenchNATSClusterCmd(), newBenchDemoCmd())
	return cmd
}

// printReport prints a benchmark's report: one JSON object with --json,
// else its text tables.
func printReport[R any](w io.Writer, asJSON bool, rep R, text func(io.Writer, R)) error {
	if asJSON {
		return printJSON(w, rep)
	}
	text(w, rep)
	return nil
}

package main

import "github.com/spf13/cobra"

// newBenchCmd is the parent of the benchmarks: wisp bench privacy, plugin,
// ingest, soak.
func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure Wisp: privacy accuracy, plugin cost, ingest throughput",
		Args:  noArgs,
	}
	cmd.AddCommand(newBenchPrivacyCmd(), newBenchPluginCmd(), newBenchIngestCmd(), newBenchSoakCmd())
	return cmd
}

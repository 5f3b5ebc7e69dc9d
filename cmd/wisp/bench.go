package main

import "github.com/spf13/cobra"

// newBenchCmd is the parent of the benchmarks: wisp bench privacy, plugin,
// ingest, prio3, soak, demo.
func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure Wisp: privacy accuracy, plugin cost, ingest throughput, prio3 accuracy",
		Args:  noArgs,
	}
	cmd.AddCommand(newBenchPrivacyCmd(), newBenchPluginCmd(), newBenchIngestCmd(), newBenchPrio3Cmd(), newBenchSoakCmd(), newBenchNATSClusterCmd(), newBenchDemoCmd())
	return cmd
}

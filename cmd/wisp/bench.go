package main

import "github.com/spf13/cobra"

// benchCmd is the parent of the benchmarks (wisp bench privacy, plugin,
// ingest); each benchmark's file attaches itself in its init.
var benchCmd = &cobra.Command{
	Use:   "bench",
	Short: "Measure Wisp: privacy accuracy, plugin cost, ingest throughput",
	Args:  cobra.NoArgs,
}

func init() { commands = append(commands, benchCmd) }

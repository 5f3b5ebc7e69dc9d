package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/wisp-project/wisp/cmd/wisp/internal/bench/ingest"
)

// newBenchNATSClusterCmd is wisp bench nats-cluster (hidden): the child
// process in which wisp bench ingest --queue runs its NATS cluster, so
// that the servers' CPU time is measured apart from the worker's.
func newBenchNATSClusterCmd() *cobra.Command {
	var dir string
	var nodes int
	cmd := &cobra.Command{
		Use:    "nats-cluster",
		Short:  "Run an in-process NATS JetStream cluster until stdin closes (for wisp bench ingest --queue)",
		Args:   noArgs,
		Hidden: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return ingest.ServeCluster(dir, nodes, cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory of the nodes' stores")
	cmd.Flags().IntVar(&nodes, "nodes", 3, "nodes in the cluster")
	cmd.MarkFlagRequired("dir")
	return cmd
}

// natsClusterCommand is how wisp bench ingest starts that child: this
// executable again (nil if it cannot be found; the cluster then runs in
// the measured process).
func natsClusterCommand() []string {
	exe, err := os.Executable()
	if err != nil {
		return nil
	}
	return []string{exe, "bench", "nats-cluster"}
}

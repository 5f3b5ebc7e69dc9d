package main

import (
	"github.com/spf13/cobra"

	demobench "github.com/wisp-project/wisp/cmd/wisp/internal/bench/demo"
)

// newBenchDemoCmd is wisp bench demo.
func newBenchDemoCmd() *cobra.Command {
	opts := demobench.DefaultOptions()
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Demo cost: CPU per simulated device, projected to 10,000 devices against the 10 s goal",
		Long: `demo runs wisp demo in this process: a warm-up of a few devices (one-time
costs), then --small devices for the fixed part (aggregator, plugin compiles,
release), then --devices. It splits the CPU time into the fixed part and what
each device adds, and projects 10,000 devices on this machine's cores against
the goal of 10 s. It then measures alone two
floors of the real device path: a device's two stores created, opened and
closed, and one report's upload on a connection of its own (as devices send
each report), shown per device and against the per-device budget. CPU time,
not wall time: on a shared machine wall time swings with other work.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Progress = cmd.ErrOrStderr()
			rep, err := demobench.Measure(cmd.Context(), opts)
			if err != nil {
				return err
			}
			return printReport(cmd.OutOrStdout(), asJSON, rep, demobench.WriteText)
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Devices, "devices", opts.Devices, "the measured population")
	f.IntVar(&opts.Small, "small", opts.Small, "the population that measures the fixed part")
	f.IntVar(&opts.Floors, "floors", opts.Floors, "rounds of each floor measurement")
	f.BoolVar(&asJSON, "json", false, "print the result as one JSON object")
	return cmd
}

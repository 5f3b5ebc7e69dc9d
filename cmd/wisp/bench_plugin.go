package main

import (
	"github.com/spf13/cobra"

	pluginbench "github.com/wisp-project/wisp/cmd/wisp/internal/bench/plugin"
)

// newBenchPluginCmd is wisp bench plugin.
func newBenchPluginCmd() *cobra.Command {
	var (
		asJSON bool
		events int
		child  string
	)
	cmd := &cobra.Command{
		Use:   "plugin",
		Short: "Plugin sandbox cost: wasm vs native scoring, per-call overhead, ready-from-cache time, RSS",
		Long: `plugin measures, in one run and with deadline enforcement on, the smart-fridge
plugin's scoring (the same logic as C/wasm, as Go wasip1 and as native Go), the
host's per-call overhead, how fast a restarted device is ready from the on-disk
compile cache (fresh processes), and the RSS of a host with three plugins
loaded. It also measures the design wazero offers out of the box
(WithCloseOnContextDone plus a context deadline) next to Wisp's fuel metering,
which is why the host uses the latter. Medians of several runs; the machine's
noise shows in the spread, so compare ratios, not absolute times.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if child != "" {
				return pluginbench.Child(cmd.Context(), child, cmd.OutOrStdout())
			}
			rep, err := pluginbench.Run(cmd.Context(), pluginbench.Options{Events: events, Progress: cmd.ErrOrStderr(),
				ChildArgs: []string{"bench", "plugin", "--child"}})
			if err != nil {
				return err
			}
			return printReport(cmd.OutOrStdout(), asJSON, rep, pluginbench.WriteText)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object with a results array")
	cmd.Flags().IntVar(&events, "events", 1000, "events per scoring batch")
	cmd.Flags().StringVar(&child, "child", "", "internal: run one fresh-process measurement")
	cmd.Flags().MarkHidden("child")
	return cmd
}

// Command wisp is the one CLI for Wisp's three users: device makers
// (wisp device), plugin authors (wisp plugin) and aggregator operators and
// marketers (wisp aggregator), plus wisp demo and wisp bench. It only wires
// the packages together: the logic lives in host, sdk, aggregator and
// internal, and the code only the CLI uses (the demo, the benchmarks, plugin
// scaffolds and inspection) in cmd/wisp/internal.
//
// Every command is built by a function that binds its flags to its own
// variables, so newRootCmd can build independent trees (tests run several
// in one process).
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "wisp:", err)
		os.Exit(1)
	}
}

// newRootCmd builds the whole command tree, with fresh flags.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "wisp",
		Short:         "Privacy-first personalization on smart devices",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionString(),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.AddCommand(newAggregatorCmd(), newBenchCmd(), newDemoCmd(), newDeviceCmd(), newPluginCmd(), newRelayCmd(), newVersionCmd())
	setDefaults(root)
	return root
}

// printJSON writes v as indented JSON: the --json output of every command.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

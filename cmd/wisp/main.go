// Command wisp is the one CLI for Wisp's three users: device makers
// (wisp device), plugin authors (wisp plugin) and aggregator operators and
// marketers (wisp aggregator), plus wisp demo and wisp bench. It only wires
// the packages together; the logic lives in host, sdk, aggregator and
// internal.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// commands are added by each command's file, so the files stay independent.
var commands []*cobra.Command

func main() {
	root := &cobra.Command{
		Use:           "wisp",
		Short:         "Privacy-first personalization on smart devices",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(commands...)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "wisp:", err)
		os.Exit(1)
	}
}

// printJSON writes v as indented JSON: the --json output of every command.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

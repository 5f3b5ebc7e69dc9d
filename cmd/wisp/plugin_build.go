package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wisp-project/wisp/cmd/wisp/internal/plugindir"
)

func pluginBuildCmd() *cobra.Command {
	var sdkDir string
	cmd := &cobra.Command{
		Use:     "build <plugin dir>",
		Example: "  wisp plugin build tv",
		Short:   "Build a plugin directory to <dir>/<name>.wasm (Go: go; C: clang + wasm-ld; WAT: wat2wasm; AssemblyScript: npm)",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := plugindir.Read(args[0])
			if err != nil {
				return err
			}
			lang, err := plugindir.Lang(d.Path)
			if err != nil {
				return err
			}
			if err := plugindir.Build(d, lang, sdkDir); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "built %s (%s)\n", d.WasmPath(), lang)
			return nil
		},
	}
	cmd.Flags().StringVar(&sdkDir, "sdk", "", "the Wisp checkout's sdk/ directory, for C's wisp.h (default: found from the working directory)")
	return cmd
}

package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wisp-project/wisp/cmd/wisp/internal/scaffold"
)

func pluginNewCmd() *cobra.Command {
	var opts scaffold.Options
	cmd := &cobra.Command{
		Use:     "new <name>",
		Example: "  wisp plugin new tv --lang wat",
		Short:   "Scaffold a plugin directory (go, c, wat or assemblyscript) that builds and passes its fixtures as is",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if opts.Lang == "" {
				opts.Lang = scaffold.DefaultLang(opts.Parent)
			}
			dir, err := scaffold.New(opts)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created %s (%s). Next:\n  wisp plugin build %s\n  wisp plugin test %s\n", dir, opts.Lang, dir, dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.Lang, "lang", "", "go, c, wat or assemblyscript (default: go inside a Wisp checkout, else wat if wat2wasm is installed)")
	cmd.Flags().StringVar(&opts.Parent, "dir", ".", "where to create the plugin directory")
	cmd.Flags().StringVar(&opts.SDK, "sdk", "", "the Wisp checkout's sdk directory a Go plugin builds against (default: found from --dir or the working directory)")
	return cmd
}

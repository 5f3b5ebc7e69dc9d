package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wisp-project/wisp/host"
)

// newDeviceCatalogueCmd is wisp device catalogue.
func newDeviceCatalogueCmd(f *deviceFlags) *cobra.Command {
	var sigPath string
	catalogue := &cobra.Command{
		Use:     "catalogue <catalogue.json>",
		Example: "  wisp device catalogue catalogue.json --signature catalogue.sig",
		Short:   "Install a creative catalogue for on-device targeting",
		Long: `catalogue installs the creatives the device may show, with their targeting
(categories, min_score), per-campaign frequency caps, a global cap and quiet hours.
With --signature (base64 Ed25519 by the aggregator's campaign-signing key over
"wisp creative catalogue v1\0" || the file) it is verified first; without, the
device maker vouches for it. Matching runs on the device; nobody learns it.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			return f.withDevice(cmd, func(ctx context.Context, d *host.Device) error {
				if sigPath != "" {
					sigText, err := os.ReadFile(sigPath)
					if err != nil {
						return err
					}
					sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sigText)))
					if err != nil {
						return fmt.Errorf("%s: %w", sigPath, err)
					}
					if err := d.SetSignedCatalogue(ctx, b, sig); err != nil {
						return err
					}
				} else {
					var c host.Catalogue
					if err := json.Unmarshal(b, &c); err != nil {
						return fmt.Errorf("%s: %w", args[0], err)
					}
					if err := d.SetCatalogue(ctx, c); err != nil {
						return err
					}
				}
				fmt.Fprintln(cmd.OutOrStdout(), "catalogue installed")
				return nil
			})
		},
	}
	catalogue.Flags().StringVar(&sigPath, "signature", "", "file with the catalogue's base64 signature")
	return catalogue
}

// newDevicePickCmd is wisp device pick.
func newDevicePickCmd(f *deviceFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "pick",
		Short: "Show what the device would display now (relevance, frequency caps, quiet hours), and record it",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.withDevice(cmd, func(ctx context.Context, d *host.Device) error {
				matches, err := d.Relevant(ctx)
				if err != nil {
					return err
				}
				for _, m := range matches {
					fmt.Fprintf(cmd.OutOrStdout(), "relevant: %s (%s), interest %.0f%%\n", m.Creative.ID, m.Creative.Campaign, 100*m.Score)
				}
				c, err := d.Pick(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "show: %s (%s) %s\n", c.ID, c.Campaign, c.Content)
				return nil
			})
		},
	}
}

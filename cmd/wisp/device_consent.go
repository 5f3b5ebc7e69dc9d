package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/wisp-project/wisp/host"
)

// newDeviceConsentCmd is wisp device consent grant, revoke and history.
func newDeviceConsentCmd(f *deviceFlags) *cobra.Command {
	consent := &cobra.Command{
		Use:   "consent",
		Short: "Grant or revoke the owner's consent (everything is off until granted)",
		Long: `consent records the owner's decision on a purpose: plugin:<name> (record events
for the plugin and let it score them) or campaign:<id> (answer the campaign with
differentially private reports). Revoking stops egress at once, dropping reports
already queued; --erase also erases a plugin's events and interests.`,
	}
	grant := &cobra.Command{
		Use:     "grant <plugin:NAME | campaign:ID>...",
		Example: "  wisp device consent grant plugin:fitness campaign:runners",
		Short:   "Opt in to purposes",
		Args:    minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.consentEach(cmd, args, "granted", func(ctx context.Context, d *host.Device, p host.Purpose) error {
				return d.Grant(ctx, p)
			})
		},
	}
	var erase bool
	revoke := &cobra.Command{
		Use:     "revoke <plugin:NAME | campaign:ID>...",
		Example: "  wisp device consent revoke campaign:runners",
		Short:   "Opt out of purposes, effective at once",
		Args:    minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.consentEach(cmd, args, "revoked", func(ctx context.Context, d *host.Device, p host.Purpose) error {
				return d.Revoke(ctx, p, erase)
			})
		},
	}
	grant.ValidArgsFunction = f.completeDevice(purposes(false))
	revoke.ValidArgsFunction = f.completeDevice(purposes(true))
	revoke.Flags().BoolVar(&erase, "erase", false, "also erase the plugin's events and interests")
	var asJSON bool
	history := &cobra.Command{
		Use:   "history",
		Short: "Show every consent decision with its time",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.withDevice(cmd, func(ctx context.Context, d *host.Device) error {
				h, err := d.ConsentHistory(ctx)
				if err != nil {
					return err
				}
				if asJSON {
					if h == nil {
						h = []host.ConsentChange{}
					}
					return printJSON(cmd.OutOrStdout(), h)
				}
				for _, c := range h {
					verb := "granted"
					if !c.Granted {
						verb = "revoked"
						if c.Erased {
							verb = "revoked and erased"
						}
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%s  %s %s\n", c.At.Format(time.RFC3339), verb, c.Purpose)
				}
				return nil
			})
		},
	}
	history.Flags().BoolVar(&asJSON, "json", false, "print the decisions as a JSON array, oldest first")
	consent.AddCommand(grant, revoke, history)
	return consent
}

func (f *deviceFlags) consentEach(cmd *cobra.Command, args []string, verb string, fn func(context.Context, *host.Device, host.Purpose) error) error {
	return f.withDevice(cmd, func(ctx context.Context, d *host.Device) error {
		for _, a := range args {
			p, err := host.ParsePurpose(a)
			if err != nil {
				return err
			}
			if err := fn(ctx, d, p); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", verb, p)
		}
		return nil
	})
}

package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wisp-project/wisp/host"
)

// newDeviceSharingCmd is wisp device sharing pause and resume.
func newDeviceSharingCmd(f *deviceFlags) *cobra.Command {
	sharing := &cobra.Command{
		Use:   "sharing",
		Short: "Pause all sharing at once, or resume it (the privacy page's switch)",
		Long: `sharing pause stops everything that leaves the device, at once and until
sharing resume: no campaign is fetched, none answered (no privacy budget is
spent) and no report sent; plugins keep scoring locally and queued reports wait.
The pause is stored with the device.`,
	}
	pause := &cobra.Command{
		Use:     "pause",
		Short:   "Stop everything that leaves the device until resumed",
		Example: "  wisp device sharing pause",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.withDevice(cmd, func(ctx context.Context, d *host.Device) error {
				if err := d.PauseSharing(ctx); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "all sharing is paused: nothing leaves this device until you run %s\n", f.hint(cmd, "sharing resume"))
				return nil
			})
		},
	}
	resume := &cobra.Command{
		Use:     "resume",
		Short:   "Share again what the owner allows",
		Example: "  wisp device sharing resume",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.withDevice(cmd, func(ctx context.Context, d *host.Device) error {
				if err := d.ResumeSharing(ctx); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), "sharing resumed: the next run fetches, answers and sends what you allow")
				return nil
			})
		},
	}
	sharing.AddCommand(pause, resume)
	return sharing
}

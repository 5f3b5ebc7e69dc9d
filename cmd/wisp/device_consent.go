package main

import (
	"context"
	"fmt"
	"slices"
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
			return f.withDevice(cmd, func(ctx context.Context, d *host.Device) error {
				ps, err := f.knownPurposes(cmd, ctx, d, args)
				if err != nil {
					return err
				}
				for _, p := range ps {
					if err := d.Grant(ctx, p); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "granted %s\n", p)
				}
				return nil
			})
		},
	}
	var erase, all bool
	revoke := &cobra.Command{
		Use:     "revoke <plugin:NAME | campaign:ID>... | --all",
		Example: "  wisp device consent revoke campaign:runners\n  wisp device consent revoke --all",
		Short:   "Opt out of purposes (or --all of them), effective at once",
		Args: func(cmd *cobra.Command, args []string) error {
			if all != (len(args) == 0) {
				return fmt.Errorf("name the purposes to revoke, e.g. campaign:runners, or pass --all to revoke everything")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withDevice(cmd, func(ctx context.Context, d *host.Device) error {
				before, err := d.Status(ctx)
				if err != nil {
					return err
				}
				ps := make([]host.Purpose, 0, len(args))
				for _, a := range args {
					p, err := host.ParsePurpose(a)
					if err != nil {
						return err
					}
					ps = append(ps, p)
				}
				if all {
					if ps, err = granted(ctx, d); err != nil {
						return err
					}
					if len(ps) == 0 {
						fmt.Fprintln(cmd.OutOrStdout(), "nothing was allowed: everything is already off")
						return nil
					}
				}
				for _, p := range ps {
					if err := d.Revoke(ctx, p, erase); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "revoked %s\n", p)
				}
				if all {
					fmt.Fprintln(cmd.OutOrStdout(), "Everything is off: nothing leaves this device, and reports that were waiting were dropped.")
				}
				return unanswerable(cmd, ctx, d, before)
			})
		},
	}
	revoke.Flags().BoolVar(&all, "all", false, "revoke every purpose the owner allowed")
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

// knownPurposes parses args and refuses a plugin that is not installed or
// a campaign the aggregator does not offer (a typo would otherwise be an
// agreement to something nobody asked), fetching campaigns once if one is
// not known yet. Nothing is granted unless every purpose is known.
func (f *deviceFlags) knownPurposes(cmd *cobra.Command, ctx context.Context, d *host.Device, args []string) ([]host.Purpose, error) {
	st, err := d.Status(ctx)
	if err != nil {
		return nil, err
	}
	synced := false
	var syncErr error
	out := make([]host.Purpose, 0, len(args))
	for _, a := range args {
		p, err := host.ParsePurpose(a)
		if err != nil {
			return nil, err
		}
		if p.Kind == host.PurposePlugin && !slices.Contains(pluginNames(ctx, st, ""), p.ID) {
			return nil, fmt.Errorf("no plugin %q is installed (installed: %s); install it first: %s",
				p.ID, orNone(pluginNames(ctx, st, "")), f.hint(cmd, "install "+p.ID))
		}
		if p.Kind == host.PurposeCampaign && !slices.Contains(campaignIDs(st), p.ID) {
			if paused, _, err := d.SharingPaused(ctx); err != nil {
				return nil, err
			} else if paused {
				return nil, fmt.Errorf("this device does not know campaign %q, and while sharing is paused it does not ask the aggregator; resume first: %s", p.ID, f.hint(cmd, "sharing resume"))
			}
			if !synced {
				synced, syncErr = true, d.Sync(ctx)
				if st, err = d.Status(ctx); err != nil {
					return nil, err
				}
			}
			if !slices.Contains(campaignIDs(st), p.ID) {
				if syncErr != nil {
					return nil, fmt.Errorf("this device does not know campaign %q, and could not ask the aggregator: %w", p.ID, syncErr)
				}
				return nil, fmt.Errorf("no campaign %q: the aggregator does not offer it (known campaigns: %s)", p.ID, orNone(campaignIDs(st)))
			}
		}
		out = append(out, p)
	}
	return out, nil
}

func campaignIDs(st host.Status) []string {
	out := make([]string, 0, len(st.Campaigns))
	for _, c := range st.Campaigns {
		out = append(out, c.ID)
	}
	return out
}

// granted is every purpose whose last decision was a grant.
func granted(ctx context.Context, d *host.Device) ([]host.Purpose, error) {
	h, err := d.ConsentHistory(ctx)
	if err != nil {
		return nil, err
	}
	last := map[host.Purpose]bool{}
	var order []host.Purpose
	for _, c := range h {
		if _, seen := last[c.Purpose]; !seen {
			order = append(order, c.Purpose)
		}
		last[c.Purpose] = c.Granted
	}
	var out []host.Purpose
	for _, p := range order {
		if last[p] {
			out = append(out, p)
		}
	}
	return out, nil
}

// unanswerable names the campaigns the owner still agrees to that no
// allowed plugin can answer any more since before: revoking a plugin
// silences the campaigns it fed.
func unanswerable(cmd *cobra.Command, ctx context.Context, d *host.Device, before host.Status) error {
	after, err := d.Status(ctx)
	if err != nil {
		return err
	}
	was := map[string]bool{}
	for _, c := range before.Campaigns {
		was[c.ID] = c.Answerable
	}
	for _, c := range after.Campaigns {
		if c.Consent && was[c.ID] && !c.Answerable {
			fmt.Fprintf(cmd.OutOrStdout(), "campaign %s (about %s) is no longer answerable: no plugin you allow scores it\n", c.ID, c.Category)
		}
	}
	return nil
}

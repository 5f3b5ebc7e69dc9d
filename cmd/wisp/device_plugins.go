package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wisp-project/wisp/cmd/wisp/internal/plugindir"
	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/plugins"
	"github.com/wisp-project/wisp/plugins/fitness/scorer"
)

// newDeviceInstallCmd is wisp device install.
func newDeviceInstallCmd(f *deviceFlags) *cobra.Command {
	var manifestPath string
	var downgrade bool
	install := &cobra.Command{
		Use:     "install <plugin.wasm | fitness>",
		Example: "  wisp device install tv/tv.wasm --manifest tv/tv.manifest.json",
		Short:   "Install a plugin (signed, unless the device allows unsigned ones)",
		Long: `install verifies and installs a plugin. Give the module and its manifest file:
a signed manifest is checked against the device's trust store; a bare manifest
installs only on a device initialized with --allow-unsigned. "fitness" installs
the built-in wearable plugin (unsigned). The plugin does nothing until the
owner grants it consent. Installing a newer version of an installed plugin
keeps its data and the owner's consent; an older version is refused unless
--allow-downgrade.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withDevice(cmd, func(ctx context.Context, d *host.Device) error {
				installed, err := d.Plugins(ctx)
				if err != nil {
					return err
				}
				var old *host.PluginInfo
				check := func(m sandbox.Manifest) error {
					for i := range installed {
						if installed[i].Name != m.Name {
							continue
						}
						old = &installed[i]
						if compareVersions(m.Version, old.Version) < 0 && !downgrade {
							return fmt.Errorf("%s %s is older than the installed %s: a downgrade may bring back fixed bugs; pass --allow-downgrade to install it anyway",
								m.Name, m.Version, old.Version)
						}
					}
					return nil
				}
				info, err := installPlugin(ctx, d, args[0], manifestPath, check)
				if err != nil {
					return err
				}
				signer := "unsigned"
				if info.Signed {
					signer = "signed by " + info.Author
				}
				st, err := d.Status(ctx)
				if err != nil {
					return err
				}
				on := false
				for _, p := range st.Plugins {
					if p.Name == info.Name {
						on = p.Consent
					}
				}
				w := cmd.OutOrStdout()
				verb := "installed"
				if old != nil {
					switch c := compareVersions(info.Version, old.Version); {
					case c > 0:
						verb = "upgraded " + info.Name + " from " + old.Version + " to"
					case c < 0:
						verb = "downgraded " + info.Name + " from " + old.Version + " to"
					default:
						verb = "reinstalled"
						fmt.Fprintf(cmd.ErrOrStderr(), "wisp: note: %s %s was already installed; a changed module should carry a new version\n", info.Name, info.Version)
					}
				}
				if strings.HasPrefix(verb, "installed") || verb == "reinstalled" {
					verb += " " + info.Name
				}
				if on {
					fmt.Fprintf(w, "%s %s (%s); the owner's consent is kept: it is on\n", verb, info.Version, signer)
				} else {
					fmt.Fprintf(w, "%s %s (%s); it is off until you run: %s\n", verb, info.Version, signer, f.hint(cmd, "consent grant plugin:"+info.Name))
				}
				return nil
			})
		},
	}
	install.Flags().StringVar(&manifestPath, "manifest", "", "the plugin's manifest file (signed or bare)")
	install.Flags().BoolVar(&downgrade, "allow-downgrade", false, "install a version older than the installed one")
	return install
}

// newDeviceRemoveCmd is wisp device remove.
func newDeviceRemoveCmd(f *deviceFlags) *cobra.Command {
	return &cobra.Command{
		ValidArgsFunction: completeOnce(f.completeDevice(pluginNames)),
		Use:               "remove <plugin>",
		Example:           "  wisp device remove fitness",
		Short:             "Uninstall a plugin and erase its events and interests",
		Args:              exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withDevice(cmd, func(ctx context.Context, d *host.Device) error {
				if err := d.Remove(ctx, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "removed %s and erased its data\n", args[0])
				return nil
			})
		},
	}
}

// newDevicePluginsCmd is wisp device plugins.
func newDevicePluginsCmd(f *deviceFlags) *cobra.Command {
	var retention time.Duration
	var asJSON bool
	list := &cobra.Command{
		ValidArgsFunction: completeOnce(f.completeDevice(pluginNames)),
		Use:               "plugins [plugin]",
		Example:           "  wisp device plugins fitness --retention 30d",
		Short:             "List installed plugins (or, with --retention, change how long one named plugin's events are kept)",
		Args:              maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withDevice(cmd, func(ctx context.Context, d *host.Device) error {
				if cmd.Flags().Changed("retention") {
					w := cmd.OutOrStdout()
					if asJSON {
						w = cmd.ErrOrStderr() // keep stdout one JSON value
					}
					if err := f.setRetention(cmd, ctx, d, w, args, retention); err != nil {
						return err
					}
				}
				list, err := d.Plugins(ctx)
				if err != nil {
					return err
				}
				if asJSON {
					if list == nil {
						list = []host.PluginInfo{}
					}
					return printJSON(cmd.OutOrStdout(), list)
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "name\tversion\tauthor\tretention\trunning")
				for _, p := range list {
					author := p.Author
					if !p.Signed {
						author = "(unsigned)"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\n", p.Name, p.Version, author, p.Retention, p.Running)
				}
				return tw.Flush()
			})
		},
	}
	durationVar(list.Flags(), &retention, "retention", 0, "new retention for the named plugin's events")
	list.Flags().BoolVar(&asJSON, "json", false, "print the plugins as a JSON array (retention_ns in nanoseconds)")
	return list
}

// setRetention changes one named plugin's retention and says what that
// deleted. Retention is per plugin: without a name it refuses rather than
// guess which plugin's data to delete.
func (f *deviceFlags) setRetention(cmd *cobra.Command, ctx context.Context, d *host.Device, w io.Writer, args []string, keep time.Duration) error {
	if keep <= 0 {
		return fmt.Errorf("--retention wants a positive duration, e.g. --retention 30d")
	}
	before, err := d.Status(ctx)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		names := make([]string, 0, len(before.Plugins))
		for _, p := range before.Plugins {
			names = append(names, p.Name)
		}
		example := "<plugin>"
		if len(names) > 0 {
			example = names[0]
		}
		return fmt.Errorf("--retention changes one plugin's retention, and may delete its older events: name the plugin, e.g. %s (installed: %s)",
			f.hint(cmd, "plugins "+example+" --retention "+days(keep)), orNone(names))
	}
	if err := d.SetRetention(ctx, args[0], keep); err != nil {
		return err
	}
	after, err := d.Status(ctx)
	if err != nil {
		return err
	}
	n := func(st host.Status) int {
		for _, p := range st.Plugins {
			if p.Name == args[0] {
				return p.Events
			}
		}
		return 0
	}
	fmt.Fprintf(w, "%s: events are now kept for %s; deleted %d older events (%d → %d kept).\n",
		args[0], days(keep), n(before)-n(after), n(before), n(after))
	return nil
}

// days prints a duration in days when it is whole days ("30d"), else as Go does.
func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// installPlugin installs what (a module, or "fitness") with its manifest,
// after check has accepted the manifest.
func installPlugin(ctx context.Context, d *host.Device, what, manifestPath string, check func(sandbox.Manifest) error) (host.PluginInfo, error) {
	if what == "fitness" && manifestPath == "" {
		m := sandbox.Manifest{Name: "fitness", Version: "1.0.0", Categories: scorer.Categories}
		if err := check(m); err != nil {
			return host.PluginInfo{}, err
		}
		return d.InstallUnsigned(ctx, m, plugins.Fitness)
	}
	if manifestPath == "" {
		return host.PluginInfo{}, fmt.Errorf("install %s: --manifest is required", what)
	}
	wasm, err := os.ReadFile(what)
	if err != nil {
		return host.PluginInfo{}, err
	}
	mb, err := os.ReadFile(manifestPath)
	if err != nil {
		return host.PluginInfo{}, err
	}
	m, err := plugindir.ParseManifest(mb)
	if err != nil {
		return host.PluginInfo{}, fmt.Errorf("%s: %w", manifestPath, err)
	}
	if err := plugindir.CheckCategories(m); err != nil {
		return host.PluginInfo{}, err
	}
	if err := check(m); err != nil {
		return host.PluginInfo{}, err
	}
	if strings.Contains(string(mb), `"signature"`) {
		return d.Install(ctx, mb, wasm)
	}
	return d.InstallUnsigned(ctx, m, wasm)
}

// compareVersions compares dotted versions ("1.2.10" > "1.2.9"), part by
// part, numerically where both parts are numbers; -1, 0 or 1.
func compareVersions(a, b string) int {
	pa, pb := strings.Split(strings.TrimPrefix(a, "v"), "."), strings.Split(strings.TrimPrefix(b, "v"), ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		x, y := "0", "0"
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		nx, ex := strconv.Atoi(x)
		ny, ey := strconv.Atoi(y)
		switch {
		case ex == nil && ey == nil && nx != ny:
			return cmpInt(nx, ny)
		case (ex != nil || ey != nil) && x != y:
			return strings.Compare(x, y)
		}
	}
	return 0
}

func cmpInt(a, b int) int {
	if a < b {
		return -1
	}
	return 1
}

package main

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/internal/api"
)

// deviceFlags is what every device command shares: the device directory
// (--dir, or WISP_DEVICE), whose settings `wisp device init` writes to
// device.json beside the device's databases.
type deviceFlags struct {
	dir string
	// pluginLog, if set, receives the plugins' wisp.log lines (device run -v).
	pluginLog *slog.Logger
}

// newDeviceCmd groups the device commands.
func newDeviceCmd() *cobra.Command {
	f := &deviceFlags{}
	cmd := &cobra.Command{
		Use:   "device",
		Short: "Run a Wisp device from the command line: plugins, events, consent, reports, the owner's view",
		Long: `device runs the embeddable device runtime (package host) on a data directory,
for trying Wisp out and for device makers' bring-up:

  wisp device init --aggregator http://127.0.0.1:8080 --allow-unsigned
  wisp device install fitness
  wisp device consent grant plugin:fitness
  wisp device consent grant campaign:runners
  wisp device events import events.jsonl
  wisp device run --flush
  wisp device status
  wisp device serve        # the owner's privacy page on 127.0.0.1

See docs/DEVICE.md for the walk-through.`,
	}
	def := os.Getenv("WISP_DEVICE")
	if def == "" {
		def = "wisp-device"
	}
	cmd.PersistentFlags().StringVar(&f.dir, "dir", def, "the device's data directory (WISP_DEVICE)")
	cmd.AddCommand(newDeviceInitCmd(f), newDeviceInstallCmd(f), newDeviceRemoveCmd(f), newDevicePluginsCmd(f),
		newDeviceConsentCmd(f), newDeviceEventsCmd(f), newDeviceRunCmd(f), newDeviceStatusCmd(f), newDeviceForgetCmd(f),
		newDeviceCatalogueCmd(f), newDevicePickCmd(f), newDeviceServeCmd(f), newDeviceSharingCmd(f),
		newDeviceCredentialCmd(f))
	return cmd
}

// deviceSettings is device.json: what `init` chose, read by every command.
type deviceSettings struct {
	Aggregator    string  `json:"aggregator,omitempty"`
	TrustFile     string  `json:"trust_file,omitempty"`
	CAFile        string  `json:"ca_file,omitempty"`      // PEM CAs trusted for the aggregator's TLS certificate instead of the system's
	CampaignKey   string  `json:"campaign_key,omitempty"` // base64 Ed25519, pinned at init
	AllowUnsigned bool    `json:"allow_unsigned,omitempty"`
	SendDelay     string  `json:"send_delay"`
	DailyEpsilon  float64 `json:"daily_epsilon"`
	// CategoryEpsilon, LifetimeEpsilon and LifetimeWindow are the
	// long-term budgets (host.DeviceConfig.WithLifetimeBudget); absent from
	// a device.json written before they existed, which keeps host's
	// defaults.
	CategoryEpsilon float64 `json:"category_epsilon,omitempty"`
	LifetimeEpsilon float64 `json:"lifetime_epsilon,omitempty"`
	LifetimeWindow  string  `json:"lifetime_window,omitempty"`
	Retention       string  `json:"retention"`
	DummyRate       float64 `json:"dummy_rate,omitempty"`
}

const deviceSettingsFile = "device.json"

func readDeviceSettings(dir string) (deviceSettings, error) {
	var s deviceSettings
	b, err := os.ReadFile(filepath.Join(dir, deviceSettingsFile))
	if errors.Is(err, os.ErrNotExist) {
		return s, fmt.Errorf("no device in %s: run `wisp device init --dir %s` first", dir, dir)
	} else if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("%s: %w", filepath.Join(dir, deviceSettingsFile), err)
	}
	return s, nil
}

// config turns the settings into a host.DeviceConfig.
func (s deviceSettings) config(dir string, pluginLog *slog.Logger) (host.DeviceConfig, error) {
	cfg := host.NewDeviceConfig().WithUnsignedPlugins(s.AllowUnsigned).WithDailyBudget(s.DailyEpsilon).
		WithDummyReports(s.DummyRate)
	rc := sandbox.NewRuntimeConfig()
	if pluginLog != nil {
		rc = rc.WithLogger(pluginLog)
	}
	if s.TrustFile != "" {
		path := s.TrustFile
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return cfg, err
		}
		trust, err := sandbox.ParseTrustStore(b)
		if err != nil {
			return cfg, err
		}
		rc = rc.WithTrustStore(trust)
	}
	cfg = cfg.WithRuntime(rc)
	if s.Aggregator != "" {
		cfg = cfg.WithAggregator(s.Aggregator, nil)
	}
	roots, err := s.rootCAs(dir)
	if err != nil {
		return cfg, err
	}
	if roots != nil {
		cfg = cfg.WithRootCAs(roots)
	}
	if s.CampaignKey != "" {
		k, err := base64.StdEncoding.DecodeString(s.CampaignKey)
		if err != nil {
			return cfg, fmt.Errorf("campaign_key: %w", err)
		}
		cfg = cfg.WithCampaignKey(k)
	}
	perCategory, perDevice, window := host.DefaultCategoryEpsilon, host.DefaultLifetimeEpsilon, host.DefaultLifetimeWindow
	if s.CategoryEpsilon != 0 {
		perCategory = s.CategoryEpsilon
	}
	if s.LifetimeEpsilon != 0 {
		perDevice = s.LifetimeEpsilon
	}
	for _, d := range []struct {
		text string
		set  func(time.Duration)
	}{
		{s.SendDelay, func(v time.Duration) { cfg = cfg.WithSendDelay(v) }},
		{s.Retention, func(v time.Duration) { cfg = cfg.WithRetention(v) }},
		{s.LifetimeWindow, func(v time.Duration) { window = v }},
	} {
		if d.text == "" {
			continue
		}
		v, err := parseDuration(d.text)
		if err != nil {
			return cfg, fmt.Errorf("%s: %w", filepath.Join(dir, deviceSettingsFile), err)
		}
		d.set(v)
	}
	return withCredential(cfg.WithLifetimeBudget(perCategory, perDevice, window), dir)
}

// rootCAs reads ca_file (relative to dir); nil without one: the system's
// roots.
func (s deviceSettings) rootCAs(dir string) (*x509.CertPool, error) {
	if s.CAFile == "" {
		return nil, nil
	}
	path := s.CAFile
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	pool, err := readCAFile(path)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	return pool, nil
}

// readCAFile reads a PEM file of CA certificates into a pool.
func readCAFile(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s: no PEM certificate in it", path)
	}
	return pool, nil
}

// open opens the device in --dir with its saved settings.
func (f *deviceFlags) open(ctx context.Context) (*host.Device, error) {
	s, err := readDeviceSettings(f.dir)
	if err != nil {
		return nil, err
	}
	cfg, err := s.config(f.dir, f.pluginLog)
	if err != nil {
		return nil, err
	}
	return host.Open(ctx, f.dir, cfg)
}

// hint is a wisp device command line to suggest, carrying the --dir the
// user gave so that it works when pasted.
func (f *deviceFlags) hint(cmd *cobra.Command, args string) string {
	s := "wisp device " + args
	if fl := cmd.Flag("dir"); fl != nil && fl.Changed {
		s += " --dir " + shellQuote(f.dir)
	}
	return s
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=@%+-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// withDevice runs fn on the open device and closes it.
func (f *deviceFlags) withDevice(cmd *cobra.Command, fn func(context.Context, *host.Device) error) error {
	ctx := cmd.Context()
	d, err := f.open(ctx)
	if err != nil {
		return err
	}
	defer d.Close(ctx)
	return fn(ctx, d)
}

// newDeviceInitCmd is wisp device init.
func newDeviceInitCmd(df *deviceFlags) *cobra.Command {
	s := deviceSettings{DailyEpsilon: 4}
	var sendDelay, retention, lifetimeWindow time.Duration
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a device data directory and its settings",
		Long: `init creates --dir with the device's database and ledger and writes its settings to
device.json. Everything is off until the owner grants consent. Every setting is
checked (and the aggregator's key fetched) before anything is written; if init
fails, it leaves nothing behind.`,
		Example: "  wisp device init --aggregator http://127.0.0.1:8080 --allow-unsigned --retention 30d",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			if _, err := os.Stat(filepath.Join(df.dir, deviceSettingsFile)); err == nil {
				return fmt.Errorf("%s already holds a device", df.dir)
			}
			if s.DailyEpsilon <= 0 {
				return fmt.Errorf("--daily-epsilon wants a positive ε, not %g; e.g. --daily-epsilon 4", s.DailyEpsilon)
			}
			if s.DummyRate < 0 || s.DummyRate > 1 {
				return fmt.Errorf("--dummy-rate wants a probability in [0, 1], not %g; e.g. --dummy-rate 0.1", s.DummyRate)
			}
			if retention <= 0 || sendDelay < 0 {
				return fmt.Errorf("--retention wants a positive duration and --send-delay one ≥ 0; e.g. --retention 30d --send-delay 1h")
			}
			if !(s.CategoryEpsilon > 0) || !(s.LifetimeEpsilon > 0) || lifetimeWindow <= 0 {
				return fmt.Errorf("--category-epsilon and --lifetime-epsilon want a positive ε and --lifetime-window a positive duration; e.g. --category-epsilon 8 --lifetime-epsilon 64 --lifetime-window 365d")
			}
			s.SendDelay, s.Retention, s.LifetimeWindow = sendDelay.String(), retention.String(), lifetimeWindow.String()
			// Relative to where the command runs, as a shell user expects
			// (device.json records the absolute paths).
			for _, p := range []*string{&s.TrustFile, &s.CAFile} {
				if *p != "" {
					if *p, err = filepath.Abs(*p); err != nil {
						return err
					}
				}
			}
			if _, err := s.config(df.dir, nil); err != nil {
				return err
			}
			if s.CampaignKey == "" && s.Aggregator != "" {
				roots, err := s.rootCAs(df.dir)
				if err != nil {
					return err
				}
				k, err := fetchCampaignKey(cmd.Context(), s.Aggregator, roots)
				if err != nil {
					return fmt.Errorf("fetch the aggregator's campaign-signing key (or pass --campaign-key): %w", err)
				}
				s.CampaignKey = k
				fmt.Fprintf(cmd.OutOrStdout(), "pinned the aggregator's campaign-signing key %s\n  (fetched from %s: compare it with the key its operator publishes)\n", k, s.Aggregator)
			}
			if _, err := s.config(df.dir, nil); err != nil {
				return err
			}
			undo := undoNewDir(df.dir)
			defer func() {
				if err != nil {
					undo()
				}
			}()
			if err := os.MkdirAll(df.dir, 0o700); err != nil {
				return err
			}
			b, _ := json.MarshalIndent(s, "", "  ")
			if err := os.WriteFile(filepath.Join(df.dir, deviceSettingsFile), append(b, '\n'), 0o600); err != nil {
				return err
			}
			return df.withDevice(cmd, func(ctx context.Context, d *host.Device) error {
				fmt.Fprintf(cmd.OutOrStdout(), "device ready in %s (aggregator: %s)\n", df.dir, deviceOrNone(s.Aggregator))
				if s.AllowUnsigned {
					fmt.Fprintln(cmd.OutOrStdout(), "unsigned plugins are allowed: for development only")
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&s.Aggregator, "aggregator", "", "aggregator base URL, e.g. http://127.0.0.1:8080")
	f.StringVar(&s.CAFile, "ca-file", "", "PEM file of the CAs to trust for the aggregator's HTTPS certificate instead of the system's (a private CA)")
	f.StringVar(&s.TrustFile, "trust", "", "trust store file of plugin author keys (one alg:base64 key per line), relative to the working directory")
	f.StringVar(&s.CampaignKey, "campaign-key", "", "the aggregator's campaign-signing Ed25519 key, base64 (default: fetched from --aggregator now and pinned)")
	f.BoolVar(&s.AllowUnsigned, "allow-unsigned", false, "accept unsigned plugins (development only)")
	durationVar(f, &sendDelay, "send-delay", time.Hour, "largest random delay before a report is sent")
	f.Float64Var(&s.DailyEpsilon, "daily-epsilon", s.DailyEpsilon, "device-wide privacy budget in any 24 hours")
	f.Float64Var(&s.CategoryEpsilon, "category-epsilon", host.DefaultCategoryEpsilon, "long-term privacy budget of the answers about any one topic, over --lifetime-window")
	f.Float64Var(&s.LifetimeEpsilon, "lifetime-epsilon", host.DefaultLifetimeEpsilon, "long-term privacy budget of all answers together, over --lifetime-window")
	durationVar(f, &lifetimeWindow, "lifetime-window", host.DefaultLifetimeWindow, "the long-term budgets' sliding window (erasing everything starts it again)")
	durationVar(f, &retention, "retention", 30*24*time.Hour, "how long events are kept, e.g. 30d or 720h")
	f.Float64Var(&s.DummyRate, "dummy-rate", 0, "probability of a dummy report with each answer")
	return cmd
}

func deviceOrNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// fetchCampaignKey reads GET /v1/campaign-signing-key once, at init: the
// device then trusts that key and no other (trust on first use, made
// explicit and shown to the person provisioning the device).
func fetchCampaignKey(ctx context.Context, baseURL string, roots *x509.CertPool) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/v1/campaign-signing-key", nil)
	if err != nil {
		return "", err
	}
	resp, err := host.NewHTTPClient(roots).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s", resp.Status)
	}
	var k api.SigningKey
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&k); err != nil {
		return "", err
	}
	if k.Algorithm != "Ed25519" || len(k.PublicKey) != 32 {
		return "", fmt.Errorf("unexpected %q key of %d bytes", k.Algorithm, len(k.PublicKey))
	}
	return base64.StdEncoding.EncodeToString(k.PublicKey), nil
}

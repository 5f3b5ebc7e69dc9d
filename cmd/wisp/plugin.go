package main

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/wisp-project/wisp/cmd/wisp/internal/inspect"
	"github.com/wisp-project/wisp/cmd/wisp/internal/plugindir"
	"github.com/wisp-project/wisp/host/sandbox"
)

// newPluginCmd is `wisp plugin`, the plugin author's door: scaffold, build,
// sign, verify, inspect and test plugins without a device.
func newPluginCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugin",
		Short: "Write, build, sign, verify, inspect and test scoring plugins",
		Long: `plugin is the plugin author's toolbox. A plugin directory holds a manifest.json
(name, version, categories, limits), its source (main.go, *.c or *.wat) and
testdata/fixtures.json. The ABI is sdk/ABI.md; the guide is docs/PLUGINS.md.

  wisp plugin new tv --lang wat     scaffold ./tv that builds and passes its test
  wisp plugin build tv              → tv/tv.wasm
  wisp plugin test tv               run tv/testdata/fixtures.json in the real host
  wisp plugin keygen -o me.key      an author key (prints the public half)
  wisp plugin sign tv --key me.key  → tv/tv.manifest.json, signed
  wisp plugin verify --trust trust.txt tv/tv.manifest.json tv/tv.wasm
  wisp plugin inspect tv/tv.wasm    exports, imports, ABI, digest (and manifest)`,
	}
	cmd.AddCommand(pluginKeygenCmd(), pluginSignCmd(), pluginVerifyCmd(), pluginInspectCmd(), pluginTestCmd(),
		pluginNewCmd(), pluginBuildCmd())
	return cmd
}

func pluginKeygenCmd() *cobra.Command {
	var out, alg string
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Make a plugin author key pair; prints the public key for device trust stores",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := sandbox.GenerateKey(sandbox.SigAlg(alg), nil)
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, []byte(k.String()+"\n"), 0o600); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "secret key written to %s (keep it secret); public key:\n", out)
			fmt.Fprintln(cmd.OutOrStdout(), k.Public().String())
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "author.key", "where to write the secret key")
	cmd.Flags().StringVar(&alg, "alg", string(sandbox.Ed25519), "ed25519 or ed25519+mldsa65 (hybrid post-quantum)")
	return cmd
}

func pluginSignCmd() *cobra.Command {
	var keyPath, wasmPath, out string
	cmd := &cobra.Command{
		Use:     "sign <plugin dir>",
		Example: "  wisp plugin sign tv --key author.key",
		Short:   "Sign a plugin's manifest, binding it to the built .wasm",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := plugindir.Read(args[0])
			if err != nil {
				return err
			}
			if err := plugindir.CheckCategories(d.Manifest); err != nil {
				return err
			}
			keyText, err := os.ReadFile(keyPath)
			if err != nil {
				return err
			}
			key, err := sandbox.ParsePrivateKey(string(keyText))
			if err != nil {
				return fmt.Errorf("%s: %w", keyPath, err)
			}
			wasm, err := os.ReadFile(cmp(wasmPath, d.WasmPath()))
			if err != nil {
				return fmt.Errorf("%w (run wisp plugin build first)", err)
			}
			signed, err := sandbox.SignManifest(d.Manifest, wasm, key)
			if err != nil {
				return err
			}
			dst := cmp(out, d.SignedPath())
			if err := os.WriteFile(dst, signed, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "signed %s %s (sha256 %x) by %s → %s\n", d.Manifest.Name, d.Manifest.Version,
				sha256.Sum256(wasm), key.Public().Alg(), dst)
			return nil
		},
	}
	cmd.Flags().StringVar(&keyPath, "key", "author.key", "the author's secret key (wisp plugin keygen)")
	cmd.Flags().StringVar(&wasmPath, "wasm", "", "the module (default <dir>/<name>.wasm)")
	cmd.Flags().StringVarP(&out, "out", "o", "", "the signed manifest (default <dir>/<name>.manifest.json)")
	return cmd
}

func pluginVerifyCmd() *cobra.Command {
	var trustPath string
	cmd := &cobra.Command{
		Use:     "verify <signed manifest> <wasm>",
		Example: "  wisp plugin verify --trust trust.txt tv/tv.manifest.json tv/tv.wasm",
		Short:   "Check a plugin as a device would: signature, trust, digest, ABI, and that it loads",
		Args:    exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			trustText, err := os.ReadFile(trustPath)
			if err != nil {
				return err
			}
			trust, err := sandbox.ParseTrustStore(trustText)
			if err != nil {
				return err
			}
			signed, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			wasm, err := os.ReadFile(args[1])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			rt, err := sandbox.NewRuntimeWithConfig(sandbox.NewRuntimeConfig().WithTrustStore(trust))
			if err != nil {
				return err
			}
			defer rt.Close(ctx)
			p, err := rt.LoadSigned(ctx, signed, wasm)
			if err != nil {
				return fmt.Errorf("REFUSED: %w", err)
			}
			defer p.Close(ctx)
			m := p.Manifest()
			if err := plugindir.CheckCategories(m); err != nil {
				return fmt.Errorf("REFUSED: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "OK: %s %s by %s, ABI v%d, %d categories, limits %s\n",
				m.Name, m.Version, m.Author, m.ABI, len(m.Categories), limitsString(p.Limits()))
			return nil
		},
	}
	cmd.Flags().StringVar(&trustPath, "trust", "trust.txt", "trust store: one author public key per line")
	return cmd
}

func limitsString(l sandbox.Limits) string {
	return fmt.Sprintf("%d pages, %v and %d fuel per call, %d events, %d scores, log %d B/call %d B/s",
		l.MemoryPages, l.Deadline, l.Fuel, l.MaxEvents, l.MaxScores, l.LogBytes, l.LogRate)
}

func pluginInspectCmd() *cobra.Command {
	var manifestPath string
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "inspect <wasm>",
		Example: "  wisp plugin inspect tv/tv.wasm --manifest tv/manifest.json",
		Short:   "Show a module's exports, imports, ABI version and digest, and its manifest's limits and categories",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := inspect.Inspect(cmd.Context(), args[0], manifestPath)
			if err != nil {
				return err
			}
			if asJSON {
				err = printJSON(cmd.OutOrStdout(), in)
			} else {
				inspect.WriteText(cmd.OutOrStdout(), in)
			}
			if err == nil && len(in.Problems) > 0 {
				err = fmt.Errorf("%s: %d problems a device would refuse (listed above)", args[0], len(in.Problems))
			}
			return err
		},
	}
	cmd.Flags().StringVar(&manifestPath, "manifest", "", "a manifest (bare or signed) to show and check against the module")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func pluginTestCmd() *cobra.Command {
	var wasmPath, manifestPath, fixturesPath string
	var opt plugindir.TestOptions
	cmd := &cobra.Command{
		Use:     "test [plugin dir]",
		Example: "  wisp plugin test tv\n  wisp plugin test fridge --raw-events -v",
		Short:   "Run a plugin against its event fixtures in the real host sandbox",
		Args:    maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			wasm, manifest, fixtures := wasmPath, manifestPath, fixturesPath
			if len(args) == 1 {
				d, err := plugindir.Read(args[0])
				if err != nil {
					return err
				}
				wasm = cmp(wasm, d.WasmPath())
				manifest = cmp(manifest, d.ManifestPath())
				fixtures = cmp(fixtures, d.FixturesPath())
			}
			if wasm == "" || manifest == "" || fixtures == "" {
				return errors.New("give a plugin directory, or all of --wasm, --manifest and --fixtures; e.g. wisp plugin test tv, " +
					"or wisp plugin test --wasm tv.wasm --manifest manifest.json --fixtures testdata/fixtures.json")
			}
			return plugindir.Test(cmd.Context(), cmd.OutOrStdout(), wasm, manifest, fixtures, opt)
		},
	}
	cmd.Flags().StringVar(&wasmPath, "wasm", "", "the module (default <dir>/<name>.wasm)")
	cmd.Flags().StringVar(&manifestPath, "manifest", "", "the manifest (default <dir>/manifest.json)")
	cmd.Flags().StringVar(&fixturesPath, "fixtures", "", "the fixtures (default <dir>/testdata/fixtures.json)")
	cmd.Flags().BoolVarP(&opt.Verbose, "verbose", "v", false, "show the plugin's wisp.log lines")
	cmd.Flags().BoolVar(&opt.RawEvents, "raw-events", false, "send a plugin that opts into summary batches raw events instead, the path it must still accept (sdk/ABI.md 3.1)")
	return cmd
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

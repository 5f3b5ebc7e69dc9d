package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tetratelabs/wazero"

	"github.com/wisp-project/wisp/host/plugintest"
	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/sdk/abi"
)

// pluginCmd is `wisp plugin`, the plugin author's door: scaffold, build,
// sign, verify, inspect and test plugins without a device.
var pluginCmd = &cobra.Command{
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

func init() {
	pluginCmd.AddCommand(pluginKeygenCmd(), pluginSignCmd(), pluginVerifyCmd(), pluginInspectCmd(), pluginTestCmd(),
		pluginNewCmd(), pluginBuildCmd())
	commands = append(commands, pluginCmd)
}

// pluginDir is what a plugin directory holds, by convention.
type pluginDir struct {
	dir      string
	manifest sandbox.Manifest
}

func (d pluginDir) wasmPath() string     { return filepath.Join(d.dir, d.manifest.Name+".wasm") }
func (d pluginDir) signedPath() string   { return filepath.Join(d.dir, d.manifest.Name+".manifest.json") }
func (d pluginDir) fixturesPath() string { return filepath.Join(d.dir, "testdata", "fixtures.json") }

func readPluginDir(dir string) (pluginDir, error) {
	m, err := readManifestFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return pluginDir{}, err
	}
	return pluginDir{dir: dir, manifest: m}, nil
}

// readManifestFile reads a bare or a signed manifest (a signed one is read
// without verifying it: use verify for that).
func readManifestFile(path string) (sandbox.Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return sandbox.Manifest{}, err
	}
	var env struct {
		Manifest json.RawMessage `json:"manifest"`
	}
	if json.Unmarshal(b, &env) == nil && len(env.Manifest) > 0 {
		b = env.Manifest
	}
	m, err := sandbox.ParseManifest(b)
	if err != nil {
		return sandbox.Manifest{}, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

func pluginKeygenCmd() *cobra.Command {
	var out, alg string
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Make a plugin author key pair; prints the public key for device trust stores",
		Args:  cobra.NoArgs,
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
		Use:   "sign <plugin dir>",
		Short: "Sign a plugin's manifest, binding it to the built .wasm",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := readPluginDir(args[0])
			if err != nil {
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
			wasm, err := os.ReadFile(cmp(wasmPath, d.wasmPath()))
			if err != nil {
				return fmt.Errorf("%w (run wisp plugin build first)", err)
			}
			signed, err := sandbox.SignManifest(d.manifest, wasm, key)
			if err != nil {
				return err
			}
			dst := cmp(out, d.signedPath())
			if err := os.WriteFile(dst, signed, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "signed %s %s (sha256 %x) by %s → %s\n", d.manifest.Name, d.manifest.Version,
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
		Use:   "verify <signed manifest> <wasm>",
		Short: "Check a plugin as a device would: signature, trust, digest, ABI, and that it loads",
		Args:  cobra.ExactArgs(2),
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

// inspection is what `wisp plugin inspect` reports.
type inspection struct {
	File       string            `json:"file"`
	Bytes      int               `json:"bytes"`
	SHA256     string            `json:"sha256"`
	ABI        string            `json:"abi"`
	Exports    []string          `json:"exports"`
	Imports    []string          `json:"imports"`
	Memory     string            `json:"memory"`
	Manifest   *json.RawMessage  `json:"manifest,omitempty"`
	Categories map[uint32]string `json:"categories,omitempty"`
	Problems   []string          `json:"problems,omitempty"`
}

func pluginInspectCmd() *cobra.Command {
	var manifestPath string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect <wasm>",
		Short: "Show a module's exports, imports, ABI version and digest, and its manifest's limits and categories",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := inspect(cmd.Context(), args[0], manifestPath)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), in)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "file:     %s (%d bytes)\nsha256:   %s\nabi:      %s\nmemory:   %s\n", in.File, in.Bytes, in.SHA256, in.ABI, in.Memory)
			fmt.Fprintf(w, "exports:  %s\nimports:  %s\n", strings.Join(in.Exports, ", "), orNone(in.Imports))
			if in.Manifest != nil {
				fmt.Fprintf(w, "manifest: %s\n", *in.Manifest)
				cats := make([]uint32, 0, len(in.Categories))
				for c := range in.Categories {
					cats = append(cats, c)
				}
				sort.Slice(cats, func(i, j int) bool { return cats[i] < cats[j] })
				for _, c := range cats {
					fmt.Fprintf(w, "  category %d\t%s\n", c, in.Categories[c])
				}
			}
			for _, p := range in.Problems {
				fmt.Fprintf(w, "PROBLEM:  %s\n", p)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&manifestPath, "manifest", "", "a manifest (bare or signed) to show and check against the module")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, ", ")
}

func inspect(ctx context.Context, path, manifestPath string) (inspection, error) {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return inspection{}, err
	}
	sum := sha256.Sum256(wasm)
	in := inspection{File: path, Bytes: len(wasm), SHA256: hex.EncodeToString(sum[:]), ABI: "none (no wisp_abi_v* export)"}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(wazero.NewCompilationCache()))
	defer rt.Close(ctx)
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return inspection{}, fmt.Errorf("%s: not a valid module: %w", path, err)
	}
	for name, fn := range compiled.ExportedFunctions() {
		in.Exports = append(in.Exports, fmt.Sprintf("%s%s", name, sigString(fn.ParamTypes(), fn.ResultTypes())))
		if strings.HasPrefix(name, "wisp_abi_v") {
			in.ABI = strings.TrimPrefix(name, "wisp_abi_")
		}
	}
	for name, mem := range compiled.ExportedMemories() {
		in.Exports = append(in.Exports, name+" (memory)")
		max, hasMax := mem.Max()
		in.Memory = fmt.Sprintf("%d pages initial", mem.Min())
		if hasMax {
			in.Memory += fmt.Sprintf(", %d max", max)
		}
	}
	sort.Strings(in.Exports)
	for _, fn := range compiled.ImportedFunctions() {
		mod, name, _ := fn.Import()
		in.Imports = append(in.Imports, fmt.Sprintf("%s.%s%s", mod, name, sigString(fn.ParamTypes(), fn.ResultTypes())))
	}
	sort.Strings(in.Imports)
	// Would a device load it? (Unsigned: the module and ABI checks only.)
	m := sandbox.Manifest{Name: filepath.Base(path)}
	if manifestPath != "" {
		if m, err = readManifestFile(manifestPath); err != nil {
			return inspection{}, err
		}
		raw, _ := m.MarshalJSON()
		rm := json.RawMessage(raw)
		in.Manifest = &rm
		in.Categories = map[uint32]string{}
		names := taxonomyNames()
		for _, c := range m.Categories {
			in.Categories[c] = names[c]
			if names[c] == "" {
				in.Problems = append(in.Problems, fmt.Sprintf("category %d is not an IAB Audience Taxonomy 1.1 id", c))
			}
		}
		if m.WasmSHA256 != ([32]byte{}) && m.WasmSHA256 != sum {
			in.Problems = append(in.Problems, "the manifest's wasm_sha256 is not this module's")
		}
	}
	hrt := sandbox.NewRuntime(sandbox.DefaultPolicy())
	defer hrt.Close(ctx)
	if p, err := hrt.Load(ctx, m, wasm); err != nil {
		in.Problems = append(in.Problems, err.Error())
	} else {
		p.Close(ctx)
	}
	return in, nil
}

func sigString(params, results []wazeroValueType) string {
	name := func(ts []wazeroValueType) string {
		var s []string
		for _, t := range ts {
			s = append(s, valueTypeName(t))
		}
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf("(%s) -> (%s)", name(params), name(results))
}

func pluginTestCmd() *cobra.Command {
	var wasmPath, manifestPath, fixturesPath string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "test [plugin dir]",
		Short: "Run a plugin against its event fixtures in the real host sandbox",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			wasm, manifest, fixtures := wasmPath, manifestPath, fixturesPath
			if len(args) == 1 {
				d, err := readPluginDir(args[0])
				if err != nil {
					return err
				}
				wasm = cmp(wasm, d.wasmPath())
				manifest = cmp(manifest, filepath.Join(d.dir, "manifest.json"))
				fixtures = cmp(fixtures, d.fixturesPath())
			}
			if wasm == "" || manifest == "" || fixtures == "" {
				return errors.New("give a plugin directory, or --wasm, --manifest and --fixtures")
			}
			return runPluginTest(cmd.Context(), cmd.OutOrStdout(), wasm, manifest, fixtures, verbose)
		},
	}
	cmd.Flags().StringVar(&wasmPath, "wasm", "", "the module (default <dir>/<name>.wasm)")
	cmd.Flags().StringVar(&manifestPath, "manifest", "", "the manifest (default <dir>/manifest.json)")
	cmd.Flags().StringVar(&fixturesPath, "fixtures", "", "the fixtures (default <dir>/testdata/fixtures.json)")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "show the plugin's wisp.log lines")
	return cmd
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// testReporter is plugintest.TB for the command line.
type testReporter struct {
	failures []string
}

func (r *testReporter) Helper()        {}
func (r *testReporter) Cleanup(func()) {}
func (r *testReporter) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}
func (r *testReporter) Fatalf(format string, args ...any) { r.Errorf(format, args...) }

func runPluginTest(ctx context.Context, w io.Writer, wasmPath, manifestPath, fixturesPath string, verbose bool) error {
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		return err
	}
	m, err := readManifestFile(manifestPath)
	if err != nil {
		return err
	}
	fx, err := plugintest.ReadFile(fixturesPath)
	if err != nil {
		return err
	}
	cfg := sandbox.NewRuntimeConfig()
	if verbose {
		cfg = cfg.WithLogger(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}
	rt, err := sandbox.NewRuntimeWithConfig(cfg)
	if err != nil {
		return err
	}
	defer rt.Close(ctx)
	h, err := plugintest.Load(ctx, rt, wasm, m)
	if err != nil {
		return err
	}
	defer h.Close()
	var r testReporter
	h.Run(&r, fx.Cases)
	for _, f := range r.failures {
		fmt.Fprintln(w, "FAIL", f)
	}
	if len(r.failures) > 0 {
		return fmt.Errorf("%d of %d fixture checks failed", len(r.failures), 2*len(fx.Cases))
	}
	fmt.Fprintf(w, "ok  %s: %d fixtures, each run twice, in the host sandbox (ABI v%d)\n", m.Name, len(fx.Cases), abi.Version)
	return nil
}

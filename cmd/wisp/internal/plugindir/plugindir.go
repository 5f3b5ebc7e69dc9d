// Package plugindir is what `wisp plugin` knows about a plugin directory:
// its conventions (manifest.json, <name>.wasm, <name>.manifest.json,
// testdata/fixtures.json), how to build it in each language, and how to
// run its fixtures in the real host sandbox.
package plugindir

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/wisp-project/wisp/host/plugintest"
	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/internal/taxonomy"
	"github.com/wisp-project/wisp/sdk/abi"
)

// Dir is a plugin directory and its bare manifest.
type Dir struct {
	Path     string
	Manifest sandbox.Manifest
}

// WasmPath is where the built module goes: <dir>/<name>.wasm.
func (d Dir) WasmPath() string { return filepath.Join(d.Path, d.Manifest.Name+".wasm") }

// SignedPath is where the signed manifest goes: <dir>/<name>.manifest.json.
func (d Dir) SignedPath() string { return filepath.Join(d.Path, d.Manifest.Name+".manifest.json") }

// ManifestPath is the bare manifest: <dir>/manifest.json.
func (d Dir) ManifestPath() string { return filepath.Join(d.Path, "manifest.json") }

// FixturesPath is the plugin's test fixtures: <dir>/testdata/fixtures.json.
func (d Dir) FixturesPath() string { return filepath.Join(d.Path, "testdata", "fixtures.json") }

// Read reads the plugin directory dir.
func Read(dir string) (Dir, error) {
	m, err := ReadManifest(filepath.Join(dir, "manifest.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return Dir{}, fmt.Errorf("%s is not a plugin directory: it has no manifest.json; e.g. wisp plugin new %s makes one", dir, filepath.Base(filepath.Clean(dir)))
	}
	if err != nil {
		return Dir{}, err
	}
	return Dir{Path: dir, Manifest: m}, nil
}

// ReadManifest reads a bare or a signed manifest (a signed one is read
// without verifying it: use verify for that).
func ReadManifest(path string) (sandbox.Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return sandbox.Manifest{}, err
	}
	m, err := ParseManifest(b)
	if err != nil {
		return sandbox.Manifest{}, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// ParseManifest parses a bare or a signed manifest (not verified).
func ParseManifest(b []byte) (sandbox.Manifest, error) {
	var env struct {
		Manifest json.RawMessage `json:"manifest"`
	}
	if json.Unmarshal(b, &env) == nil && len(env.Manifest) > 0 {
		b = env.Manifest
	}
	return sandbox.ParseManifest(b)
}

// CheckCategories refuses a manifest whose categories are not all ids of
// the IAB Audience Taxonomy 1.1 (the sandbox checks their count and range,
// not the taxonomy: it links no taxonomy). Every `wisp plugin` and
// `wisp device install` step runs it, so a typo fails at the first.
func CheckCategories(m sandbox.Manifest) error {
	t := taxonomy.Default()
	var bad []string
	for _, c := range m.Categories {
		if _, ok := t.Lookup(c); !ok {
			bad = append(bad, strconv.FormatUint(uint64(c), 10))
		}
	}
	switch len(bad) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("plugin %s: category %s is not an IAB Audience Taxonomy 1.1 id (the manifest's categories must be, e.g. 706 Fitness Activity)", m.Name, bad[0])
	}
	return fmt.Errorf("plugin %s: categories %s are not IAB Audience Taxonomy 1.1 ids (the manifest's categories must be, e.g. 706 Fitness Activity)", m.Name, strings.Join(bad, ", "))
}

// Lang guesses a plugin directory's language from its sources.
func Lang(dir string) (string, error) {
	for _, probe := range []struct{ glob, lang string }{{"*.go", "go"}, {"*.c", "c"}, {"*.wat", "wat"}, {"assembly/index.ts", "assemblyscript"}} {
		if m, _ := filepath.Glob(filepath.Join(dir, probe.glob)); len(m) > 0 {
			return probe.lang, nil
		}
	}
	return "", fmt.Errorf("%s: no main.go, *.c, *.wat or assembly/index.ts source", dir)
}

// Build builds d to d.WasmPath() with the same commands as plugins/build.sh.
// sdkDir is the checkout's sdk directory, for C's wisp.h ("": FindSDK).
func Build(d Dir, lang, sdkDir string) error {
	out, err := filepath.Abs(d.WasmPath())
	if err != nil {
		return err
	}
	var c *exec.Cmd
	switch lang {
	case "go":
		c = exec.Command("go", "build", "-trimpath", "-ldflags=-s", "-buildmode=c-shared", "-o", out, ".")
		// -mod=mod lets a scaffold outside the Wisp module settle its go.mod offline.
		c.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOFLAGS=-mod=mod")
	case "c":
		if sdkDir == "" {
			if sdkDir, err = FindSDK(d.Path); err != nil {
				return err
			}
		}
		srcs, _ := filepath.Glob("*.c")
		if abs, _ := filepath.Abs(d.Path); abs != "" {
			srcs, _ = filepath.Glob(filepath.Join(abs, "*.c"))
		}
		c = exec.Command("clang", append([]string{"--target=wasm32", "-nostdlib", "-O2", "-mbulk-memory",
			"-I" + filepath.Join(sdkDir, "c"), "-Wl,--no-entry", "-Wl,--strip-debug", "-o", out}, srcs...)...)
	case "wat":
		srcs, _ := filepath.Glob(filepath.Join(d.Path, "*.wat"))
		if len(srcs) != 1 {
			return fmt.Errorf("%s: want exactly one .wat file, found %d", d.Path, len(srcs))
		}
		abs, _ := filepath.Abs(srcs[0])
		c = exec.Command("wat2wasm", abs, "-o", out)
	case "assemblyscript":
		if err := installASC(d.Path); err != nil {
			return err
		}
		c = exec.Command(filepath.Join("node_modules", ".bin", "asc"), slices.Concat([]string{"assembly/index.ts"}, ascFlags, []string{"-o", out})...)
	default:
		return fmt.Errorf("unknown language %q (go, c, wat or assemblyscript)", lang)
	}
	c.Dir = d.Path
	c.Stdout, c.Stderr = os.Stderr, os.Stderr
	if err := c.Run(); err != nil {
		var notFound *exec.Error
		if errors.As(err, &notFound) {
			return fmt.Errorf("%s not found: install it (apt-get install clang lld wabt, or Go from go.dev)", c.Path)
		}
		return fmt.Errorf("%s: %w", strings.Join(c.Args, " "), err)
	}
	return nil
}

// ASCVersion is the AssemblyScript compiler the scaffold pins and
// plugins/build.sh builds the example with; ascFlags are what the sandbox
// needs of its output (sdk/ABI.md section 11): the stub runtime (no
// collector running between calls) and no env.abort import.
const ASCVersion = "0.28.20"

var ascFlags = []string{"--runtime", "stub", "--use", "abort=", "-O3", "--noAssert"}

// installASC installs the plugin's pinned compiler (package.json) with npm
// when it is not there yet.
func installASC(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".bin", "asc")); err == nil {
		return nil
	}
	c := exec.Command("npm", "install", "--no-audit", "--no-fund")
	c.Dir = dir
	c.Stdout, c.Stderr = os.Stderr, os.Stderr
	if err := c.Run(); err != nil {
		var notFound *exec.Error
		if errors.As(err, &notFound) {
			return fmt.Errorf("npm not found: an AssemblyScript plugin needs Node.js and npm (apt-get install npm)")
		}
		return fmt.Errorf("npm install in %s (the AssemblyScript compiler): %w", dir, err)
	}
	return nil
}

// FindSDK looks for a Wisp checkout's sdk/ directory from dir upwards, then
// from the working directory.
func FindSDK(dir string) (string, error) {
	for _, start := range []string{dir, "."} {
		d, _ := filepath.Abs(start)
		for {
			if _, err := os.Stat(filepath.Join(d, "sdk", "c", "wisp.h")); err == nil {
				return filepath.Join(d, "sdk"), nil
			}
			parent := filepath.Dir(d)
			if parent == d {
				break
			}
			d = parent
		}
	}
	return "", errors.New("cannot find a Wisp checkout's sdk/ directory (Go plugins build against sdk/guest, C ones include sdk/c/wisp.h): " +
		"run inside a checkout, pass --sdk PATH/TO/wisp/sdk, or use --lang wat, which needs only wat2wasm")
}

// reporter is plugintest.TB for the command line.
type reporter struct {
	failures []string
}

func (r *reporter) Helper()        {}
func (r *reporter) Cleanup(func()) {}
func (r *reporter) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}
func (r *reporter) Fatalf(format string, args ...any) { r.Errorf(format, args...) }

// TestOptions are `wisp plugin test`'s switches.
type TestOptions struct {
	// Verbose writes the plugin's wisp.log lines.
	Verbose bool
	// RawEvents sends a plugin that opts into summary batches raw event
	// batches instead (plugintest.RawEvents), to test the path it must
	// still accept.
	RawEvents bool
}

// Test runs the fixtures file against the module and manifest in the real
// host sandbox, each fixture twice, and writes each failure (and, verbose,
// the plugin's log lines) to w.
func Test(ctx context.Context, w io.Writer, wasmPath, manifestPath, fixturesPath string, opt TestOptions) error {
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		return err
	}
	mode := "as a device sends them"
	if opt.RawEvents {
		if wasm, err = plugintest.RawEvents(wasm); err != nil {
			if errors.Is(err, plugintest.ErrNoSummaries) {
				return fmt.Errorf("%s does not export %s, so it gets raw events already: run it without --raw-events", wasmPath, abi.SummaryExport)
			}
			return fmt.Errorf("%s: %w", wasmPath, err)
		}
		mode = "as raw events (--raw-events), not the summaries a device sends"
	}
	m, err := ReadManifest(manifestPath)
	if err != nil {
		return err
	}
	if err := CheckCategories(m); err != nil {
		return err
	}
	fx, err := plugintest.ReadFile(fixturesPath)
	if err != nil {
		return err
	}
	cfg := sandbox.NewRuntimeConfig()
	if opt.Verbose {
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
	if err := h.Match(fx); err != nil {
		return fmt.Errorf("%s: %w", fixturesPath, err)
	}
	var r reporter
	h.Run(&r, fx.Cases)
	for _, f := range r.failures {
		fmt.Fprintln(w, "FAIL", f)
	}
	if len(r.failures) > 0 {
		failed := map[string]bool{}
		for _, f := range r.failures {
			name, _, _ := strings.Cut(f, " (round ")
			failed[name] = true
		}
		return fmt.Errorf("%d of %d fixtures failed (%d problems over two rounds; listed above)", len(failed), len(fx.Cases), len(r.failures))
	}
	cases := fmt.Sprintf("%d fixtures, each", len(fx.Cases))
	if len(fx.Cases) == 1 {
		cases = "1 fixture,"
	}
	fmt.Fprintf(w, "ok  %s: %s run twice, in the host sandbox (ABI v%d), %s\n", m.Name, cases, abi.Version, mode)
	return nil
}

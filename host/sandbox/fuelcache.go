package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/tetratelabs/wazero"

	"github.com/wisp-project/wisp/host/sandbox/internal/compileworker"
	"github.com/wisp-project/wisp/host/sandbox/internal/dataseg"
	"github.com/wisp-project/wisp/host/sandbox/internal/fuel"
	"github.com/wisp-project/wisp/host/sandbox/internal/wasmlimits"
)

// meteredDir names the folder of the instrumented-module cache. Its name
// is a digest of everything that decides whether a module passes
// validateOriginal and what meter makes of it: the pre-scan's code version
// and limit values, the instrumenter's and the segment merger's versions,
// and wazero's version (its validator, through the version directory it
// caches under).
// A change to any of them starts an empty folder, so an entry can only have
// been written by the same checks that would run now.
var meteredDir = sync.OnceValue(func() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%+v\x00%s\x00%s", fuel.Version, wasmlimits.Version, wasmlimits.Default(), compileworker.VersionDir(), dataseg.Version)
	return "metered-" + hex.EncodeToString(h.Sum(nil)[:12])
})

// instrument returns the module metered (meter). With a cache directory, it
// keeps the result there, keyed by the SHA-256 of the plugin's exact bytes
// and the initial fuel (the only input of Instrument besides the bytes),
// under meteredDir: a restarted device then neither validates nor
// instruments again. Measured in fresh processes (docs/BENCHMARKS.md,
// "Sandbox bounds"): instrumenting even the 3.5 KB fridge plugin took 0.1–
// 0.2 ms and the old validation marker's stat 30 µs, against about 25 µs to
// read the entry back; for a 2.6 MB Go module, 11 ms against 1 ms.
//
// Soundness: only modules validateOriginal accepted are instrumented, and
// only instrumented modules enter the cache, written whole (temp file,
// rename), so a hit was validated, by the same checks, when it was written.
// The cache is as trusted as wazero's compiled-code cache next to it:
// whoever can write there can already change native code.
//
// sum is the SHA-256 of wasm (the caller's, so the module is hashed once).
func (r *Runtime) instrument(ctx context.Context, wasm []byte, sum [sha256.Size]byte, initial int64) ([]byte, error) {
	if r.cacheDir == "" {
		if err := validateOriginal(ctx, wasm); err != nil {
			return nil, err
		}
		return meter(wasm, initial)
	}
	path := filepath.Join(r.cacheDir, meteredDir(), hex.EncodeToString(sum[:])+"-"+strconv.FormatInt(initial, 10)+".wasm")
	if b, err := os.ReadFile(path); err == nil && len(b) >= 8 {
		return b, nil
	}
	if err := validateOriginal(ctx, wasm); err != nil {
		return nil, err
	}
	out, err := meter(wasm, initial)
	if err != nil {
		return nil, err
	}
	// Best effort: a failed write only costs the next start some time.
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err == nil {
		if f, err := os.CreateTemp(filepath.Dir(path), "tmp-*"); err == nil {
			_, werr := f.Write(out)
			if cerr := f.Close(); werr == nil && cerr == nil {
				os.Rename(f.Name(), path)
			} else {
				os.Remove(f.Name())
			}
		}
	}
	return out, nil
}

// meter returns the module a plugin runs as: wasm fuel-metered, its data
// segments merged (dataseg: a Go module's 31,000 segments made 3, about
// 0.5 ms off each instance's start).
func meter(wasm []byte, initial int64) ([]byte, error) {
	out, err := fuel.Instrument(wasm, initial)
	if err != nil {
		return nil, err
	}
	return dataseg.Merge(out), nil
}

// validateOriginal has wazero (its interpreter, the cheapest full
// validation it offers) check the plugin's own module before the fuel
// rewriter touches it. The rewriter refuses code that names the globals it
// appends, but it parses the code itself; validating first means it only
// ever sees modules whose every byte wazero reads the same way, so no
// crafted encoding can hide a write that refills the fuel (DESIGN.md,
// "Known costs": validate the original module before instrumenting).
//
// Before wazero decodes anything, wasmlimits refuses modules past the
// implementation limits: wazero allocates by declared counts and compiles in
// time quadratic in a function's control instructions, so a 124-byte module
// could exhaust memory and a 30 KB one take a core for minutes.
func validateOriginal(ctx context.Context, wasm []byte) error {
	if err := wasmlimits.Check(wasm, wasmlimits.Default()); err != nil {
		return fmt.Errorf("invalid module: %w", err)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	if _, err := compileGuarded(ctx, rt, wasm); err != nil {
		return fmt.Errorf("invalid module: %w", err)
	}
	return nil
}

// compileGuarded is rt.CompileModule with a panic in wazero's decoder or
// compiler turned into an error. Its validator has let through bodies its
// compiler then choked on (a typed select in unreachable code panicked
// wazero v1.12's compiler in fuzzing); a module must never take the host
// down, and compilation touches no state another module shares.
func compileGuarded(ctx context.Context, rt wazero.Runtime, wasm []byte) (c wazero.CompiledModule, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("wazero panicked compiling the module: %v", r)
		}
	}()
	return rt.CompileModule(ctx, wasm)
}

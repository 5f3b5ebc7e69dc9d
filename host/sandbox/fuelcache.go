package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tetratelabs/wazero"

	"github.com/wisp-project/wisp/host/sandbox/internal/fuel"
	"github.com/wisp-project/wisp/host/sandbox/internal/wasmlimits"
)

// fuelCacheVersion names the instrumenter's output format; bump it when
// host/sandbox/internal/fuel changes what it emits.
const fuelCacheVersion = "fuel-v2"

// fuelCacheMin is the module size below which instrumenting (tens of
// microseconds) is cheaper than reading a cached copy.
const fuelCacheMin = 256 << 10

// instrument returns the fuel-metered module, from the on-disk cache when
// the runtime has one. Instrumenting a 2.6 MB Go module takes about 11 ms,
// a quarter of what the compile cache saves a restarted device; reading it
// back takes about 1 ms. The cache is as trusted as wazero's compiled-code
// cache next to it: whoever can write there can already change native code.
//
// Only modules wazero itself validates are rewritten (validateOriginal), and
// only rewritten modules enter the cache, so a cache hit was validated when
// it was written.
func (r *Runtime) instrument(ctx context.Context, wasm []byte, initial int64) ([]byte, error) {
	sum := sha256.Sum256(wasm)
	if r.cacheDir == "" || len(wasm) < fuelCacheMin {
		if err := r.validate(ctx, wasm, sum); err != nil {
			return nil, err
		}
		return fuel.Instrument(wasm, initial)
	}
	path := filepath.Join(r.cacheDir, fuelCacheVersion, fmt.Sprintf("%s-%d.wasm", hex.EncodeToString(sum[:]), initial))
	if b, err := os.ReadFile(path); err == nil {
		return b, nil
	}
	if err := r.validate(ctx, wasm, sum); err != nil {
		return nil, err
	}
	out, err := fuel.Instrument(wasm, initial)
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

// validate runs validateOriginal once per module digest: with a cache
// directory, an empty marker file records that the digest passed, so a
// restarted device does not pay for validation again (about 0.4 ms for a
// small C module, far more for a Go one).
func (r *Runtime) validate(ctx context.Context, wasm []byte, sum [32]byte) error {
	if r.cacheDir == "" {
		return validateOriginal(ctx, wasm)
	}
	marker := filepath.Join(r.cacheDir, validatedVersion, hex.EncodeToString(sum[:]))
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	if err := validateOriginal(ctx, wasm); err != nil {
		return err
	}
	// Best effort, like the caches: a missing marker only costs time.
	if err := os.MkdirAll(filepath.Dir(marker), 0o700); err == nil {
		os.WriteFile(marker, nil, 0o600)
	}
	return nil
}

// validatedVersion names the validation markers' folder; bump it with the
// wazero version or its enabled features.
const validatedVersion = "validated-wazero-v1.12"

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

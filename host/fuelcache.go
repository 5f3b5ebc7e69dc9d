package host

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wisp-project/wisp/host/internal/fuel"
)

// fuelCacheVersion names the instrumenter's output format; bump it when
// host/internal/fuel changes what it emits.
const fuelCacheVersion = "fuel-v1"

// fuelCacheMin is the module size below which instrumenting (tens of
// microseconds) is cheaper than reading a cached copy.
const fuelCacheMin = 256 << 10

// instrument returns the fuel-metered module, from the on-disk cache when
// the runtime has one. Instrumenting a 2.6 MB Go module takes about 11 ms,
// a quarter of what the compile cache saves a restarted device; reading it
// back takes about 1 ms. The cache is as trusted as wazero's compiled-code
// cache next to it: whoever can write there can already change native code.
func (r *Runtime) instrument(wasm []byte, initial int64) ([]byte, error) {
	if r.cacheDir == "" || len(wasm) < fuelCacheMin {
		return fuel.Instrument(wasm, initial)
	}
	sum := sha256.Sum256(wasm)
	path := filepath.Join(r.cacheDir, fuelCacheVersion, fmt.Sprintf("%s-%d.wasm", hex.EncodeToString(sum[:]), initial))
	if b, err := os.ReadFile(path); err == nil {
		return b, nil
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

package sandbox_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/plugins"
)

// TestOriginalValidatedOnceBeforeInstrumenting checks that a module wazero
// rejects is refused before the fuel rewriter sees it, and that a valid
// module's validated, instrumented form is kept in the cache directory
// (keyed by its digest, its fuel and the checks' versions).
func TestOriginalValidatedOnceBeforeInstrumenting(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	rt, err := sandbox.NewRuntimeWithConfig(sandbox.NewRuntimeConfig().WithCompilationCacheDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)

	// (module (func (result i32) (i64.const 0))): well-formed bytes, wrong type.
	invalid := []byte("\x00asm\x01\x00\x00\x00" +
		"\x01\x05\x01\x60\x00\x01\x7f" + // type: () -> i32
		"\x03\x02\x01\x00" + // func 0: type 0
		"\x0a\x06\x01\x04\x00\x42\x00\x0b") // body: i64.const 0; end
	_, err = rt.Load(ctx, sandbox.Manifest{Name: "invalid"}, invalid)
	if !errors.Is(err, sandbox.ErrRefused) || !strings.Contains(err.Error(), "invalid module") {
		t.Fatalf("Load(invalid) = %v, want ErrRefused from validation", err)
	}

	p, err := rt.Load(ctx, sandbox.Manifest{Name: "example", Categories: []uint32{1}}, plugins.Example)
	if err != nil {
		t.Fatal(err)
	}
	p.Close(ctx)
	sum := hex.EncodeToString(func() []byte { s := sha256.Sum256(plugins.Example); return s[:] }())
	fuel := strconv.FormatInt(sandbox.DefaultPolicy().Fuel, 10)
	entries, _ := filepath.Glob(filepath.Join(dir, "metered-*", sum+"-"+fuel+".wasm"))
	if len(entries) != 1 {
		t.Fatalf("instrumented-module entry for the example plugin: %v", entries)
	}
	bad := sha256.Sum256(invalid)
	if m, _ := filepath.Glob(filepath.Join(dir, "metered-*", hex.EncodeToString(bad[:])+"-*")); len(m) != 0 {
		t.Fatalf("an invalid module entered the cache: %v", m)
	}
	// A restarted device loads from the entry (no validation, no
	// instrumenting): the same plugin, the same answer.
	rt2, err := sandbox.NewRuntimeWithConfig(sandbox.NewRuntimeConfig().WithCompilationCacheDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer rt2.Close(ctx)
	p, err = rt2.Load(ctx, sandbox.Manifest{Name: "example", Categories: []uint32{1}}, plugins.Example)
	if err != nil {
		t.Fatal(err)
	}
	p.Close(ctx)
	if _, err := os.Stat(entries[0]); err != nil {
		t.Fatal(err)
	}
}

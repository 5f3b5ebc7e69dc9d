package sandbox_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/plugins"
)

// TestOriginalValidatedOnceBeforeInstrumenting checks that a module wazero
// rejects is refused before the fuel rewriter sees it, and that a valid
// module's validation is remembered in the cache directory.
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
	sum := sha256.Sum256(plugins.Example)
	markers, _ := filepath.Glob(filepath.Join(dir, "validated-*", hex.EncodeToString(sum[:])))
	if len(markers) != 1 {
		t.Fatalf("validation marker for the example plugin: %v", markers)
	}
	bad := sha256.Sum256(invalid)
	if m, _ := filepath.Glob(filepath.Join(dir, "validated-*", hex.EncodeToString(bad[:]))); len(m) != 0 {
		t.Fatalf("an invalid module was marked valid: %v", m)
	}
	if _, err := os.Stat(markers[0]); err != nil {
		t.Fatal(err)
	}
}

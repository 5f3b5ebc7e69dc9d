package sandbox_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/plugins"
)

// TestCompileCacheDir checks a second runtime (a restarted device) loads
// from the on-disk cache the first one filled, and scores the same.
func TestCompileCacheDir(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	m := sandbox.Manifest{Name: "tv", Categories: []uint32{706}}
	var want float32
	for run := range 2 {
		rt, err := sandbox.NewRuntimeWithConfig(sandbox.NewRuntimeConfig().WithCompilationCacheDir(dir))
		if err != nil {
			t.Fatal(err)
		}
		p, err := rt.Load(ctx, m, plugins.Example)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		got, err := p.Score(ctx, week())
		if err != nil {
			t.Fatal(err)
		}
		if run == 0 {
			want = 0
			if len(got) > 0 {
				want = got[0].Value
			}
		} else if (len(got) > 0 && got[0].Value != want) || (len(got) == 0 && want != 0) {
			t.Fatalf("restarted device scored %v, first run %v", got, want)
		}
		p.Close(ctx)
		rt.Close(ctx)
	}
	entries, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(entries) < 1 { // wazero's cache (small modules are instrumented in memory)
		t.Fatalf("cache dir holds %v", entries)
	}
	if _, err := sandbox.NewRuntimeWithConfig(sandbox.NewRuntimeConfig().WithCompilationCacheDir("/proc/no/such/dir")); err == nil {
		t.Fatal("an unusable cache dir was accepted")
	}
}

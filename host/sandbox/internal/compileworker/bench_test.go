package compileworker

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/wisp-project/wisp/plugins"
)

var benchModules = map[string][]byte{"fitness": plugins.Fitness, "fridge": plugins.Fridge}

// In-process compile, no cache: today's cost of loading a new plugin.
func BenchmarkInProcess(b *testing.B) {
	for name, wasm := range benchModules {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				rt := wazero.NewRuntimeWithConfig(ctx, Config{}.RuntimeConfig())
				if _, err := rt.CompileModule(ctx, wasm); err != nil {
					b.Fatal(err)
				}
				rt.Close(ctx)
			}
		})
	}
}

// Worker on a cold cache, then the parent's load: the cost of loading a
// new plugin with this package.
func BenchmarkWorkerCold(b *testing.B) {
	for name, wasm := range benchModules {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				dir := b.TempDir()
				if _, err := Compile(context.Background(), dir, wasm, Config{}, DefaultBudget); err != nil {
					b.Fatal(err)
				}
				parentCompile(b, dir, Config{}, wasm)
			}
		})
	}
}

// Worker only (fork+exec+compile+rename), cold cache.
func BenchmarkWorkerOnly(b *testing.B) {
	for name, wasm := range benchModules {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Compile(context.Background(), b.TempDir(), wasm, Config{}, DefaultBudget); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Warm restart: Compile finds its index (no child), the parent loads.
func BenchmarkWarm(b *testing.B) {
	for name, wasm := range benchModules {
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			if _, err := Compile(context.Background(), dir, wasm, Config{}, DefaultBudget); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				r, err := Compile(context.Background(), dir, wasm, Config{}, DefaultBudget)
				if err != nil || !r.Cached {
					b.Fatal(r, err)
				}
				parentCompile(b, dir, Config{}, wasm)
			}
		})
	}
}

package sandbox_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/plugins"
	"github.com/wisp-project/wisp/plugins/fridge/scorer"
	"github.com/wisp-project/wisp/sdk/abi"
	"github.com/wisp-project/wisp/sdk/guest"
)

// The speed goals (docs/BENCHMARKS.md, "Plugin platform") compare these:
//
//	go test -run XXX -bench . ./host/sandbox/
//
// `wisp bench plugin` measures the same side by side in interleaved rounds.

func fridgeEvents(n int) []abi.Event {
	events := make([]abi.Event, n)
	for i := range events {
		events[i] = abi.Event{Kind: uint32(1 + i%3), Code: uint32(1 + (i*7)%12), Time: int64(i) * 60_000, Value: float64(1 + i%5)}
	}
	return events
}

func BenchmarkFridgeNative(b *testing.B) {
	events := fridgeEvents(1000)
	var s guest.Scores
	for b.Loop() {
		s.Reset()
		scorer.Score(events, &s)
	}
}

func benchPlugin(b *testing.B, wasm []byte, pages uint32, events []abi.Event) {
	ctx := context.Background()
	p, err := sandbox.NewRuntime(sandbox.DefaultPolicy()).Load(ctx,
		sandbox.Manifest{Name: "bench", Categories: scorer.Categories, Limits: sandbox.Limits{MemoryPages: pages}}, wasm)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(ctx)
	for b.Loop() {
		if _, err := p.Score(ctx, events); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFridgeC takes summary batches (sdk/ABI.md 3.1); FridgeCEvents is
// the same C source built for raw events.
func BenchmarkFridgeC(b *testing.B) { benchPlugin(b, plugins.Fridge, 16, fridgeEvents(1000)) }
func BenchmarkFridgeCEvents(b *testing.B) {
	benchPlugin(b, plugins.FridgeEvents, 16, fridgeEvents(1000))
}
func BenchmarkFridgeGoWasm(b *testing.B) {
	benchPlugin(b, plugins.FridgeGo, 256, fridgeEvents(1000))
}

// BenchmarkCallOverhead is one host→plugin call with an empty batch: encode,
// write, call (fuel and deadline armed), read, validate.
func BenchmarkCallOverhead(b *testing.B) { benchPlugin(b, plugins.Example, 5, nil) }

// BenchmarkCallCloseOnContextDone is the alternative the host rejected: the
// same empty call on wazero with WithCloseOnContextDone and a deadline.
func BenchmarkCallCloseOnContextDone(b *testing.B) {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true))
	defer rt.Close(ctx)
	mod, err := rt.Instantiate(ctx, plugins.Example)
	if err != nil {
		b.Fatal(err)
	}
	score := mod.ExportedFunction(abi.ScoreExport)
	in := abi.AppendBatch(nil, nil)
	mod.Memory().Write(1024, in)
	var stack [4]uint64
	for b.Loop() {
		c, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		stack = [4]uint64{1024, uint64(len(in)), 1024 + 16, 512}
		if err := score.CallWithStack(c, stack[:]); err != nil {
			b.Fatal(err)
		}
		cancel()
	}
}

// BenchmarkLoadFromCache is a restarted device loading a C plugin from a
// warm on-disk compile cache (in-process, so wazero's own caches are cold
// only for the first iteration; wisp bench plugin uses fresh processes).
func BenchmarkLoadFromCache(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	m := sandbox.Manifest{Name: "fridge", Categories: scorer.Categories, Limits: sandbox.Limits{MemoryPages: 16}}
	for b.Loop() {
		rt, err := sandbox.NewRuntimeWithConfig(sandbox.NewRuntimeConfig().WithCompilationCacheDir(dir))
		if err != nil {
			b.Fatal(err)
		}
		p, err := rt.Load(ctx, m, plugins.Fridge)
		if err != nil {
			b.Fatal(err)
		}
		p.Close(ctx)
		rt.Close(ctx)
	}
}

// BenchmarkCallOverheadIsolated is BenchmarkCallOverhead with process
// isolation: the call goes to the plugin's worker process and back.
func BenchmarkCallOverheadIsolated(b *testing.B) {
	ctx := context.Background()
	rt, err := sandbox.NewRuntimeWithConfig(sandbox.NewRuntimeConfig().WithProcessIsolation(true))
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close(ctx)
	p, err := rt.Load(ctx, sandbox.Manifest{Name: "bench", Categories: scorer.Categories, Limits: sandbox.Limits{MemoryPages: 5}}, plugins.Example)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(ctx)
	for b.Loop() {
		if _, err := p.Score(ctx, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEmptyCallAllocatesNothing: arming the fuel, the deadline and the
// context hook for a call keeps its state in the instance, so a pooled
// call of an empty batch allocates nothing (it allocated one closure per
// call before; counted, not timed).
func TestEmptyCallAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	p, err := sandbox.NewRuntime(sandbox.DefaultPolicy()).Load(ctx,
		sandbox.Manifest{Name: "allocs", Categories: scorer.Categories, Limits: sandbox.Limits{MemoryPages: 5}}, plugins.Example)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if _, err := p.Score(ctx, nil); err != nil { // the first call makes the instance
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := p.Score(ctx, nil); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("an empty call allocates %.1f objects, want 0", allocs)
	}
}

// BenchmarkLoadShared is a device of a fleet loading the Go fitness plugin
// (2.6 MB) into a runtime that compiled it already: the module's digest
// and the start of an instance of its own (memory, data segments, the Go
// runtime's initialization).
func BenchmarkLoadShared(b *testing.B) {
	ctx := context.Background()
	rt := sandbox.NewRuntime(sandbox.DefaultPolicy())
	defer rt.Close(ctx)
	m := sandbox.Manifest{Name: "fitness", Categories: []uint32{410}}
	wasm := bytes.Clone(plugins.Fitness) // the device's own copy, as read from its file
	first, err := rt.Load(ctx, m, plugins.Fitness)
	if err != nil {
		b.Fatal(err)
	}
	defer first.Close(ctx)
	for b.Loop() {
		p, err := rt.Load(ctx, m, wasm)
		if err != nil {
			b.Fatal(err)
		}
		p.Close(ctx)
	}
}

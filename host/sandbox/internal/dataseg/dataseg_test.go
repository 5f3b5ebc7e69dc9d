package dataseg_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wisp-project/wisp/host/sandbox/internal/dataseg"
	"github.com/wisp-project/wisp/host/sandbox/internal/wasmbin"
	"github.com/wisp-project/wisp/plugins"
)

// memoryAfterInstantiation instantiates wasm (no start functions) with
// every import stubbed and returns its memory's bytes, or the error.
func memoryAfterInstantiation(t *testing.T, wasm []byte) ([]byte, error) {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	stubs := map[string]wazero.HostModuleBuilder{}
	for _, fn := range compiled.ImportedFunctions() {
		mod, name, _ := fn.Import()
		if stubs[mod] == nil {
			stubs[mod] = rt.NewHostModuleBuilder(mod)
		}
		results := fn.ResultTypes()
		stubs[mod].NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(context.Context, api.Module, []uint64) {}), fn.ParamTypes(), results).Export(name)
	}
	for _, b := range stubs {
		if _, err := b.Instantiate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithStartFunctions())
	if err != nil {
		return nil, err
	}
	mem, _ := mod.Memory().Read(0, mod.Memory().Size())
	return bytes.Clone(mem), nil
}

// segments counts a module's data segments.
func segments(t *testing.T, wasm []byte) uint64 {
	t.Helper()
	r := wasmbin.Reader{B: wasm, Off: 8}
	for !r.Done() {
		id := r.Byte()
		body := r.Take(r.ULEB(32))
		if id == 11 {
			br := wasmbin.Reader{B: body}
			return br.ULEB(32)
		}
	}
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	return 0
}

// The example plugins' memories start the same merged or not; the Go ones
// (tens of thousands of segments) end with a handful.
func TestMergeKeepsThePluginsMemory(t *testing.T) {
	for _, tt := range []struct {
		name   string
		wasm   []byte
		maxSeg uint64
	}{
		{"fitness", plugins.Fitness, 8},
		{"fridge-go", plugins.FridgeGo, 8},
		{"fridge", plugins.Fridge, 0},
		{"store", plugins.Store, 0},
		{"home", plugins.Home, 0},
		{"tv", plugins.TV, 0},
	} {
		merged := dataseg.Merge(tt.wasm)
		before, after := segments(t, tt.wasm), segments(t, merged)
		if tt.maxSeg > 0 && (after > tt.maxSeg || before < 1000) {
			t.Errorf("%s: %d segments merged into %d, want at most %d", tt.name, before, after, tt.maxSeg)
		}
		if after > before {
			t.Errorf("%s: %d segments became %d", tt.name, before, after)
		}
		want, err1 := memoryAfterInstantiation(t, tt.wasm)
		got, err2 := memoryAfterInstantiation(t, merged)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: instantiate: %v, merged %v", tt.name, err1, err2)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: merged module's memory differs (%d segments into %d)", tt.name, before, after)
		}
	}
}

type seg struct {
	flag byte // 0 active, 1 passive
	off  int32
	init string
}

// module assembles a module with one memory of a page (imported if
// importMem), a data count section if dataCount, and segs.
func module(importMem, dataCount bool, segs ...seg) []byte {
	sec := func(out []byte, id byte, body []byte) []byte {
		out = append(out, id)
		out = wasmbin.AppendULEB(out, uint64(len(body)))
		return append(out, body...)
	}
	out := []byte("\x00asm\x01\x00\x00\x00")
	if importMem {
		out = sec(out, 2, []byte{1, 1, 'm', 1, 'm', 2, 0, 1})
	} else {
		out = sec(out, 5, []byte{1, 0, 1})
	}
	if dataCount {
		out = sec(out, 12, wasmbin.AppendULEB(nil, uint64(len(segs))))
	}
	body := wasmbin.AppendULEB(nil, uint64(len(segs)))
	for _, s := range segs {
		body = append(body, s.flag)
		if s.flag == 0 {
			body = append(body, 0x41)
			body = wasmbin.AppendSLEB(body, int64(s.off))
			body = append(body, 0x0B)
		}
		body = wasmbin.AppendULEB(body, uint64(len(s.init)))
		body = append(body, s.init...)
	}
	return sec(out, 11, body)
}

func TestMergeJoinsAcrossSmallGapsInAnyOrder(t *testing.T) {
	// Out of order, a 3-byte gap, one far apart.
	orig := module(false, false, seg{0, 100, "world"}, seg{0, 92, "hello"}, seg{0, 2000, "far"})
	merged := dataseg.Merge(orig)
	if n := segments(t, merged); n != 2 {
		t.Errorf("%d segments after merging, want 2 (92–105 and 2000)", n)
	}
	want, err1 := memoryAfterInstantiation(t, orig)
	got, err2 := memoryAfterInstantiation(t, merged)
	if err1 != nil || err2 != nil || !bytes.Equal(got, want) {
		t.Errorf("memory differs after merging (%v, %v)", err1, err2)
	}
	// A segment past the memory still fails instantiation.
	oob := module(false, false, seg{0, 10, "a"}, seg{0, 65534, "abc"})
	if _, err := memoryAfterInstantiation(t, dataseg.Merge(oob)); err == nil {
		t.Error("a merged segment past the end of memory instantiated")
	}
	if n := segments(t, dataseg.Merge(module(false, false, seg{0, 10, "a"}, seg{0, 10 + 1 + dataseg.MaxGap + 1, "b"}))); n != 2 {
		t.Errorf("segments MaxGap+1 apart became %d, want 2", n)
	}
}

// Where merging could be observed, Merge returns the module unchanged.
func TestMergeLeavesWhatItCannotProve(t *testing.T) {
	for _, tt := range []struct {
		name string
		wasm []byte
	}{
		{"overlapping segments", module(false, false, seg{0, 10, "abcdef"}, seg{0, 12, "XY"}, seg{0, 20, "c"})},
		{"a data count section", module(false, true, seg{0, 10, "a"}, seg{0, 12, "b"})},
		{"an imported memory", module(true, false, seg{0, 10, "a"}, seg{0, 12, "b"})},
		{"a passive segment", module(false, false, seg{0, 10, "a"}, seg{1, 0, "p"}, seg{0, 12, "b"})},
		{"a negative offset", module(false, false, seg{0, 10, "a"}, seg{0, -1, "b"})},
	} {
		if got := dataseg.Merge(tt.wasm); !bytes.Equal(got, tt.wasm) {
			t.Errorf("a module with %s was rewritten", tt.name)
		}
	}
}

// FuzzMerge: Merge never panics, and a module it rewrites instantiates
// exactly when the original does, with the same memory.
func FuzzMerge(f *testing.F) {
	f.Add(module(false, false, seg{0, 100, "world"}, seg{0, 92, "hello"}, seg{0, 2000, "far"}))
	f.Add(module(false, false, seg{0, 10, "a"}, seg{0, 65534, "abc"}))
	f.Add(module(false, false, seg{0, 10, "abcdef"}, seg{0, 12, "XY"}, seg{0, 20, "c"}))
	f.Add(module(false, true, seg{0, 10, "a"}, seg{0, 12, "b"}))
	f.Add(plugins.TV)
	f.Fuzz(func(t *testing.T, wasm []byte) {
		merged := dataseg.Merge(wasm)
		if bytes.Equal(merged, wasm) {
			return
		}
		ctx := context.Background()
		rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
		defer rt.Close(ctx)
		if _, err := rt.CompileModule(ctx, wasm); err != nil {
			return // Merge expects a valid module
		}
		want, err1 := memoryAfterInstantiation(t, wasm)
		got, err2 := memoryAfterInstantiation(t, merged)
		if (err1 == nil) != (err2 == nil) || !bytes.Equal(got, want) {
			t.Fatalf("instantiation: %v, merged %v; memories equal: %v", err1, err2, bytes.Equal(got, want))
		}
	})
}

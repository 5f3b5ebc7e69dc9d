package fuel_test

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wisp-project/wisp/host/sandbox/internal/fuel"
)

func runOutOfFuel(t *testing.T, wasm []byte, budget int64) api.Module {
	t.Helper()
	ctx := context.Background()
	out, err := fuel.Instrument(wasm, 0)
	if err != nil {
		t.Fatal(err)
	}
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { rt.Close(ctx) })
	mod, err := rt.Instantiate(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	f := mod.ExportedGlobal(fuel.FuelExport).(api.MutableGlobal)
	f.Set(uint64(budget))
	if _, err := mod.ExportedFunction("f").Call(ctx); err == nil {
		t.Fatal("an endless loop returned")
	}
	if int64(f.Get()) >= 0 {
		t.Fatalf("trapped with fuel %d left", int64(f.Get()))
	}
	return mod
}

// TestFuelHole: code after a loop that never runs is charged (it was
// charged to that loop's region and ran free).
func TestFuelHole(t *testing.T) {
	m := newModule()
	tp := m.typ(nil, nil)
	m.memMin = 1
	body := cat(opLoop, lget(0), i32c(-7), i32Eq, opIf, opLoop, opEnd, opEnd)
	for range 10_000 { // 6 instructions each
		body = append(body, cat(i32c(0), i32c(0), i32Load, i32c(1), i32Add, i32Store)...)
	}
	body = append(body, cat(br(0), opEnd, opEnd)...)
	m.funcs = append(m.funcs, wfunc{typ: tp, locals: []byte{tI32}, body: body})
	m.exports = append(m.exports, wexport{"f", 0, 0}, wexport{"memory", 2, 0})
	const budget = 1_000_000
	mod := runOutOfFuel(t, m.bytes(), budget)
	stores, _ := mod.Memory().ReadUint32Le(0)
	if stores*6 > budget {
		t.Fatalf("%d stores (%d instructions) ran on %d fuel", stores, stores*6, budget)
	}
}

// TestBulkFill: a loop of 32 MiB memory.fill runs out within the fills its
// fuel pays for.
func TestBulkFill(t *testing.T) {
	m := newModule()
	tp := m.typ(nil, nil)
	m.memMin, m.memMax = 512, 512
	m.globals, m.nGlobals = []byte{tI32, 1, 0x41, 0, 0x0B}, 1
	body := cat(opLoop, i32c(0), i32c(0x5a), i32c(32<<20), memFill,
		gget(0), i32c(1), i32Add, gset(0), br(0), opEnd, opEnd)
	m.funcs = append(m.funcs, wfunc{typ: tp, body: body})
	m.exports = append(m.exports, wexport{"f", 0, 0}, wexport{"fills", 3, 0})
	const budget = 300_000_000
	mod := runOutOfFuel(t, m.bytes(), budget)
	fills := mod.ExportedGlobal("fills").Get()
	if filled := fills * 32 << 20; filled > budget<<fuel.MemoryByteShift {
		t.Fatalf("%d fills (%d bytes) on %d fuel", fills, filled, budget)
	}
	t.Logf("%d fills of 32 MiB on %d fuel", fills, budget)
}

// TestStartExported: the start section is removed and its function exported
// as StartExport; instantiating runs nothing, calling it does.
func TestStartExported(t *testing.T) {
	ctx := context.Background()
	m := newModule()
	tp := m.typ(nil, nil)
	m.globals, m.nGlobals = []byte{tI32, 1, 0x41, 0, 0x0B}, 1
	m.funcs = append(m.funcs, wfunc{typ: tp, body: cat(i32c(42), gset(0), opEnd)})
	m.exports = append(m.exports, wexport{"g", 3, 0})
	m.start = 0
	out, err := fuel.Instrument(m.bytes(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	mod, err := rt.Instantiate(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	if v := mod.ExportedGlobal("g").Get(); v != 0 {
		t.Fatalf("the start function ran at instantiation (g = %d)", v)
	}
	if _, err := mod.ExportedFunction(fuel.StartExport).Call(ctx); err != nil {
		t.Fatal(err)
	}
	if v := mod.ExportedGlobal("g").Get(); v != 42 {
		t.Fatalf("g = %d after %s", v, fuel.StartExport)
	}
	m.exports = append(m.exports, wexport{fuel.StartExport, 0, 0})
	if _, err := fuel.Instrument(m.bytes(), 1000); err == nil {
		t.Fatal("a module exporting a reserved name was instrumented")
	}
}

// TestRefTypeImmediates: block types and select types of the form (ref
// null? ht) are one value type, the heap type included (WebAssembly 3.0,
// 5.3.3 and 5.4.1). wazero v1.12 accepts them with its default features;
// a walker that read 0x63 as a one-byte type index and the heap type 2 as
// a block instruction refused the module as unbalanced.
func TestRefTypeImmediates(t *testing.T) {
	m := newModule()
	tp := m.typ(nil, nil)
	m.typ([]byte{tI32}, nil)
	m.typ(nil, []byte{tI32})
	body := []byte{
		0x02, 0x63, 0x02, 0x00, 0x0B, 0x1A, // block (result (ref null 2)) unreachable end; drop
		0x02, 0x64, 0x70, 0x00, 0x0B, 0x1A, // block (result (ref func)) unreachable end; drop
		0xD0, 0x70, 0xD0, 0x70, 0x41, 0x00, 0x1C, 0x01, 0x63, 0x70, 0x1A, // select (ref null func) of two ref.null; drop
		0x0B,
	}
	m.funcs = append(m.funcs, wfunc{typ: tp, body: body})
	m.exports = append(m.exports, wexport{"f", 0, 0})
	compilesInstrumented(t, m.bytes())
}

// TestRefTypeLocal: a local of type (ref null 2) is one value type, its
// heap type included; read as the byte 0x63, the heap type 0x02 became
// the body's first instruction, a block that never closes.
func TestRefTypeLocal(t *testing.T) {
	m := newModule()
	tp := m.typ(nil, nil)
	m.typ([]byte{tI32}, nil)
	m.typ(nil, []byte{tI32})
	// The builder writes one byte per local type: the heap type 2 of
	// (ref null 2) goes at the start of the body.
	m.funcs = append(m.funcs, wfunc{typ: tp, locals: []byte{0x63}, body: []byte{0x02, 0x20, 0x00, 0x1A, 0x0B}})
	m.exports = append(m.exports, wexport{"f", 0, 0})
	compilesInstrumented(t, m.bytes())
}

// compilesInstrumented: wazero accepts wasm, Instrument accepts it, and
// wazero accepts the result.
func compilesInstrumented(t *testing.T, wasm []byte) {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	if _, err := rt.CompileModule(ctx, wasm); err != nil {
		t.Fatalf("wazero refuses the original: %v", err)
	}
	out, err := fuel.Instrument(wasm, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rt.CompileModule(ctx, out); err != nil {
		t.Fatalf("wazero refuses the instrumented module: %v", err)
	}
}

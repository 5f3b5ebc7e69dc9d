package fuel_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wisp-project/wisp/host/sandbox/internal/fuel"
	"github.com/wisp-project/wisp/plugins"
)

func modules(t testing.TB) map[string][]byte {
	t.Helper()
	m := map[string][]byte{"fitness": plugins.Fitness, "fridge": plugins.Fridge, "tv": plugins.TV, "car": plugins.Car, "home": plugins.Home}
	paths, _ := filepath.Glob("../../../../testdata/plugins/hostile/*.wasm")
	if len(paths) == 0 {
		t.Fatal("no hostile modules found under testdata/plugins/hostile")
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m["hostile/"+filepath.Base(p)] = b
	}
	return m
}

// TestInstrumentedModulesCompile: every module the instrumenter accepts
// still compiles, and exports the two globals.
func TestInstrumentedModulesCompile(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	for name, wasm := range modules(t) {
		out, err := fuel.Instrument(wasm, 1000)
		if err != nil {
			if !errors.Is(err, fuel.ErrMalformed) {
				t.Errorf("%s: %v does not wrap ErrMalformed", name, err)
			}
			continue
		}
		c, err := rt.CompileModule(ctx, out)
		if err != nil {
			if _, origErr := rt.CompileModule(ctx, wasm); origErr == nil {
				t.Errorf("%s: the original compiles but the instrumented module does not: %v", name, err)
			}
			continue
		}
		if len(c.ExportedFunctions()) == 0 {
			t.Errorf("%s: lost its exports", name)
		}
	}
}

const spin = "\x00asm\x01\x00\x00\x00" +
	"\x01\x04\x01\x60\x00\x00" + // type: () -> ()
	"\x03\x02\x01\x00" + // one function
	"\x07\x08\x01\x04spin\x00\x00" + // export "spin"
	"\x0a\x09\x01\x07\x00\x03\x40\x0c\x00\x0b\x0b" // loop br 0 end end

// TestFuelStopsLoop: a runaway loop traps when its fuel runs out, the fuel
// global tells it apart from other traps, and raising stop interrupts it.
func TestFuelStopsLoop(t *testing.T) {
	ctx := context.Background()
	out, err := fuel.Instrument([]byte(spin), 0)
	if err != nil {
		t.Fatal(err)
	}
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	mod, err := rt.Instantiate(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	f := mod.ExportedGlobal(fuel.FuelExport).(api.MutableGlobal)
	f.Set(1_000_000)
	if _, err := mod.ExportedFunction("spin").Call(ctx); err == nil {
		t.Fatal("an infinite loop returned")
	}
	if int64(f.Get()) >= 0 {
		t.Fatalf("fuel %d after out-of-fuel trap", int64(f.Get()))
	}
	// Stop: plenty of fuel, stop raised before the call.
	mod2, _ := rt.InstantiateWithConfig(ctx, out, wazero.NewModuleConfig().WithName("second"))
	mod2.ExportedGlobal(fuel.FuelExport).(api.MutableGlobal).Set(math.MaxInt64 / 2)
	mod2.ExportedGlobal(fuel.StopExport).(api.MutableGlobal).Set(math.MaxInt64)
	if _, err := mod2.ExportedFunction("spin").Call(ctx); err == nil {
		t.Fatal("stop did not interrupt")
	}
}

// FuzzInstrument: any bytes are instrumented or refused with ErrMalformed,
// never a panic; what is instrumented is refused by wazero or compiles.
func FuzzInstrument(f *testing.F) {
	for _, wasm := range modules(f) {
		if len(wasm) < 64<<10 {
			f.Add(wasm)
		}
	}
	f.Add([]byte(spin))
	for seed := range uint64(8) {
		plain, _ := generate(seed)
		f.Add(plain)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	f.Fuzz(func(t *testing.T, wasm []byte) {
		out, err := fuel.Instrument(wasm, 100)
		if err != nil {
			if !errors.Is(err, fuel.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if c, err := rt.CompileModule(ctx, out); err == nil {
			c.Close(ctx)
		}
	})
}

// TestGrowFailRecorded: after instrumenting, memory.grow still returns the
// old size when it succeeds and -1 when it fails, and a failure stores the
// pages asked for in the growfail global.
func TestGrowFailRecorded(t *testing.T) {
	ctx := context.Background()
	// (module (memory (export "mem") 1 4)
	//   (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
	wasm := []byte("\x00asm\x01\x00\x00\x00" +
		"\x01\x06\x01\x60\x01\x7f\x01\x7f" + // type: i32 -> i32
		"\x03\x02\x01\x00" + // func 0: type 0
		"\x05\x04\x01\x01\x01\x04" + // memory 1..4
		"\x07\x0e\x02\x03mem\x02\x00\x04grow\x00\x00" + // exports
		"\x0a\x08\x01\x06\x00\x20\x00\x40\x00\x0b") // local.get 0; memory.grow 0; end
	out, err := fuel.Instrument(wasm, 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	mod, err := rt.Instantiate(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	grow := mod.ExportedFunction("grow")
	failed := mod.ExportedGlobal(fuel.GrowFailExport).(api.MutableGlobal)
	for _, tc := range []struct {
		pages      uint32
		want       int32
		wantFailed uint64
	}{
		{1, 1, 0}, {0, 2, 0}, {5, -1, 5}, {2, 2, 5}, {1, -1, 1},
	} {
		res, err := grow.Call(ctx, uint64(tc.pages))
		if err != nil {
			t.Fatal(err)
		}
		if got := int32(res[0]); got != tc.want || failed.Get() != tc.wantFailed {
			t.Fatalf("grow(%d) = %d, growfail %d; want %d, %d", tc.pages, got, failed.Get(), tc.want, tc.wantFailed)
		}
	}
}

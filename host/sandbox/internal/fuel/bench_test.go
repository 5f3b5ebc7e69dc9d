package fuel_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wisp-project/wisp/host/sandbox/internal/fuel"
	"github.com/wisp-project/wisp/plugins"
	"github.com/wisp-project/wisp/sdk/abi"
)

// tightLoop is func (n i32) -> i32 running n turns of a loop with an
// if/else in its body: the worst case for per-region checks.
func tightLoop() []byte {
	m := newModule()
	t := m.typ([]byte{tI32}, []byte{tI32})
	const n, i, acc = 0, 1, 2
	body := cat(opBlock, opLoop,
		lget(i), lget(n), i32LtU, i32Eqz, brIf(1),
		lget(acc), i32c(31), i32Mul, lget(i), i32Xor, lset(acc),
		lget(acc), i32c(1), i32And, opIf,
		lget(acc), i32c(3), i32ShrU, lset(acc),
		opElse,
		lget(acc), i32c(7), i32Add, lset(acc),
		opEnd,
		lget(i), i32c(1), i32Add, lset(i),
		br(0), opEnd, opEnd,
		lget(acc), opEnd)
	m.funcs = append(m.funcs, wfunc{typ: t, locals: []byte{tI32, tI32}, body: body})
	m.exports = append(m.exports, wexport{"loop", 0, 0})
	return m.bytes()
}

func instantiate(tb testing.TB, rt wazero.Runtime, wasm []byte, instrument bool) api.Module {
	tb.Helper()
	ctx := context.Background()
	if instrument {
		var err error
		if wasm, err = fuel.Instrument(wasm, math.MaxInt64/2); err != nil {
			tb.Fatal(err)
		}
	}
	mod, err := rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		tb.Fatal(err)
	}
	return mod
}

// BenchmarkOverhead compares plain and instrumented code on a tight loop
// and on the fridge plugin (raw events build) scoring 1000 events.
func BenchmarkOverhead(b *testing.B) {
	ctx := context.Background()
	for _, instr := range []bool{false, true} {
		name := "plain"
		if instr {
			name = "fuel"
		}
		b.Run("loop/"+name, func(b *testing.B) {
			rt := wazero.NewRuntime(ctx)
			defer rt.Close(ctx)
			mod := instantiate(b, rt, tightLoop(), instr)
			f := mod.ExportedFunction("loop")
			stack := make([]uint64, 1)
			for b.Loop() {
				stack[0] = 1_000_000
				if err := f.CallWithStack(ctx, stack); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("fridge/"+name, func(b *testing.B) {
			rt := wazero.NewRuntime(ctx)
			defer rt.Close(ctx)
			mod := instantiate(b, rt, plugins.FridgeEvents, instr)
			events := make([]abi.Event, 1000)
			for i := range events {
				events[i] = abi.Event{Kind: uint32(1 + i%3), Code: uint32(1 + (i*7)%12), Time: int64(i) * 60_000, Value: float64(1 + i%5)}
			}
			in := abi.AppendBatch(nil, events)
			res, err := mod.ExportedFunction(abi.BufferExport).Call(ctx, uint64(len(in)+4096))
			if err != nil || res[0] == 0 {
				b.Fatal("wisp_buffer", err)
			}
			ptr := uint32(res[0])
			mod.Memory().Write(ptr, in)
			score := mod.ExportedFunction(abi.ScoreExport)
			stack := make([]uint64, 4)
			for b.Loop() {
				stack[0], stack[1], stack[2], stack[3] = uint64(ptr), uint64(len(in)), uint64(ptr)+uint64(len(in)), 512
				if err := score.CallWithStack(ctx, stack); err != nil {
					b.Fatal(err)
				}
				if int32(stack[0]) < 0 {
					b.Fatal("score error", int32(stack[0]))
				}
			}
		})
	}
}

// bulkModule is a module with one exported function "f" (param i32) whose
// body is body, a memory of 1 page growable to 512, and a table of 1<<20
// funcrefs.
func bulkModule(body []byte, memMin int32) []byte {
	m := newModule()
	t := m.typ([]byte{tI32}, nil)
	m.memMin, m.memMax = memMin, 512
	m.funcs = append(m.funcs, wfunc{typ: t, body: body})
	m.exports = append(m.exports, wexport{"f", 0, 0})
	b := m.bytes()
	// Splice a table section (id 4) before the memory section (id 5).
	tbl := sec(nil, 4, []byte{1, 0x70, 0x00, 0x80, 0x80, 0x40}) // funcref, min 1<<20
	for i := 8; i < len(b); {
		id := b[i]
		size, n := 0, 0
		for shift := 0; ; shift += 7 {
			c := b[i+1+n]
			size |= int(c&0x7F) << shift
			n++
			if c&0x80 == 0 {
				break
			}
		}
		if id == 5 {
			return append(append(append([]byte{}, b[:i]...), tbl...), b[i:]...)
		}
		i += 1 + n + size
	}
	panic("no memory section")
}

// BenchmarkFuelUnit measures wall time per fuel unit: ordinary code (the
// tight loop) against bulk operations, to choose the bulk costs in code.go.
// It reports ns/fuel (and ns/byte, ns/elem, ns/page for bulk work).
func BenchmarkFuelUnit(b *testing.B) {
	ctx := context.Background()
	run := func(b *testing.B, wasm []byte, fn string, arg uint64, unit string, units float64, fresh bool) {
		rt := wazero.NewRuntime(ctx)
		defer rt.Close(ctx)
		out, err := fuel.Instrument(wasm, 0)
		if err != nil {
			b.Fatal(err)
		}
		c, err := rt.CompileModule(ctx, out)
		if err != nil {
			b.Fatal(err)
		}
		var used int64
		var mod api.Module
		start := func() {
			if mod != nil {
				mod.Close(ctx)
			}
			mod, err = rt.InstantiateModule(ctx, c, wazero.NewModuleConfig().WithName(""))
			if err != nil {
				b.Fatal(err)
			}
		}
		start()
		stack := make([]uint64, 1)
		for b.Loop() {
			if fresh {
				b.StopTimer()
				start()
				b.StartTimer()
			}
			g := mod.ExportedGlobal(fuel.FuelExport).(api.MutableGlobal)
			g.Set(math.MaxInt64 / 2)
			stack[0] = arg
			if err := mod.ExportedFunction(fn).CallWithStack(ctx, stack); err != nil {
				b.Fatal(err)
			}
			used += math.MaxInt64/2 - int64(g.Get())
		}
		ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		b.ReportMetric(ns*float64(b.N)/float64(used), "ns/fuel")
		if unit != "" {
			b.ReportMetric(ns/units, "ns/"+unit)
		}
	}
	b.Run("ordinary", func(b *testing.B) { run(b, tightLoop(), "loop", 1_000_000, "", 0, false) })
	for _, mib := range []int{1, 4, 32} {
		n := int32(mib << 20)
		fill := bulkModule(cat(i32c(0), i32c(0x5a), lget(0), memFill, opEnd), 512)
		copy := bulkModule(cat(i32c(0), lget(0), lget(0), memCopy, opEnd), 512)
		if mib == 32 { // copy 16 MiB onto the other half
			n = 16 << 20
		}
		b.Run(fmt.Sprintf("fill/%dMiB", mib), func(b *testing.B) { run(b, fill, "f", uint64(n), "byte", float64(n), false) })
		b.Run(fmt.Sprintf("copy/%dMiB", mib), func(b *testing.B) { run(b, copy, "f", uint64(n), "byte", float64(n), false) })
	}
	tfill := bulkModule(cat(i32c(0), []byte{0xD0, 0x70}, lget(0), []byte{0xFC, 0x11, 0x00}, opEnd), 1)
	tcopy := bulkModule(cat(i32c(0), i32c(1<<19), lget(0), []byte{0xFC, 0x0E, 0x00, 0x00}, opEnd), 1)
	b.Run("table.fill/1M", func(b *testing.B) { run(b, tfill, "f", 1<<20, "elem", 1<<20, false) })
	b.Run("table.copy/512K", func(b *testing.B) { run(b, tcopy, "f", 1<<19, "elem", 1<<19, false) })
	grow := bulkModule(cat(lget(0), memGrow, opDrop, opEnd), 1)
	growTouch := bulkModule(cat(lget(0), memGrow, opDrop, i32c(0), i32c(1), lget(0), i32c(16), []byte{0x74}, memFill, opEnd), 1)
	b.Run("grow/511", func(b *testing.B) { run(b, grow, "f", 511, "page", 511, true) })
	b.Run("grow+fill/511", func(b *testing.B) { run(b, growTouch, "f", 511, "page", 511, true) })
}

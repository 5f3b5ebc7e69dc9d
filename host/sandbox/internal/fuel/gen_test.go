package fuel_test

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wisp-project/wisp/host/sandbox/internal/fuel"
)

// The generator builds each random module twice: plain, and "counted",
// where every original instruction but end and else is preceded by
// count += 1 (global 0), and every bulk operation also adds its length
// scaled as the fuel rules promise. Counting is done here, as the module is
// generated, without any of the instrumenter's parsing: an independent
// route to the number of instructions executed.

type gen struct {
	rnd          *rand.Rand
	plain, count []byte
	nFuncs       int
	fn           int
	nLocals      uint32 // locals used so far (index 0 is the parameter)
	tmp          uint32 // scratch local of the counted build
	labels       []bool // open labels, true for loops
	loops        int
	size         int
}

func (g *gen) raw(b ...[]byte) {
	for _, x := range b {
		g.plain = append(g.plain, x...)
		g.count = append(g.count, x...)
	}
}

// ins emits one counted instruction (with its immediates).
func (g *gen) ins(b []byte) {
	if b[0] != 0x0B && b[0] != 0x05 {
		g.count = append(g.count, cat(gget(0), i64c(1), []byte{0x7C}, gset(0))...) // i64.add
	}
	g.raw(b)
	g.size++
}

// bulk emits op, counting n (on top of the stack) scaled by scale.
func (g *gen) bulk(op []byte, scale func() []byte) {
	g.count = append(g.count, ltee(g.tmp)...)
	g.count = append(g.count, gget(0)...)
	g.count = append(g.count, lget(g.tmp)...)
	g.count = append(g.count, 0xAD) // i64.extend_i32_u
	g.count = append(g.count, scale()...)
	g.count = append(g.count, 0x7C) // i64.add
	g.count = append(g.count, gset(0)...)
	g.ins(op)
}

func (g *gen) local() uint32 { return uint32(g.rnd.IntN(int(g.nLocals))) }

func (g *gen) cond() {
	g.ins(lget(g.local()))
	g.ins(i32c(int32(1 + g.rnd.IntN(3))))
	g.ins(i32And)
}

func (g *gen) depth() (uint32, bool) {
	if len(g.labels) == 0 {
		return 0, false
	}
	return uint32(g.rnd.IntN(len(g.labels))), true
}

func (g *gen) stmts(depth int) {
	for n := g.rnd.IntN(5); n > 0 && g.size < 400; n-- {
		g.stmt(depth)
	}
}

func (g *gen) stmt(depth int) {
	k := g.rnd.IntN(14)
	if depth > 4 && k >= 6 {
		k = g.rnd.IntN(6)
	}
	switch k {
	case 0, 1: // arithmetic
		g.ins(lget(g.local()))
		g.ins(i32c(int32(g.rnd.Uint32())))
		g.ins([][]byte{i32Add, i32Mul, i32Xor, i32Sub}[g.rnd.IntN(4)])
		g.ins(lset(1 + uint32(g.rnd.IntN(4)))) // never a loop counter
	case 2: // store
		g.ins(i32c(int32(4 * g.rnd.IntN(256))))
		g.ins(lget(g.local()))
		g.ins(i32Store)
	case 3: // br_if to a random label
		if d, ok := g.depth(); ok {
			g.cond()
			g.ins(brIf(d))
		}
	case 4: // br_table
		if _, ok := g.depth(); ok {
			g.ins(lget(g.local()))
			g.ins(i32c(3))
			g.ins(i32And)
			b := []byte{0x0E, 3}
			for range 4 {
				d, _ := g.depth()
				b = uleb(b, uint64(d))
			}
			g.ins(b)
		}
	case 5: // bulk memory
		switch g.rnd.IntN(3) {
		case 0, 1:
			g.ins(i32c(int32(g.rnd.IntN(64 << 10))))
			if g.rnd.IntN(2) == 0 {
				g.ins(i32c(int32(g.rnd.IntN(64 << 10))))
				g.ins(lget(g.local()))
				g.ins(i32c(0xFFFF))
				g.ins(i32And)
				g.bulk(memCopy, func() []byte { return cat(i64c(fuel.MemoryByteShift), []byte{0x88}) })
			} else {
				g.ins(i32c(0x5a))
				g.ins(lget(g.local()))
				g.ins(i32c(0xFFFF))
				g.ins(i32And)
				g.bulk(memFill, func() []byte { return cat(i64c(fuel.MemoryByteShift), []byte{0x88}) })
			}
		case 2:
			g.ins(lget(g.local()))
			g.ins(i32c(1))
			g.ins(i32And)
			g.bulk(memGrow, func() []byte { return cat(i64c(fuel.GrowPageCost), []byte{0x7E}) })
			g.ins(opDrop)
		}
	case 6, 7: // block
		g.ins(opBlock)
		g.labels = append(g.labels, false)
		g.stmts(depth + 1)
		if g.rnd.IntN(4) == 0 { // an unconditional branch, then dead code
			d, _ := g.depth()
			g.ins(br(d))
			g.stmts(depth + 1)
		}
		g.labels = g.labels[:len(g.labels)-1]
		g.ins(opEnd)
	case 8, 9: // if, if-else
		g.cond()
		g.ins(opIf)
		g.labels = append(g.labels, false)
		g.stmts(depth + 1)
		if g.rnd.IntN(2) == 0 {
			g.ins(opElse)
			g.stmts(depth + 1)
		}
		g.labels = g.labels[:len(g.labels)-1]
		g.ins(opEnd)
	case 10, 11: // a loop bounded by its own counter
		if g.loops >= 3 {
			return
		}
		g.loops++
		c := g.nLocals
		g.nLocals++
		g.ins(i32c(int32(g.rnd.IntN(5))))
		g.ins(lset(c))
		g.ins(opBlock)
		g.labels = append(g.labels, false)
		g.ins(opLoop)
		g.labels = append(g.labels, true)
		g.ins(lget(c))
		g.ins(i32Eqz)
		g.ins(brIf(1))
		g.ins(lget(c))
		g.ins(i32c(1))
		g.ins(i32Sub)
		g.ins(lset(c))
		g.stmts(depth + 1)
		g.ins(br(0))
		g.labels = g.labels[:len(g.labels)-2]
		g.ins(opEnd)
		g.ins(opEnd)
		g.nLocals-- // the counter may be reused as an ordinary local later
		g.loops--
	case 12, 13: // call a later function
		if g.fn+1 < g.nFuncs {
			g.ins(lget(g.local()))
			g.ins(call(uint32(g.fn + 1 + g.rnd.IntN(g.nFuncs-g.fn-1))))
			g.ins(lset(1 + uint32(g.rnd.IntN(4)))) // never a loop counter
		}
	}
}

// generate returns the plain and counted builds of one random module. Its
// export "run" (i32) -> i32 is function 0; "count" is the counter global.
func generate(seed uint64) (plain, counted []byte) {
	rnd := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	nFuncs := 1 + rnd.IntN(4)
	build := func(counted bool) []byte {
		rnd := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		rnd.IntN(4)
		m := newModule()
		t := m.typ([]byte{tI32}, []byte{tI32})
		m.memMin, m.memMax = 2, 3
		m.globals = []byte{tI64, 1, 0x42, 0, 0x0B}
		m.nGlobals = 1
		m.exports = append(m.exports, wexport{"run", 0, 0}, wexport{"count", 3, 0}, wexport{"memory", 2, 0})
		for f := range nFuncs {
			const maxLocals = 16 // param, 4 ordinary, up to 3 loop counters, tmp
			g := &gen{rnd: rnd, nFuncs: nFuncs, fn: f, nLocals: 5, tmp: maxLocals - 1}
			g.stmts(0)
			g.ins(lget(g.local()))
			g.raw(opEnd)
			body := g.plain
			if counted {
				body = g.count
			}
			m.funcs = append(m.funcs, wfunc{typ: t, locals: bytes.Repeat([]byte{tI32}, maxLocals-1), body: body})
		}
		return m.bytes()
	}
	return build(false), build(true)
}

type outcome struct {
	result uint64
	err    bool
	mem    []byte
	count  int64
}

func runGenerated(t *testing.T, rt wazero.Runtime, wasm []byte, arg uint64, budget int64) outcome {
	t.Helper()
	ctx := context.Background()
	mod, err := rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	defer mod.Close(ctx)
	var f api.MutableGlobal
	if g := mod.ExportedGlobal(fuel.FuelExport); g != nil {
		f = g.(api.MutableGlobal)
		f.Set(uint64(budget))
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := mod.ExportedFunction("run").Call(cctx, arg)
	var o outcome
	if err != nil {
		o.err = true
	} else {
		o.result = res[0]
	}
	mem, _ := mod.Memory().Read(0, mod.Memory().Size())
	o.mem = bytes.Clone(mem)
	if f != nil {
		o.count = budget - int64(f.Get())
	} else {
		o.count = int64(mod.ExportedGlobal("count").Get())
	}
	return o
}

// checkGenerated instruments the plain build of seed, runs it and the
// counted build on a few arguments, and requires the same behaviour and
// fuel charged ≥ instructions counted.
func checkGenerated(t *testing.T, rt wazero.Runtime, seed uint64) (charged, counted int64) {
	plain, count := generate(seed)
	out, err := fuel.Instrument(plain, 0)
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	for _, arg := range []uint64{0, 1, 2, 7, 0xFFFFFFFF, uint64(seed & 0xFFFF)} {
		want := runGenerated(t, rt, count, arg, 0)
		got := runGenerated(t, rt, out, arg, math.MaxInt64/2)
		if want.err || got.err {
			t.Fatalf("seed %d arg %d: trapped (counted %v, instrumented %v)", seed, arg, want.err, got.err)
		}
		if got.result != want.result || !bytes.Equal(got.mem, want.mem) {
			t.Fatalf("seed %d arg %d: instrumented module behaves differently", seed, arg)
		}
		if got.count < want.count {
			t.Fatalf("seed %d arg %d: charged %d fuel for %d counted units", seed, arg, got.count, want.count)
		}
		// The budget exactly as counted must not run out; one unit less
		// may or may not (over-charge), never the other way round.
		if exact := runGenerated(t, rt, out, arg, got.count); exact.err {
			t.Fatalf("seed %d arg %d: trapped with exactly the fuel it used", seed, arg)
		}
		charged += got.count
		counted += want.count
	}
	return charged, counted
}

// TestGeneratedModules: fuel is an upper bound on the work of random
// structured modules, on fixed seeds.
func TestGeneratedModules(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true))
	defer rt.Close(ctx)
	n := 300
	if testing.Short() {
		n = 50
	}
	var charged, counted int64
	for seed := range uint64(n) {
		c, k := checkGenerated(t, rt, seed)
		charged += c
		counted += k
	}
	t.Logf("%d modules: charged %d fuel for %d counted units (%.2f×)", n, charged, counted, float64(charged)/float64(counted))
}

// FuzzGenerated runs the same property on fuzzed seeds.
func FuzzGenerated(f *testing.F) {
	f.Add(uint64(1))
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	f.Fuzz(func(t *testing.T, seed uint64) { checkGenerated(t, rt, seed) })
}

package fuel_test

import "github.com/wisp-project/wisp/host/sandbox/internal/wasmbin"

// A small WebAssembly module assembler for the tests: enough to build the
// regression modules and the generated ones without external tools.

const (
	tI32 = 0x7F
	tI64 = 0x7E
)

type wfunc struct {
	typ    uint32
	locals []byte // one value type per local
	body   []byte // instructions, ending with the function's end (0x0B)
}

type wexport struct {
	name string
	kind byte
	idx  uint32
}

type wmodule struct {
	types    [][2][]byte // params, results
	imports  []byte      // raw import vector items
	nImports uint32
	funcs    []wfunc
	memMin   int32  // <0: no memory
	memMax   int32  // <0: no maximum
	globals  []byte // raw global vector items
	nGlobals uint32
	exports  []wexport
	start    int64 // <0: none
}

func newModule() *wmodule { return &wmodule{memMin: -1, memMax: -1, start: -1} }

func (m *wmodule) typ(params, results []byte) uint32 {
	for i, t := range m.types {
		if string(t[0]) == string(params) && string(t[1]) == string(results) {
			return uint32(i)
		}
	}
	m.types = append(m.types, [2][]byte{params, results})
	return uint32(len(m.types) - 1)
}

func uleb(b []byte, v uint64) []byte { return wasmbin.AppendULEB(b, v) }

func sleb(b []byte, v int64) []byte { return wasmbin.AppendSLEB(b, v) }

func wname(b []byte, s string) []byte { return append(uleb(b, uint64(len(s))), s...) }

func sec(out []byte, id byte, body []byte) []byte {
	out = append(out, id)
	out = uleb(out, uint64(len(body)))
	return append(out, body...)
}

func (m *wmodule) bytes() []byte {
	out := []byte("\x00asm\x01\x00\x00\x00")
	if len(m.types) > 0 {
		b := uleb(nil, uint64(len(m.types)))
		for _, t := range m.types {
			b = append(b, 0x60)
			b = uleb(b, uint64(len(t[0])))
			b = append(b, t[0]...)
			b = uleb(b, uint64(len(t[1])))
			b = append(b, t[1]...)
		}
		out = sec(out, 1, b)
	}
	if m.nImports > 0 {
		out = sec(out, 2, append(uleb(nil, uint64(m.nImports)), m.imports...))
	}
	if len(m.funcs) > 0 {
		b := uleb(nil, uint64(len(m.funcs)))
		for _, f := range m.funcs {
			b = uleb(b, uint64(f.typ))
		}
		out = sec(out, 3, b)
	}
	if m.memMin >= 0 {
		b := []byte{1}
		if m.memMax >= 0 {
			b = append(b, 1)
			b = uleb(b, uint64(m.memMin))
			b = uleb(b, uint64(m.memMax))
		} else {
			b = append(b, 0)
			b = uleb(b, uint64(m.memMin))
		}
		out = sec(out, 5, b)
	}
	if m.nGlobals > 0 {
		out = sec(out, 6, append(uleb(nil, uint64(m.nGlobals)), m.globals...))
	}
	if len(m.exports) > 0 {
		b := uleb(nil, uint64(len(m.exports)))
		for _, e := range m.exports {
			b = wname(b, e.name)
			b = append(b, e.kind)
			b = uleb(b, uint64(e.idx))
		}
		out = sec(out, 7, b)
	}
	if m.start >= 0 {
		out = sec(out, 8, uleb(nil, uint64(m.start)))
	}
	if len(m.funcs) > 0 {
		b := uleb(nil, uint64(len(m.funcs)))
		for _, f := range m.funcs {
			var fb []byte
			// one locals entry per local keeps it simple
			fb = uleb(fb, uint64(len(f.locals)))
			for _, t := range f.locals {
				fb = append(fb, 1, t)
			}
			fb = append(fb, f.body...)
			b = uleb(b, uint64(len(fb)))
			b = append(b, fb...)
		}
		out = sec(out, 10, b)
	}
	return out
}

// Instruction helpers.
func i32c(v int32) []byte  { return sleb([]byte{0x41}, int64(v)) }
func i64c(v int64) []byte  { return sleb([]byte{0x42}, v) }
func lget(i uint32) []byte { return uleb([]byte{0x20}, uint64(i)) }
func lset(i uint32) []byte { return uleb([]byte{0x21}, uint64(i)) }
func ltee(i uint32) []byte { return uleb([]byte{0x22}, uint64(i)) }
func gget(i uint32) []byte { return uleb([]byte{0x23}, uint64(i)) }
func gset(i uint32) []byte { return uleb([]byte{0x24}, uint64(i)) }
func br(d uint32) []byte   { return uleb([]byte{0x0C}, uint64(d)) }
func brIf(d uint32) []byte { return uleb([]byte{0x0D}, uint64(d)) }
func call(f uint32) []byte { return uleb([]byte{0x10}, uint64(f)) }
func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

var (
	opBlock  = []byte{0x02, 0x40}
	opLoop   = []byte{0x03, 0x40}
	opIf     = []byte{0x04, 0x40}
	opElse   = []byte{0x05}
	opEnd    = []byte{0x0B}
	i32Load  = []byte{0x28, 0x02, 0x00}
	i32Store = []byte{0x36, 0x02, 0x00}
	i32Add   = []byte{0x6A}
	i32Sub   = []byte{0x6B}
	i32Mul   = []byte{0x6C}
	i32Xor   = []byte{0x73}
	i32ShrU  = []byte{0x76}
	i32Eq    = []byte{0x46}
	i32Eqz   = []byte{0x45}
	i32LtU   = []byte{0x49}
	i32And   = []byte{0x71}
	opDrop   = []byte{0x1A}
	memFill  = []byte{0xFC, 0x0B, 0x00}
	memCopy  = []byte{0xFC, 0x0A, 0x00, 0x00}
	memGrow  = []byte{0x40, 0x00}
)

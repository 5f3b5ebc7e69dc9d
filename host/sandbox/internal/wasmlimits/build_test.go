package wasmlimits

import "github.com/wisp-project/wisp/host/sandbox/internal/wasmbin"

// Module builders for the tests: one function of type () -> () whose body
// is a given instruction sequence.

func appendU32(b []byte, v uint32) []byte { return wasmbin.AppendULEB(b, uint64(v)) }

func section(b []byte, id byte, content []byte) []byte {
	b = append(b, id)
	b = appendU32(b, uint32(len(content)))
	return append(b, content...)
}

// module wraps one function with the given locals entries (raw bytes,
// including the vector count) and instructions (without the final end).
func module(locals, instrs []byte) []byte {
	b := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	b = section(b, 1, []byte{1, 0x60, 0, 0})
	b = section(b, 3, []byte{1, 0})
	body := append(append(append([]byte{}, locals...), instrs...), 0x0B)
	code := appendU32([]byte{1}, uint32(len(body)))
	code = append(code, body...)
	return section(b, 10, code)
}

func repeat(unit []byte, n int) []byte {
	out := make([]byte, 0, len(unit)*n)
	for range n {
		out = append(out, unit...)
	}
	return out
}

var noLocals = []byte{0}

// bomb shapes, each parameterised by n.
func loopsSeq(n int) []byte { return module(noLocals, repeat([]byte{0x03, 0x40, 0x0B}, n)) }

func nestedLoops(n int) []byte {
	return module(noLocals, append(repeat([]byte{0x03, 0x40}, n), repeat([]byte{0x0B}, n)...))
}

func nestedBlocks(n int) []byte {
	return module(noLocals, append(repeat([]byte{0x02, 0x40}, n), repeat([]byte{0x0B}, n)...))
}

func ifsSeq(n int) []byte { return module(noLocals, repeat([]byte{0x41, 0x00, 0x04, 0x40, 0x0B}, n)) }

func blocksSeq(n int) []byte { return module(noLocals, repeat([]byte{0x02, 0x40, 0x0B}, n)) }

func brTable(n int) []byte {
	in := []byte{0x02, 0x40, 0x41, 0x00, 0x0E}
	in = appendU32(in, uint32(n))
	in = append(in, repeat([]byte{0x00}, n)...)
	in = append(in, 0x00, 0x0B)
	return module(noLocals, in)
}

// straightLine is a body of n bytes of i32.const 0; drop.
func straightLine(n int) []byte { return module(noLocals, repeat([]byte{0x41, 0x00, 0x1A}, n/3)) }

// locals declares n i64 locals in one entry.
func localsModule(n uint32) []byte {
	l := appendU32([]byte{1}, n)
	return module(append(l, 0x7E), nil)
}

// manyFuncs is n functions each with body from mk.
func manyFuncs(n int, instrs []byte) []byte {
	b := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	b = section(b, 1, []byte{1, 0x60, 0, 0})
	b = section(b, 3, append(appendU32(nil, uint32(n)), repeat([]byte{0}, n)...))
	body := append(append([]byte{0}, instrs...), 0x0B)
	code := appendU32(nil, uint32(n))
	for range n {
		code = appendU32(code, uint32(len(body)))
		code = append(code, body...)
	}
	return section(b, 10, code)
}

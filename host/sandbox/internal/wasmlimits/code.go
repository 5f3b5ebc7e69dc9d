package wasmlimits

import "fmt"

// funcStats is what one function body contributes.
type funcStats struct {
	locals, depth, brTable, brTableTotal uint64
	loops, ifs, blocks, control          uint64
}

// scanBody walks one function body (after its size): the locals entries,
// then every instruction, tracking structured-control nesting.
func scanBody(r *reader) (fs funcStats) {
	for n := r.count("locals entry"); n > 0 && r.Err == nil; n-- {
		c := r.u32()
		r.valType()
		fs.locals += c // at most 2^32 × len(wasm): cannot wrap
	}
	depth := uint64(1) // the function's own block
	fs.depth = 1
	for r.Err == nil {
		if r.Off >= len(r.B) {
			r.Fail(fmt.Errorf("wasmlimits: body ends inside %d open blocks", depth))
			return
		}
		op := r.Byte()
		switch op {
		case 0x02, 0x03, 0x04, 0x1F: // block, loop, if, try_table
			depth++
			fs.control++
			if depth > fs.depth {
				fs.depth = depth
			}
			switch op {
			case 0x02, 0x1F:
				fs.blocks++
			case 0x03:
				fs.loops++
			case 0x04:
				fs.ifs++
			}
		case 0x0B: // end
			depth--
			if depth == 0 {
				if r.Off != len(r.B) {
					r.Fail(fmt.Errorf("wasmlimits: %d bytes after the body's end", len(r.B)-r.Off))
				}
				return
			}
		}
		if n := skipImmediates(r, op); n > 0 { // br_table
			fs.brTableTotal += n
			if n > fs.brTable {
				fs.brTable = n
			}
		}
	}
	return
}

// skipExpr skips a constant expression up to and including its end.
func skipExpr(r *reader) {
	depth := 1
	for r.Err == nil {
		op := r.Byte()
		switch op {
		case 0x02, 0x03, 0x04, 0x1F:
			depth++
		case 0x0B:
			if depth--; depth == 0 {
				return
			}
		}
		skipImmediates(r, op)
	}
}

// skipImmediates consumes the immediates of op and returns, for br_table,
// its number of targets including the default (0 otherwise). It refuses opcodes outside WebAssembly 2.0
// plus tail calls and exception handling: wazero refuses them too.
func skipImmediates(r *reader, op byte) uint64 {
	switch {
	case op == 0x02 || op == 0x03 || op == 0x04: // block, loop, if
		blockType(r)
	case op == 0x1F: // try_table bt vec(catch)
		blockType(r)
		for n := r.count("catch"); n > 0 && r.Err == nil; n-- {
			switch k := r.Byte(); k {
			case 0x00, 0x01:
				r.u32()
				r.u32()
			case 0x02, 0x03:
				r.u32()
			default:
				r.Fail(fmt.Errorf("wasmlimits: catch kind %#x", k))
			}
		}
	case op == 0x08: // throw
		r.u32()
	case op == 0x0C || op == 0x0D: // br, br_if
		r.u32()
	case op == 0x0E: // br_table
		n := r.count("br_table target")
		for i := n; i > 0 && r.Err == nil; i-- {
			r.u32()
		}
		r.u32()
		return n + 1
	case op == 0x10 || op == 0x12: // call, return_call
		r.u32()
	case op == 0x11 || op == 0x13: // call_indirect, return_call_indirect
		r.u32()
		r.u32()
	case op == 0x1C: // select t*
		for n := r.count("select type"); n > 0 && r.Err == nil; n-- {
			r.valType()
		}
	case op >= 0x20 && op <= 0x24: // local.*, global.*
		r.u32()
	case op == 0x25 || op == 0x26: // table.get, table.set
		r.u32()
	case op >= 0x28 && op <= 0x3E: // loads and stores: memarg
		memarg(r)
	case op == 0x3F || op == 0x40: // memory.size, memory.grow
		r.u32()
	case op == 0x41:
		r.SLEB(32)
	case op == 0x42:
		r.SLEB(64)
	case op == 0x43:
		r.Take(4)
	case op == 0x44:
		r.Take(8)
	case op == 0xD0: // ref.null
		r.valTypeHeap()
	case op == 0xD2: // ref.func
		r.u32()
	case op == 0xFC:
		skipFC(r)
	case op == 0xFD:
		skipSIMD(r)
	case op <= 0x01, op == 0x05, op == 0x0A, op == 0x0B, op == 0x0F, op == 0x1A, op == 0x1B,
		op >= 0x45 && op <= 0xC4, op == 0xD1:
		// no immediates
	default:
		r.Fail(fmt.Errorf("wasmlimits: unsupported opcode %#x", op))
	}
	return 0
}

// valTypeHeap skips a heap type (ref.null's immediate).
func (r *reader) valTypeHeap() { r.SLEB(33) }

func memarg(r *reader) {
	align := r.u32()
	if align&0x40 != 0 { // multi-memory: memory index follows
		r.u32()
	}
	r.ULEB(64)
}

func blockType(r *reader) { r.SLEB(33) }

func skipFC(r *reader) {
	switch sub := r.u32(); {
	case sub <= 7: // saturating truncations
	case sub == 8: // memory.init
		r.u32()
		r.u32()
	case sub == 9, sub == 13, sub >= 15 && sub <= 17: // data.drop, elem.drop, table.grow/size/fill
		r.u32()
	case sub == 10, sub == 12, sub == 14: // memory.copy, table.init, table.copy
		r.u32()
		r.u32()
	case sub == 11: // memory.fill
		r.u32()
	default:
		r.Fail(fmt.Errorf("wasmlimits: unsupported opcode 0xfc %d", sub))
	}
}

func skipSIMD(r *reader) {
	switch sub := r.u32(); {
	case sub <= 11, sub == 92, sub == 93: // loads, stores: memarg
		memarg(r)
	case sub == 12, sub == 13: // v128.const, i8x16.shuffle
		r.Take(16)
	case sub >= 21 && sub <= 34: // extract/replace lane
		r.Byte()
	case sub >= 84 && sub <= 91: // load/store lane: memarg, lane
		memarg(r)
		r.Byte()
	case sub <= 275:
	default:
		r.Fail(fmt.Errorf("wasmlimits: unsupported opcode 0xfd %d", sub))
	}
}

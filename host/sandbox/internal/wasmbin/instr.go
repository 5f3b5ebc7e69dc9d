package wasmbin

import (
	"fmt"
	"iter"
)

// Instr is one instruction of a function body or constant expression, as
// Reader.Instr read it. Offsets index the Reader's B.
type Instr struct {
	Op  byte   // the opcode
	Sub uint32 // after a 0xFC or 0xFD prefix, the sub-opcode; else 0
	At  int    // offset of the opcode
	Imm int    // offset of the immediates (after a prefix's sub-opcode)
	End int    // offset just past the immediates: the next instruction

	// Index is the first immediate when it is an index: the label of br
	// and br_if; the function of call, return_call and ref.func; the type
	// of call_indirect and return_call_indirect; the local of local.*; the
	// global of global.*; the table of table.get, table.set, table.grow,
	// table.size and table.fill; the tag of throw; the data segment of
	// memory.init and data.drop; the element segment of table.init and
	// elem.drop; the destination table of table.copy. 0 otherwise.
	Index uint32

	// Labels is br_table's number of labels, the default included.
	Labels uint64
}

// Instr reads one instruction: its opcode, a prefix's sub-opcode and all
// its immediates, leaving r at the next instruction. On an error (input
// used up, an over-long LEB128, a vector count larger than the bytes left,
// an unknown opcode) it records the error in r.Err and returns it.
//
// It knows the instructions of WebAssembly 3.0 (binary format, section
// 5.4) except those of garbage collection (0xFB), typed function
// references (call_ref, return_call_ref, ref.eq, ref.as_non_null,
// br_on_null, br_on_non_null), threads (0xFE) and the legacy exception
// handling encoding (try, catch, rethrow, delegate, catch_all): MVP, sign
// extension, saturating truncation and bulk memory (0xFC), reference
// types, SIMD and relaxed SIMD (0xFD), multi-value block types, tail
// calls, multi-memory and memory64 immediates, and exception handling
// (throw, throw_ref, try_table). A caller that does not support some of
// these refuses them itself, by Op and Sub.
//
// Where WebAssembly 2.0 has a reserved 0x00 byte (memory.size,
// memory.grow, memory.init, memory.copy, memory.fill), 3.0 has a memory
// index, a u32: Instr reads a u32. A 2.0 module encodes it as the byte
// 0x00, which is the u32 0 in one byte, so both read the same bytes.
func (r *Reader) Instr() (Instr, error) {
	in := Instr{At: r.Off}
	in.Op = r.Byte()
	in.Imm = r.Off
	switch op := in.Op; {
	case op == 0x02 || op == 0x03 || op == 0x04: // block, loop, if
		r.blockType()
	case op == 0x1F: // try_table bt vec(catch)
		r.blockType()
		for n := r.count("catch"); n > 0 && r.Err == nil; n-- {
			switch k := r.Byte(); k {
			case 0x00, 0x01: // catch, catch_ref: tag, label
				r.ULEB(32)
				r.ULEB(32)
			case 0x02, 0x03: // catch_all, catch_all_ref: label
				r.ULEB(32)
			default:
				r.Fail(fmt.Errorf("wasmbin: catch kind %#x", k))
			}
		}
	case op == 0x08, // throw
		op == 0x0C || op == 0x0D, // br, br_if
		op == 0x10 || op == 0x12, // call, return_call
		op >= 0x20 && op <= 0x24, // local.*, global.*
		op == 0x25 || op == 0x26, // table.get, table.set
		op == 0xD2:               // ref.func
		in.Index = r.u32()
	case op == 0x0E: // br_table vec(label) label
		n := r.count("br_table label")
		for i := n; i > 0 && r.Err == nil; i-- {
			r.ULEB(32)
		}
		r.ULEB(32)
		in.Labels = n + 1
	case op == 0x11 || op == 0x13: // call_indirect, return_call_indirect: type, table
		in.Index = r.u32()
		r.ULEB(32)
	case op == 0x1C: // select vec(valtype)
		for n := r.count("select type"); n > 0 && r.Err == nil; n-- {
			r.ValType()
		}
	case op >= 0x28 && op <= 0x3E: // loads and stores
		r.memarg()
	case op == 0x3F || op == 0x40: // memory.size, memory.grow: memory
		r.ULEB(32)
	case op == 0x41: // i32.const
		r.SLEB(32)
	case op == 0x42: // i64.const
		r.SLEB(64)
	case op == 0x43: // f32.const
		r.Take(4)
	case op == 0x44: // f64.const
		r.Take(8)
	case op == 0xD0: // ref.null heaptype
		r.SLEB(33)
	case op == 0xFC:
		in.Sub = r.u32()
		in.Imm = r.Off
		in.Index = r.prefixFC(in.Sub)
	case op == 0xFD:
		in.Sub = r.u32()
		in.Imm = r.Off
		r.prefixFD(in.Sub)
	case op <= 0x01, // unreachable, nop
		op == 0x05, op == 0x0A, op == 0x0B, op == 0x0F, // else, throw_ref, end, return
		op == 0x1A, op == 0x1B, // drop, select
		op >= 0x45 && op <= 0xC4, // numeric, sign extension
		op == 0xD1:               // ref.is_null
	default:
		r.Fail(fmt.Errorf("wasmbin: unsupported opcode %#x", op))
	}
	in.End = r.Off
	return in, r.Err
}

// Labels yields the labels of a br or br_if (one) or a br_table (the
// default last) that Instr read from r.B; nothing for other instructions.
func (r *Reader) Labels(in Instr) iter.Seq[uint32] {
	return func(yield func(uint32) bool) {
		switch in.Op {
		case 0x0C, 0x0D:
			yield(in.Index)
		case 0x0E:
			t := Reader{B: r.B[:in.End], Off: in.Imm}
			for n := t.ULEB(32) + 1; n > 0 && t.Err == nil; n-- {
				if l := t.u32(); t.Err != nil || !yield(l) {
					return
				}
			}
		}
	}
}

// ValType skips a value type, including a reference type (ref null? ht)
// with its heap type.
func (r *Reader) ValType() {
	switch c := r.Byte(); c {
	case 0x63, 0x64:
		r.SLEB(33)
	}
}

func (r *Reader) u32() uint32 { return uint32(r.ULEB(32)) }

// count reads a vector length and refuses one larger than the bytes left,
// since every element takes at least one byte.
func (r *Reader) count(what string) uint64 {
	n := r.ULEB(32)
	if r.Err == nil && n > uint64(r.Left()) {
		r.Fail(fmt.Errorf("wasmbin: %s count %d exceeds the %d bytes left", what, n, r.Left()))
		return 0
	}
	return n
}

// blockType skips a block type: 0x40 (none), a value type, or a type
// index as a non-negative s33.
func (r *Reader) blockType() {
	if r.Off < len(r.B) && (r.B[r.Off] == 0x63 || r.B[r.Off] == 0x64) {
		r.ValType()
		return
	}
	r.SLEB(33)
}

// memarg skips a memory argument: alignment flags, the memory index when
// flag bit 6 is set (multi-memory), and a u64 offset (memory64).
func (r *Reader) memarg() {
	if align := r.ULEB(32); align&0x40 != 0 {
		r.ULEB(32)
	}
	r.ULEB(64)
}

// prefixFC skips the immediates of a 0xFC instruction and returns its
// first index immediate (see Instr.Index).
func (r *Reader) prefixFC(sub uint32) uint32 {
	switch {
	case sub <= 7: // saturating truncations
	case sub == 8: // memory.init data memory
		d := r.u32()
		r.ULEB(32)
		return d
	case sub == 9, sub == 13, sub >= 15 && sub <= 17: // data.drop, elem.drop, table.grow/size/fill
		return r.u32()
	case sub == 10: // memory.copy memory memory
		r.ULEB(32)
		r.ULEB(32)
	case sub == 11: // memory.fill memory
		r.ULEB(32)
	case sub == 12, sub == 14: // table.init elem table, table.copy table table
		x := r.u32()
		r.ULEB(32)
		return x
	default:
		r.Fail(fmt.Errorf("wasmbin: unsupported opcode 0xfc %d", sub))
	}
	return 0
}

// prefixFD skips the immediates of a SIMD (0xFD) instruction.
func (r *Reader) prefixFD(sub uint32) {
	switch {
	case sub <= 11, sub == 92, sub == 93: // loads, stores: memarg
		r.memarg()
	case sub == 12, sub == 13: // v128.const, i8x16.shuffle
		r.Take(16)
	case sub >= 21 && sub <= 34: // extract/replace lane: lane
		r.Byte()
	case sub >= 84 && sub <= 91: // load/store lane: memarg, lane
		r.memarg()
		r.Byte()
	case sub <= 275: // the rest of SIMD and relaxed SIMD (0x100–0x113)
	default:
		r.Fail(fmt.Errorf("wasmbin: unsupported opcode 0xfd %d", sub))
	}
}

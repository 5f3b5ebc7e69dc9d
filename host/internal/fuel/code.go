package fuel

import (
	"errors"
	"fmt"
)

// errTableGrow refuses table.grow: wazero bounds memories but not tables,
// so one table.grow could allocate gigabytes of host memory. Compilers for
// plugin languages do not emit it.
var errTableGrow = errors.New("table.grow is not allowed (tables cannot be capped)")

// instrumentCode rewrites every function body in the code section.
func instrumentCode(body []byte, fuelIdx, stopIdx, nGlobals uint32) ([]byte, error) {
	r := &reader{b: body}
	n := r.u32()
	out := appendU32(make([]byte, 0, len(body)+len(body)/8), n)
	var fn []byte
	for i := range n {
		size := r.u32()
		code := r.take(int(size))
		if r.err != nil {
			return nil, r.err
		}
		var err error
		fn, err = instrumentFunc(fn[:0], code, fuelIdx, stopIdx, nGlobals)
		if err != nil {
			return nil, fmt.Errorf("function %d: %w", i, err)
		}
		out = appendU32(out, uint32(len(fn)))
		out = append(out, fn...)
	}
	if r.off != len(body) {
		return nil, fmt.Errorf("code section has %d trailing bytes", len(body)-r.off)
	}
	return out, nil
}

// instrumentFunc copies one function body into out with a fuel check at
// entry and after every loop header. Each check charges the number of
// instructions up to the next check point in the byte stream.
func instrumentFunc(out, code []byte, fuelIdx, stopIdx, nGlobals uint32) ([]byte, error) {
	r := &reader{b: code}
	for n := r.u32(); n > 0 && r.err == nil; n-- { // locals
		r.u32()
		r.byte1()
	}
	if r.err != nil {
		return nil, r.err
	}
	out = append(out, code[:r.off]...)
	// Pass 1: find the byte offsets just after each loop header (check
	// points) and the instruction count of each region.
	points := []int{r.off}
	costs := []int64{0}
	for !r.done() {
		op := r.byte1()
		costs[len(costs)-1]++
		if err := skipImmediates(r, op, nGlobals); err != nil {
			return nil, err
		}
		if op == 0x03 && r.err == nil { // loop
			points = append(points, r.off)
			costs = append(costs, 0)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	// Pass 2: copy, inserting the checks.
	prev := points[0]
	for i, at := range points {
		out = append(out, code[prev:at]...)
		out = appendCheck(out, costs[i], fuelIdx, stopIdx)
		prev = at
	}
	return append(out, code[prev:]...), nil
}

// appendCheck emits: fuel -= cost; if fuel < stop { unreachable }.
func appendCheck(out []byte, cost int64, fuelIdx, stopIdx uint32) []byte {
	out = append(out, 0x23) // global.get fuel
	out = appendU32(out, fuelIdx)
	out = append(out, 0x42) // i64.const cost
	out = appendS64(out, cost)
	out = append(out, 0x7D, 0x24) // i64.sub; global.set fuel
	out = appendU32(out, fuelIdx)
	out = append(out, 0x23) // global.get fuel
	out = appendU32(out, fuelIdx)
	out = append(out, 0x23) // global.get stop
	out = appendU32(out, stopIdx)
	return append(out, 0x53, 0x04, 0x40, 0x00, 0x0B) // i64.lt_s; if; unreachable; end
}

// skipImmediates consumes the immediates of op, refusing references to
// globals the original module does not define.
func skipImmediates(r *reader, op byte, nGlobals uint32) error {
	switch {
	case op == 0x02 || op == 0x03 || op == 0x04: // block, loop, if
		blockType(r)
	case op == 0x0C || op == 0x0D: // br, br_if
		r.u32()
	case op == 0x0E: // br_table
		for n := r.u32(); n > 0 && r.err == nil; n-- {
			r.u32()
		}
		r.u32()
	case op == 0x10 || op == 0x12: // call, return_call
		r.u32()
	case op == 0x11 || op == 0x13: // call_indirect, return_call_indirect
		r.u32()
		r.u32()
	case op == 0x1C: // select t*
		for n := r.u32(); n > 0 && r.err == nil; n-- {
			r.byte1()
		}
	case op >= 0x20 && op <= 0x22: // local.*
		r.u32()
	case op == 0x23 || op == 0x24: // global.get, global.set
		if idx := r.u32(); r.err == nil && idx >= nGlobals {
			return fmt.Errorf("global index %d out of range (%d globals)", idx, nGlobals)
		}
	case op == 0x25 || op == 0x26: // table.get, table.set
		r.u32()
	case op >= 0x28 && op <= 0x3E: // loads and stores: memarg
		r.u32()
		r.u32()
	case op == 0x3F || op == 0x40: // memory.size, memory.grow
		r.byte1()
	case op == 0x41:
		r.sleb(32)
	case op == 0x42:
		r.sleb(64)
	case op == 0x43:
		r.take(4)
	case op == 0x44:
		r.take(8)
	case op == 0xD0: // ref.null
		r.byte1()
	case op == 0xD2: // ref.func
		r.u32()
	case op == 0xFC:
		return skipFC(r)
	case op == 0xFD:
		return skipSIMD(r)
	case op <= 0x01, op == 0x05, op == 0x0B, op == 0x0F, op == 0x1A, op == 0x1B,
		op >= 0x45 && op <= 0xC4, op == 0xD1:
		// no immediates
	default:
		return fmt.Errorf("unsupported opcode %#x", op)
	}
	return nil
}

func blockType(r *reader) {
	switch c := r.byte1(); {
	case c == 0x40 || (c >= 0x6F && c <= 0x7F):
	case c&0x80 == 0: // one-byte s33 type index
	default: // multi-byte s33
		r.sleb(33 - 7)
	}
}

func skipFC(r *reader) error {
	switch sub := r.u32(); {
	case sub <= 7: // saturating truncations
	case sub == 8: // memory.init
		r.u32()
		r.byte1()
	case sub == 15:
		return errTableGrow
	case sub == 9, sub == 13, sub == 16, sub == 17: // data.drop, elem.drop, table.size/fill
		r.u32()
	case sub == 10: // memory.copy
		r.byte1()
		r.byte1()
	case sub == 11: // memory.fill
		r.byte1()
	case sub == 12, sub == 14: // table.init, table.copy
		r.u32()
		r.u32()
	default:
		return fmt.Errorf("unsupported opcode 0xfc %d", sub)
	}
	return nil
}

func skipSIMD(r *reader) error {
	switch sub := r.u32(); {
	case sub <= 11, sub == 92, sub == 93: // loads, stores: memarg
		r.u32()
		r.u32()
	case sub == 12, sub == 13: // v128.const, i8x16.shuffle
		r.take(16)
	case sub >= 21 && sub <= 34: // extract/replace lane
		r.byte1()
	case sub >= 84 && sub <= 91: // load/store lane: memarg, lane
		r.u32()
		r.u32()
		r.byte1()
	case sub <= 275:
	default:
		return fmt.Errorf("unsupported opcode 0xfd %d", sub)
	}
	return nil
}

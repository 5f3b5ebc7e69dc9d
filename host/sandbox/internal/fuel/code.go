package fuel

import (
	"errors"
	"fmt"
	"math"
)

// errTableGrow refuses table.grow: wazero bounds memories but not tables,
// so one table.grow could allocate gigabytes of host memory. Compilers for
// plugin languages do not emit it.
var errTableGrow = errors.New("table.grow is not allowed (tables cannot be capped)")

// Costs of bulk work charged at run time, on top of the one unit every
// instruction costs. A bulk operation of n bytes (or elements) is charged
// n >> MemoryByteShift (or n × TableElemCost); memory.grow by d pages is
// charged d × GrowPageCost. They keep one fuel unit of bulk work no slower
// than one unit of ordinary code, as measured by BenchmarkFuelUnit under
// wazero's compiler (Intel Xeon, 2 shared cores, Go 1.26, wazero 1.12):
//
//	ordinary code (instrumented tight loop)  0.20 ns per unit
//	memory.fill 1, 4, 32 MiB                 0.10, 0.05, 0.06 ns/byte → 0.20, 0.10, 0.12 ns/unit
//	memory.copy 1, 4, 16 MiB                 0.08, 0.09, 0.09 ns/byte → 0.16, 0.19, 0.18 ns/unit
//	table.fill 1M, table.copy 512K           0.62, 0.69 ns/elem → 0.16, 0.17 ns/unit
//	memory.grow 511 pages (+ touching them)  10.4 (13.9) µs/page → 0.16 (0.21) ns/unit
const (
	MemoryByteShift = 1       // memory.fill, memory.copy, memory.init: 2 bytes per unit
	TableElemCost   = 4       // table.fill, table.copy, table.init: units per element
	GrowPageCost    = 1 << 16 // memory.grow: units per 64 KiB page
)

// bulk kinds: what a run-time charge point computes from the i32 on top of
// the stack.
const (
	bulkMemory = iota // n >> MemoryByteShift
	bulkTable         // n * TableElemCost
	bulkGrow          // n * GrowPageCost
	// growAfter follows a memory.grow: a result of -1 stores the pages
	// asked for (still in the scratch local) in the growfail global.
	growAfter
)

// instrumentCode rewrites every function body in the code section. params
// gives the number of parameters of each function defined in the module.
func instrumentCode(body []byte, g *globalIdx, params []uint32) ([]byte, error) {
	r := newReader(body)
	n := r.u32()
	if r.Err == nil && int(n) != len(params) {
		return nil, fmt.Errorf("code section has %d bodies for %d functions", n, len(params))
	}
	out := appendU32(make([]byte, 0, len(body)+len(body)/4), n)
	var fn []byte
	var scratch funcScratch
	for i := range n {
		size := r.u32()
		code := r.Take(uint64(size))
		if r.Err != nil {
			return nil, r.Err
		}
		var err error
		fn, err = instrumentFunc(fn[:0], code, g, params[i], &scratch)
		if err != nil {
			return nil, fmt.Errorf("function %d: %w", i, err)
		}
		out = appendU32(out, uint32(len(fn)))
		out = append(out, fn...)
	}
	if r.Err != nil {
		return nil, r.Err
	}
	if r.Off != len(body) {
		return nil, fmt.Errorf("code section has %d trailing bytes", len(body)-r.Off)
	}
	return out, nil
}

type globalIdx struct {
	fuel, stop, growFail uint32
	n                    uint32 // the original module's global count
}

// frame is one open control construct while scanning a body.
type frame struct {
	op       byte // 0 for the function's own frame, else block, loop or if
	hasElse  bool
	ifRegion int // region holding the if instruction
	minSrc   int // lowest region that branches to the end (math.MaxInt: none)
}

// point is an insertion in the body: a region check (cost, after the
// instruction ending at at), a run-time bulk charge (before the
// instruction starting at at) or a memory.grow's result check (after it;
// mem is the grow's memory index immediate, copied to a memory.size).
type point struct {
	at     int
	region int // region index, or -1 for a bulk charge or a grow check
	bulk   int
	mem    []byte
}

type funcScratch struct {
	points []point
	costs  []int64
	stack  []frame
}

// instrumentFunc copies one function body into out with a fuel check at
// the start of every region (see doc.go for the rule) and a run-time
// charge before every bulk memory or table operation and memory.grow.
func instrumentFunc(out, code []byte, g *globalIdx, nParams uint32, s *funcScratch) ([]byte, error) {
	r := newReader(code)
	nEntries := r.u32()
	locals := uint64(nParams)
	for n := nEntries; n > 0 && r.Err == nil; n-- {
		locals += uint64(r.u32())
		r.ValType() // (ref null? ht) included: wazero accepts it
	}
	if r.Err != nil {
		return nil, r.Err
	}
	if locals >= math.MaxUint32 {
		return nil, fmt.Errorf("%d locals", locals)
	}
	header := r.Off

	// Pass 1: the regions, their costs and the bulk charge points.
	points, costs, stack := s.points[:0], s.costs[:0], s.stack[:0]
	defer func() { s.points, s.costs, s.stack = points, costs, stack }()
	region := 0
	points = append(points, point{at: header, region: 0})
	costs = append(costs, 0)
	stack = append(stack, frame{minSrc: math.MaxInt})
	newRegion := func(at int) {
		region++
		points = append(points, point{at: at, region: region})
		costs = append(costs, 0)
	}
	branch := func(depth uint32) error {
		if uint64(depth) >= uint64(len(stack)) {
			return fmt.Errorf("branch depth %d with %d labels", depth, len(stack))
		}
		f := &stack[len(stack)-1-int(depth)]
		if f.op != 0x03 { // a loop's label is its header, already a region start
			f.minSrc = min(f.minSrc, region)
		}
		return nil
	}
	hasBulk := false
	for {
		if r.Done() {
			if r.Err != nil {
				return nil, r.Err
			}
			return nil, errors.New("body ends inside a block")
		}
		in, err := r.Instr()
		if err != nil {
			return nil, err
		}
		op := in.Op
		if op != 0x0B && op != 0x05 { // end and else are markers, not work
			costs[region]++
		}
		switch {
		case op == 0x08 || op == 0x0A || op == 0x1F: // throw, throw_ref, try_table
			return nil, fmt.Errorf("unsupported opcode %#x", op)
		case op == 0xFC && in.Sub == 15: // table.grow
			return nil, errTableGrow
		case op == 0x23 || op == 0x24: // global.get, global.set
			if in.Index >= g.n {
				return nil, fmt.Errorf("global index %d out of range (%d globals)", in.Index, g.n)
			}
		case op == 0x0C || op == 0x0D || op == 0x0E: // br, br_if, br_table
			for d := range r.Labels(in) {
				if err := branch(d); err != nil {
					return nil, err
				}
			}
		case op == 0x40: // memory.grow
			points = append(points, point{at: in.At, region: -1, bulk: bulkGrow},
				point{at: r.Off, region: -1, bulk: growAfter, mem: code[in.At+1 : r.Off]})
			hasBulk = true
		case op == 0xFC:
			switch in.Sub {
			case 8, 10, 11: // memory.init, memory.copy, memory.fill
				points = append(points, point{at: in.At, region: -1, bulk: bulkMemory})
				hasBulk = true
			case 12, 14, 17: // table.init, table.copy, table.fill
				points = append(points, point{at: in.At, region: -1, bulk: bulkTable})
				hasBulk = true
			}
		}
		switch op {
		case 0x02: // block
			stack = append(stack, frame{op: op, minSrc: math.MaxInt})
		case 0x03: // loop: its header is the target of its branches
			stack = append(stack, frame{op: op, minSrc: math.MaxInt})
			newRegion(r.Off)
		case 0x04: // if
			stack = append(stack, frame{op: op, ifRegion: region, minSrc: math.MaxInt})
		case 0x05: // else: entered only from the if, when false
			f := &stack[len(stack)-1]
			if f.op != 0x04 || f.hasElse {
				return nil, errors.New("else outside if")
			}
			f.hasElse = true
			f.minSrc = min(f.minSrc, region) // the then-arm jumps to the end
			if f.ifRegion != region {
				newRegion(r.Off)
			}
		case 0x0B: // end
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if len(stack) == 0 { // the function's final end
				if !r.Done() {
					return nil, fmt.Errorf("%d bytes after the body's end", len(r.B)-r.Off)
				}
				goto emit
			}
			if f.op == 0x04 && !f.hasElse {
				f.minSrc = min(f.minSrc, f.ifRegion) // the if jumps here when false
			}
			// After a loop, so its turns do not pay for the code that
			// follows it; after a block or if that some earlier region
			// branches (or jumps, when false) to.
			if f.op == 0x03 || f.minSrc < region {
				newRegion(r.Off)
			}
		}
	}

emit:
	// Pass 2: copy, inserting the checks and charges.
	scratchIdx := uint32(locals)
	if hasBulk {
		out = appendU32(out, nEntries+1)
		hr := newReader(code)
		hr.u32()
		out = append(out, code[hr.Off:header]...)
		out = append(out, 0x01, 0x7F) // one i32: the scratch local
	} else {
		out = append(out, code[:header]...)
	}
	prev := header
	for _, p := range points {
		out = append(out, code[prev:p.at]...)
		prev = p.at
		if p.region < 0 && p.bulk == growAfter {
			out = appendGrowCheck(out, p.mem, scratchIdx, g)
		} else if p.region < 0 {
			out = appendBulk(out, p.bulk, scratchIdx, g)
		} else if c := costs[p.region]; c > 0 {
			out = appendCheck(out, c, g)
		}
	}
	return append(out, code[prev:]...), nil
}

// appendCheck emits: fuel -= cost; if fuel < stop { unreachable }.
func appendCheck(out []byte, cost int64, g *globalIdx) []byte {
	out = append(out, 0x23) // global.get fuel
	out = appendU32(out, g.fuel)
	out = append(out, 0x42) // i64.const cost
	out = appendS64(out, cost)
	out = append(out, 0x7D) // i64.sub
	return appendStore(out, g)
}

// appendStore emits: global.set fuel; if fuel < stop { unreachable }.
func appendStore(out []byte, g *globalIdx) []byte {
	out = append(out, 0x24) // global.set fuel
	out = appendU32(out, g.fuel)
	out = append(out, 0x23) // global.get fuel
	out = appendU32(out, g.fuel)
	out = append(out, 0x23) // global.get stop
	out = appendU32(out, g.stop)
	return append(out, 0x53, 0x04, 0x40, 0x00, 0x0B) // i64.lt_s; if; unreachable; end
}

// appendBulk emits, with the i32 count n on top of the stack and left
// there: local.tee scratch; fuel -= f(n); if fuel < stop { unreachable }.
func appendBulk(out []byte, kind int, scratch uint32, g *globalIdx) []byte {
	out = append(out, 0x22) // local.tee scratch
	out = appendU32(out, scratch)
	out = append(out, 0x23) // global.get fuel
	out = appendU32(out, g.fuel)
	out = append(out, 0x20) // local.get scratch
	out = appendU32(out, scratch)
	out = append(out, 0xAD) // i64.extend_i32_u
	switch kind {
	case bulkMemory:
		if MemoryByteShift > 0 {
			out = append(out, 0x42) // i64.const shift
			out = appendS64(out, MemoryByteShift)
			out = append(out, 0x88) // i64.shr_u
		}
	case bulkTable:
		out = append(out, 0x42) // i64.const cost
		out = appendS64(out, TableElemCost)
		out = append(out, 0x7E) // i64.mul
	case bulkGrow:
		out = append(out, 0x42) // i64.const cost
		out = appendS64(out, GrowPageCost)
		out = append(out, 0x7E) // i64.mul
	}
	out = append(out, 0x7D) // i64.sub
	return appendStore(out, g)
}

// appendGrowCheck emits, after a memory.grow whose page count the bulk
// charge left in scratch, with the grow's result on top of the stack and
// left there:
//
//	if result == -1 { growfail = pages; -1 } else { memory.size - pages }
//
// The else arm recomputes the old size the grow returned (it succeeded, so
// the memory is now pages larger), so the sequence is stack-neutral with a
// single scratch local. The host reads growfail to tell a call that failed
// after hitting its memory limit (sandbox.ErrMemoryLimit).
func appendGrowCheck(out, mem []byte, scratch uint32, g *globalIdx) []byte {
	out = append(out, 0x41, 0x7F, 0x46, 0x04, 0x7F) // i32.const -1; i32.eq; if (result i32)
	out = append(out, 0x20)                         // local.get scratch
	out = appendU32(out, scratch)
	out = append(out, 0xAD, 0x24) // i64.extend_i32_u; global.set growfail
	out = appendU32(out, g.growFail)
	out = append(out, 0x41, 0x7F, 0x05, 0x3F) // i32.const -1; else; memory.size mem
	out = append(out, mem...)
	out = append(out, 0x20) // local.get scratch
	out = appendU32(out, scratch)
	return append(out, 0x6B, 0x0B) // i32.sub; end
}

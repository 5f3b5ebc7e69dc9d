package wasmlimits

import "fmt"

// funcStats is what one function body contributes.
type funcStats struct {
	locals, depth, brTable, brTableTotal uint64
	loops, ifs, blocks, control          uint64
}

// scanBody walks one function body (after its size): the locals entries,
// then every instruction (wasmbin.Reader.Instr), tracking structured-control
// nesting.
func scanBody(r *reader) (fs funcStats) {
	for n := r.count("locals entry"); n > 0 && r.Err == nil; n-- {
		c := r.u32()
		r.ValType()
		fs.locals += c // at most 2^32 × len(wasm): cannot wrap
	}
	depth := uint64(1) // the function's own block
	fs.depth = 1
	for r.Err == nil {
		if r.Off >= len(r.B) {
			r.Fail(fmt.Errorf("wasmlimits: body ends inside %d open blocks", depth))
			return
		}
		in, err := r.Instr()
		if err != nil {
			return
		}
		switch op := in.Op; op {
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
		if n := in.Labels; n > 0 { // br_table
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
		in, _ := r.Instr()
		switch in.Op {
		case 0x02, 0x03, 0x04, 0x1F:
			depth++
		case 0x0B:
			if depth--; depth == 0 {
				return
			}
		}
	}
}

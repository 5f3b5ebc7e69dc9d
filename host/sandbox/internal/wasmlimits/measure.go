package wasmlimits

import (
	"errors"
	"fmt"
)

// Max is the largest value of a per-function measure and the index (in the
// module's function index space, imports first) of the first function that
// reaches it.
type Max struct {
	Value uint64
	Func  uint64
}

func (m *Max) note(v, fn uint64) {
	if v > m.Value {
		m.Value, m.Func = v, fn
	}
}

// Stats are the counts Check compares with Limits. Section counts are as
// declared; per-function figures come from walking the code section.
type Stats struct {
	Types         uint64 // function types
	Params        uint64 // most parameters of one type
	Results       uint64 // most results of one type
	Imports       uint64
	ImportedFuncs uint64
	Functions     uint64 // defined functions (function section)
	Tables        uint64 // imported and defined
	TableElems    uint64 // largest initial table size
	Memories      uint64 // imported and defined
	Globals       uint64 // defined
	Exports       uint64
	ElemSegments  uint64
	ElemItems     uint64 // element segment items, all segments
	DataSegments  uint64
	Tags          uint64
	NameEntries   uint64 // largest name map in the "name" custom section

	Locals         Max    // locals declared by one function (parameters excluded)
	LocalsTotal    uint64 // locals declared by all functions
	BodyBytes      Max    // size of one function body
	CodeBytes      uint64 // all function bodies
	NestingDepth   Max    // deepest block/loop/if/try_table nesting, the body counting 1
	Control        Max    // block, loop, if and try_table instructions in one function
	ControlTotal   uint64
	ControlWork    uint64 // sum over functions of Control squared: wazero's compile time is quadratic in it
	Loops          Max
	LoopsTotal     uint64
	Ifs            Max
	BrTable        Max // targets of one br_table, the default included
	BrTableTotal   Max // br_table targets of one function
	BrTableTargets uint64
}

// Measure walks wasm once, in time linear in len(wasm), allocating nothing
// but an error. It returns the counts gathered so far with any error, so a
// module that exceeds a limit before it turns out malformed is still
// reported as exceeding the limit.
func Measure(wasm []byte) (Stats, error) {
	var s Stats
	r := newReader(wasm)
	if hdr := r.Take(8); r.Err != nil || string(hdr) != "\x00asm\x01\x00\x00\x00" {
		return s, errors.New("wasmlimits: not a WebAssembly 1.0 binary module")
	}
	for !r.Done() {
		id := r.Byte()
		sec := newReader(r.Take(r.u32()))
		if r.Err != nil {
			return s, fmt.Errorf("section %d: %w", id, r.Err)
		}
		s.section(id, sec)
		if sec.Err == nil && sec.Off != len(sec.B) {
			sec.Err = fmt.Errorf("wasmlimits: %d trailing bytes", len(sec.B)-sec.Off)
		}
		if sec.Err != nil {
			return s, fmt.Errorf("wasmlimits: section %d at byte %d: %w", id, r.Off-len(sec.B)+sec.Off, sec.Err)
		}
	}
	return s, r.Err
}

func (s *Stats) section(id byte, r *reader) {
	switch id {
	case 0: // custom
		if string(r.name()) == "name" {
			s.names(r)
		} else {
			r.Off = len(r.B)
		}
	case 1: // type
		s.Types = r.count("type")
		for i := s.Types; i > 0 && r.Err == nil; i-- {
			if form := r.Byte(); form != 0x60 {
				r.Fail(fmt.Errorf("wasmlimits: type form %#x", form))
				return
			}
			for _, m := range []*uint64{&s.Params, &s.Results} {
				n := r.count("value type")
				*m = max(*m, n)
				for ; n > 0 && r.Err == nil; n-- {
					r.ValType()
				}
			}
		}
	case 2: // import
		s.Imports = r.count("import")
		for i := s.Imports; i > 0 && r.Err == nil; i-- {
			r.name()
			r.name()
			switch kind := r.Byte(); kind {
			case 0x00:
				r.u32()
				s.ImportedFuncs++
			case 0x01:
				r.ValType()
				s.TableElems = max(s.TableElems, r.limits())
				s.Tables++
			case 0x02:
				r.limits()
				s.Memories++
			case 0x03:
				r.ValType()
				r.Byte()
			case 0x04:
				r.Byte()
				r.u32()
				s.Tags++
			default:
				r.Fail(fmt.Errorf("wasmlimits: import kind %#x", kind))
			}
		}
	case 3: // function
		s.Functions = r.count("function")
		for i := s.Functions; i > 0 && r.Err == nil; i-- {
			r.u32()
		}
	case 4: // table
		n := r.count("table")
		s.Tables += n
		for ; n > 0 && r.Err == nil; n-- {
			init := r.Off < len(r.B) && r.B[r.Off] == 0x40
			if init {
				r.Byte()
				r.Byte()
			}
			r.ValType()
			s.TableElems = max(s.TableElems, r.limits())
			if init {
				skipExpr(r)
			}
		}
	case 5: // memory
		n := r.count("memory")
		s.Memories += n
		for ; n > 0 && r.Err == nil; n-- {
			r.limits()
		}
	case 6: // global
		s.Globals = r.count("global")
		for i := s.Globals; i > 0 && r.Err == nil; i-- {
			r.ValType()
			r.Byte()
			skipExpr(r)
		}
	case 7: // export
		s.Exports = r.count("export")
		for i := s.Exports; i > 0 && r.Err == nil; i-- {
			r.name()
			r.Byte()
			r.u32()
		}
	case 8: // start
		r.u32()
	case 9: // element
		s.ElemSegments = r.count("element segment")
		for i := s.ElemSegments; i > 0 && r.Err == nil; i-- {
			s.elem(r)
		}
	case 10: // code
		n := r.count("function body")
		for i := uint64(0); i < n && r.Err == nil; i++ {
			size := r.u32()
			body := newReader(r.Take(size))
			if r.Err != nil {
				return
			}
			fn := s.ImportedFuncs + i
			fs := scanBody(body)
			s.Locals.note(fs.locals, fn)
			s.LocalsTotal += fs.locals
			s.BodyBytes.note(size, fn)
			s.CodeBytes += size
			s.NestingDepth.note(fs.depth, fn)
			s.Control.note(fs.control, fn)
			s.ControlTotal += fs.control
			s.ControlWork += fs.control * fs.control // control ≤ len(wasm): cannot wrap
			s.Loops.note(fs.loops, fn)
			s.LoopsTotal += fs.loops
			s.Ifs.note(fs.ifs, fn)
			s.BrTable.note(fs.brTable, fn)
			s.BrTableTotal.note(fs.brTableTotal, fn)
			s.BrTableTargets += fs.brTableTotal
			if body.Err != nil {
				r.Fail(fmt.Errorf("function %d: %w", fn, body.Err))
			}
		}
	case 11: // data
		s.DataSegments = r.count("data segment")
		for i := s.DataSegments; i > 0 && r.Err == nil; i-- {
			switch flag := r.u32(); flag {
			case 0:
				skipExpr(r)
			case 1:
			case 2:
				r.u32()
				skipExpr(r)
			default:
				r.Fail(fmt.Errorf("wasmlimits: data segment flag %d", flag))
			}
			r.name() // the bytes
		}
	case 12: // data count
		r.u32()
	case 13: // tag
		n := r.count("tag")
		s.Tags += n
		for ; n > 0 && r.Err == nil; n-- {
			r.Byte()
			r.u32()
		}
	default:
		r.Fail(fmt.Errorf("wasmlimits: unknown section id %d", id))
	}
}

func (s *Stats) elem(r *reader) {
	flag := r.u32()
	if flag > 7 {
		r.Fail(fmt.Errorf("wasmlimits: element segment flag %d", flag))
		return
	}
	if flag&0x01 == 0 { // active
		if flag&0x02 != 0 {
			r.u32() // table index
		}
		skipExpr(r)
	}
	if flag&0x03 != 0 { // elemkind or reftype
		r.ValType()
	}
	n := r.count("element")
	s.ElemItems += n
	for ; n > 0 && r.Err == nil; n-- {
		if flag&0x04 != 0 {
			skipExpr(r)
		} else {
			r.u32()
		}
	}
}

// names walks the "name" custom section, which wazero decodes into maps
// sized by their declared counts.
func (s *Stats) names(r *reader) {
	for !r.Done() {
		id := r.Byte()
		sub := newReader(r.Take(r.u32()))
		switch id {
		case 0:
			sub.name()
		case 1:
			s.nameMap(sub)
		case 2:
			n := sub.count("indirect name")
			s.NameEntries = max(s.NameEntries, n)
			for ; n > 0 && sub.Err == nil; n-- {
				sub.u32()
				s.nameMap(sub)
			}
		default:
			sub.Off = len(sub.B)
		}
		if sub.Err == nil && sub.Off != len(sub.B) {
			sub.Fail(fmt.Errorf("wasmlimits: name subsection %d has %d trailing bytes", id, len(sub.B)-sub.Off))
		}
		r.Fail(sub.Err)
	}
}

func (s *Stats) nameMap(r *reader) {
	n := r.count("name")
	s.NameEntries = max(s.NameEntries, n)
	for ; n > 0 && r.Err == nil; n-- {
		r.u32()
		r.name()
	}
}

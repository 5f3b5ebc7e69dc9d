package fuel

import (
	"errors"
	"fmt"
	"strings"
)

// Names Instrument exports: the two globals, and the module's start
// function (whose start section it removes, so the host calls it with fuel
// and a deadline armed). Names starting with ReservedPrefix are refused in
// original modules.
const (
	FuelExport     = "wisp$fuel"
	StopExport     = "wisp$stop"
	GrowFailExport = "wisp$growfail"
	StartExport    = "wisp$start"
	ReservedPrefix = "wisp$"
)

// Version names what Instrument emits: caches of its output must be keyed
// by it. Bump it whenever the rewriting changes.
const Version = "fuel-v4"

// ErrMalformed reports a module Instrument cannot parse or refuses.
var ErrMalformed = errors.New("fuel: cannot instrument module")

const (
	secType     = 1
	secImport   = 2
	secFunction = 3
	secTable    = 4
	secGlobal   = 6
	secExport   = 7
	secStart    = 8
	secCode     = 10
)

// sectionOrder gives each known section's position in the required order
// (the data count section, 12, sits before code).
var sectionOrder = map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}

type section struct {
	id   byte
	body []byte
}

// Instrument returns an instrumented copy of wasm whose fuel global starts
// at initial (the budget of the start function and _initialize).
func Instrument(wasm []byte, initial int64) ([]byte, error) {
	out, err := instrument(wasm, initial)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return out, nil
}

func instrument(wasm []byte, initial int64) ([]byte, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" || string(wasm[4:8]) != "\x01\x00\x00\x00" {
		return nil, errors.New("not a WebAssembly 1.0 binary")
	}
	var secs []section
	r := newReader(wasm[8:])
	for !r.Done() {
		id := r.Byte()
		n := r.u32()
		body := r.Take(uint64(n))
		if r.Err != nil {
			return nil, r.Err
		}
		secs = append(secs, section{id, body})
	}
	var (
		nGlobals, nImportedFuncs uint32
		typeParams, params       []uint32
		start                    = -1 // index in secs of the start section
		startFunc                uint32
	)
	for i, s := range secs {
		switch s.id {
		case secType:
			var err error
			if typeParams, err = parseTypes(s.body); err != nil {
				return nil, fmt.Errorf("type section: %w", err)
			}
		case secImport:
			funcs, globals, err := parseImports(s.body)
			if err != nil {
				return nil, fmt.Errorf("import section: %w", err)
			}
			nImportedFuncs += funcs
			nGlobals += globals
		case secFunction:
			rr := newReader(s.body)
			for n := rr.u32(); n > 0 && rr.Err == nil; n-- {
				t := rr.u32()
				if rr.Err == nil && uint64(t) >= uint64(len(typeParams)) {
					return nil, fmt.Errorf("function section: type %d of %d", t, len(typeParams))
				}
				if rr.Err == nil {
					params = append(params, typeParams[t])
				}
			}
			if rr.Err != nil {
				return nil, fmt.Errorf("function section: %w", rr.Err)
			}
		case secTable:
			if err := checkTables(s.body); err != nil {
				return nil, err
			}
		case secGlobal:
			rr := newReader(s.body)
			nGlobals += rr.u32()
			if rr.Err != nil {
				return nil, rr.Err
			}
		case secStart:
			rr := newReader(s.body)
			startFunc = rr.u32()
			if rr.Err != nil || rr.Off != len(s.body) {
				return nil, errors.New("malformed start section")
			}
			if uint64(startFunc) >= uint64(nImportedFuncs)+uint64(len(params)) {
				return nil, fmt.Errorf("start function %d out of range", startFunc)
			}
			start = i
		}
	}
	fuelIdx, stopIdx, growIdx := nGlobals, nGlobals+1, nGlobals+2
	g := &globalIdx{fuel: fuelIdx, stop: stopIdx, growFail: growIdx, n: nGlobals}
	globals := []byte{0x7E, 0x01, 0x42} // i64 mut, i64.const initial, end
	globals = appendS64(globals, initial)
	globals = append(globals, 0x0B, 0x7E, 0x01, 0x42, 0x00, 0x0B) // stop: i64 mut, i64.const 0, end
	globals = append(globals, 0x7E, 0x01, 0x42, 0x00, 0x0B)       // growfail: the same
	exports := appendName(nil, FuelExport)
	exports = append(exports, 0x03)
	exports = appendU32(exports, fuelIdx)
	exports = appendName(exports, StopExport)
	exports = append(exports, 0x03)
	exports = appendU32(exports, stopIdx)
	exports = appendName(exports, GrowFailExport)
	exports = append(exports, 0x03)
	exports = appendU32(exports, growIdx)
	nExports := uint32(3)
	if start >= 0 {
		exports = appendName(exports, StartExport)
		exports = append(exports, 0x00)
		exports = appendU32(exports, startFunc)
		nExports++
		secs = append(secs[:start], secs[start+1:]...)
	}

	var haveGlobal, haveExport bool
	for i := range secs {
		var err error
		switch secs[i].id {
		case secGlobal:
			haveGlobal = true
			secs[i].body, err = appendToVec(secs[i].body, 3, globals, nil)
		case secExport:
			haveExport = true
			secs[i].body, err = appendToVec(secs[i].body, nExports, exports, func(r *reader) error { return checkExport(r, nGlobals) })
		case secCode:
			secs[i].body, err = instrumentCode(secs[i].body, g, params)
		}
		if err != nil {
			return nil, err
		}
	}
	if !haveGlobal {
		secs = insertSection(secs, section{secGlobal, append([]byte{3}, globals...)})
	}
	if !haveExport {
		secs = insertSection(secs, section{secExport, append(appendU32(nil, nExports), exports...)})
	}
	out := append(make([]byte, 0, len(wasm)+len(wasm)/8+64), wasm[:8]...)
	for _, s := range secs {
		out = append(out, s.id)
		out = appendU32(out, uint32(len(s.body)))
		out = append(out, s.body...)
	}
	return out, nil
}

// insertSection puts s before the first section that must follow it.
func insertSection(secs []section, s section) []section {
	at := len(secs)
	for i, x := range secs {
		if o, ok := sectionOrder[x.id]; ok && o > sectionOrder[s.id] {
			at = i
			break
		}
	}
	return append(secs[:at], append([]section{s}, secs[at:]...)...)
}

// appendToVec rewrites a vector section body with extra items appended,
// calling check on each original item if check is non-nil (check must
// consume the item).
func appendToVec(body []byte, extra uint32, items []byte, check func(*reader) error) ([]byte, error) {
	r := newReader(body)
	n := r.u32()
	start := r.Off
	if check != nil {
		for range n {
			if err := check(r); err != nil {
				return nil, err
			}
			if r.Err != nil {
				return nil, r.Err
			}
		}
	}
	if r.Err != nil {
		return nil, r.Err
	}
	rest := body[start:]
	out := appendU32(nil, n+extra)
	out = append(out, rest...)
	return append(out, items...), nil
}

func checkExport(r *reader, nGlobals uint32) error {
	name := r.name()
	kind := r.Byte()
	idx := r.u32()
	if strings.HasPrefix(name, ReservedPrefix) {
		return fmt.Errorf("export %q uses the reserved prefix %q", name, ReservedPrefix)
	}
	if kind == 0x03 && idx >= nGlobals {
		return fmt.Errorf("export %q names global %d of %d", name, idx, nGlobals)
	}
	return nil
}

func parseImports(body []byte) (funcs, globals uint32, err error) {
	r := newReader(body)
	for n := r.u32(); n > 0 && r.Err == nil; n-- {
		r.name()
		r.name()
		switch kind := r.Byte(); kind {
		case 0x00:
			r.u32()
			funcs++
		case 0x01:
			r.Byte()
			r.limits()
		case 0x02:
			r.limits()
		case 0x03:
			r.Byte()
			r.Byte()
			globals++
		default:
			return 0, 0, fmt.Errorf("import kind %#x", kind)
		}
	}
	return funcs, globals, r.Err
}

// parseTypes returns the parameter count of each function type.
func parseTypes(body []byte) ([]uint32, error) {
	r := newReader(body)
	var params []uint32
	for n := r.u32(); n > 0 && r.Err == nil; n-- {
		if form := r.Byte(); r.Err == nil && form != 0x60 {
			return nil, fmt.Errorf("type form %#x", form)
		}
		np := r.u32()
		for i := uint32(0); i < np && r.Err == nil; i++ {
			valType(r)
		}
		for nr := r.u32(); nr > 0 && r.Err == nil; nr-- {
			valType(r)
		}
		params = append(params, np)
	}
	if r.Err == nil && r.Off != len(body) {
		return nil, errors.New("trailing bytes")
	}
	return params, r.Err
}

func valType(r *reader) {
	switch t := r.Byte(); t {
	case 0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F:
	default:
		r.Fail(fmt.Errorf("value type %#x", t))
	}
}

// MaxTableElems bounds a table's declared size. wazero allocates tables
// eagerly and does not cap them, so a module declaring a huge table could
// take gigabytes of host memory at instantiation.
const MaxTableElems = 1 << 20

func checkTables(body []byte) error {
	r := newReader(body)
	for n := r.u32(); n > 0 && r.Err == nil; n-- {
		r.Byte() // reftype
		flag := r.Byte()
		if min := r.u32(); min > MaxTableElems {
			return fmt.Errorf("table of %d elements (max %d)", min, MaxTableElems)
		}
		if flag == 0x01 {
			r.u32()
		}
	}
	return r.Err
}

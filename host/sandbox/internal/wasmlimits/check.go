package wasmlimits

import (
	"errors"
	"fmt"
)

// Version names the checks Check makes (not the limit values, which a
// cache key can take from Default): bump it when Check starts refusing
// something it accepted.
const Version = "wasmlimits-v1"

// ErrLimit is wrapped by every error Check returns for a module that
// exceeds a limit.
var ErrLimit = errors.New("wasmlimits: module exceeds an implementation limit")

// Limits bound a module before it is decoded. A zero or negative field
// takes Default's value.
type Limits struct {
	Types, Params, Results int
	Imports, Functions     int
	Tables, TableElems     int
	Memories, Globals      int
	Exports                int
	ElemSegments           int
	ElemSegmentItems       int // all segments together
	DataSegments, Tags     int
	NameEntries            int // one map of the "name" section

	LocalsPerFunction  int // declared locals of one function (parameters excluded)
	LocalsTotal        int
	BodyBytes          int // one function body
	NestingDepth       int // block/loop/if nesting in one function, the body counting 1
	ControlPerFunction int // block, loop, if and try_table instructions in one function
	ControlTotal       int
	ControlWork        int // sum over functions of ControlPerFunction squared
	LoopsPerFunction   int
	LoopsTotal         int
	BrTableTargets     int // one br_table, default included
	BrTableTargetsFunc int // all br_tables of one function
	BrTableTargetsAll  int // all br_tables of the module
}

// Check refuses wasm if it exceeds l. An error wrapping ErrLimit names the
// limit, the value and the maximum; any other error means the module is
// malformed (or uses a feature wazero refuses) and must be refused as
// well. Check runs in time linear in len(wasm) and does not allocate in
// proportion to any count the module declares.
func Check(wasm []byte, l Limits) error {
	s, err := Measure(wasm)
	if lerr := s.Exceeds(l); lerr != nil {
		return lerr
	}
	return err
}

// Exceeds returns an error wrapping ErrLimit for the first limit s exceeds.
func (s Stats) Exceeds(l Limits) error {
	d := Default()
	lim := func(v, def int) uint64 {
		if v <= 0 {
			v = def
		}
		return uint64(v)
	}
	type function struct {
		m     Max
		what  string
		limit uint64
	}
	for _, c := range []function{
		{s.Locals, "declares %d locals", lim(l.LocalsPerFunction, d.LocalsPerFunction)},
		{s.BodyBytes, "has a body of %d bytes", lim(l.BodyBytes, d.BodyBytes)},
		{s.NestingDepth, "nests blocks %d deep", lim(l.NestingDepth, d.NestingDepth)},
		{s.Control, "has %d block, loop and if instructions", lim(l.ControlPerFunction, d.ControlPerFunction)},
		{s.Loops, "has %d loops", lim(l.LoopsPerFunction, d.LoopsPerFunction)},
		{s.BrTable, "has a br_table of %d targets", lim(l.BrTableTargets, d.BrTableTargets)},
		{s.BrTableTotal, "has %d br_table targets in all", lim(l.BrTableTargetsFunc, d.BrTableTargetsFunc)},
	} {
		if c.m.Value > c.limit {
			return fmt.Errorf("%w: function %d "+c.what+" (max %d)", ErrLimit, c.m.Func, c.m.Value, c.limit)
		}
	}
	type module struct {
		what     string
		v, limit uint64
	}
	for _, c := range []module{
		{"types", s.Types, lim(l.Types, d.Types)},
		{"parameters in one type", s.Params, lim(l.Params, d.Params)},
		{"results in one type", s.Results, lim(l.Results, d.Results)},
		{"imports", s.Imports, lim(l.Imports, d.Imports)},
		{"functions", s.Functions, lim(l.Functions, d.Functions)},
		{"tables", s.Tables, lim(l.Tables, d.Tables)},
		{"initial table elements", s.TableElems, lim(l.TableElems, d.TableElems)},
		{"memories", s.Memories, lim(l.Memories, d.Memories)},
		{"globals", s.Globals, lim(l.Globals, d.Globals)},
		{"exports", s.Exports, lim(l.Exports, d.Exports)},
		{"element segments", s.ElemSegments, lim(l.ElemSegments, d.ElemSegments)},
		{"element segment items", s.ElemItems, lim(l.ElemSegmentItems, d.ElemSegmentItems)},
		{"data segments", s.DataSegments, lim(l.DataSegments, d.DataSegments)},
		{"tags", s.Tags, lim(l.Tags, d.Tags)},
		{"entries in one name map", s.NameEntries, lim(l.NameEntries, d.NameEntries)},
		{"locals in all functions", s.LocalsTotal, lim(l.LocalsTotal, d.LocalsTotal)},
		{"block, loop and if instructions in all functions", s.ControlTotal, lim(l.ControlTotal, d.ControlTotal)},
		{"loops in all functions", s.LoopsTotal, lim(l.LoopsTotal, d.LoopsTotal)},
		{"squared block, loop and if instructions per function", s.ControlWork, lim(l.ControlWork, d.ControlWork)},
		{"br_table targets in all functions", s.BrTableTargets, lim(l.BrTableTargetsAll, d.BrTableTargetsAll)},
	} {
		if c.v > c.limit {
			return fmt.Errorf("%w: module declares %d %s (max %d)", ErrLimit, c.v, c.what, c.limit)
		}
	}
	return nil
}

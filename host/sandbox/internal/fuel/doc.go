// Package fuel instruments a WebAssembly module so the host can bound and
// interrupt its work without wazero's context checks (which cost 1–2 µs per
// call and 12–60× on tight loops; see docs/BENCHMARKS.md).
//
// Instrument appends three mutable i64 globals, exported as FuelExport,
// StopExport and GrowFailExport, and inserts at the start of every region
// (below):
//
//	fuel -= cost_of_region
//	if fuel < stop { unreachable }
//
// The host sets fuel before a call (a work bound that does not depend on
// the clock) and raises stop to math.MaxInt64 from another goroutine to
// interrupt a call (a deadline, a cancellation). The guest only ever reads
// stop, so the host's write cannot be lost in a read-modify-write race.
//
// # Regions
//
// Every instruction costs one unit except end and else, which are markers.
// A function body is cut, in byte order, into regions at these points:
//
//   - the function's entry;
//   - after every loop header (the target of the loop's branches);
//   - after every else whose if lies in an earlier region;
//   - after every end of a loop, so its turns do not pay for what follows;
//   - after every other end (of a block or if, not the function's final
//     end) that is the target of a branch, or of an if's false jump, from
//     an earlier region.
//
// A region's cost is its instruction count; a region of cost 0 (markers
// only) gets no check. Fuel is an upper bound on the instructions executed
// on every path because of one property: control enters a region only at
// its start (where it pays) or by falling through or jumping forward from
// inside the same region. Every other way in is a region start: calls
// enter at the function entry; branches to a loop land after its header;
// a branch to a block or if, the jump of a false if and the jump of a
// then-arm over its else land after an end or else that is a region start
// unless every such jump comes from the region it lands in. Jumps inside a
// region go forward only, so between two payments of a region each of its
// instructions runs at most once; leaving early (a branch out, the arm of
// an if not taken, a trap) only over-charges. A call returns into the
// region that made it, which has paid for the rest of itself.
//
// # Bulk operations
//
// memory.fill, memory.copy, memory.init, table.fill, table.copy, table.init
// and memory.grow do work proportional to an operand, so each is preceded
// by a run-time charge of that operand (the i32 on top of the stack, saved
// in a scratch local added to the function): n >> MemoryByteShift for the
// memory operations, n × TableElemCost for the table ones, pages ×
// GrowPageCost for memory.grow, then the same check. The check traps before
// the operation runs. The costs are measured in code.go. After memory.grow,
// a result of -1 stores the pages asked for in the GrowFailExport global
// (the host resets it before each call): a call that fails after a refused
// grow is then reported as hitting its memory limit. The inserted code
// (an if/else recomputing the grow's result) runs once per grow and is not
// charged; it is constant-size work after an instruction charged 65,536
// units per page.
//
// # Start functions
//
// Instrument removes the start section and exports its function as
// StartExport, so the host runs it itself, with fuel and a deadline armed,
// right after instantiation (what wazero would otherwise do unmetered).
//
// Safety rests on checks made while rewriting: the original code never
// names a global index at or beyond its own global count (no global.get or
// global.set of the appended globals) and exports none of them; and no
// original export uses the reserved names. Everything else about validity
// is left to wazero, which compiles the instrumented module: the inserted
// sequences are stack-neutral, so they make no invalid module valid.
package fuel

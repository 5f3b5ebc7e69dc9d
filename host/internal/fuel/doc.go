// Package fuel instruments a WebAssembly module so the host can bound and
// interrupt its work without wazero's context checks (which cost 1–2 µs per
// call and 12–60× on tight loops; see docs/BENCHMARKS.md).
//
// Instrument appends two mutable i64 globals, exported as FuelExport and
// StopExport, and inserts at every function entry and loop header:
//
//	fuel -= cost_of_region
//	if fuel < stop { unreachable }
//
// where cost_of_region is the number of instructions up to the next
// instrumentation point. The host sets fuel before a call (a work bound that
// does not depend on the clock) and raises stop to math.MaxInt64 from
// another goroutine to interrupt a call (a deadline, a cancellation). The
// guest only ever reads stop, so the host's write cannot be lost in a
// read-modify-write race.
//
// Safety rests on one check made while rewriting: the original code never
// names a global index at or beyond its own global count (no global.get or
// global.set of the appended globals) and exports none of them; and no
// original export uses the reserved names. Everything else about validity
// is left to wazero, which compiles the instrumented module: the inserted
// sequences are stack-neutral, so they make no invalid module valid.
package fuel

// Package wasmlimits refuses WebAssembly modules that would make wazero's
// decoder or compiler exhaust the host before any of Wisp's run-time
// limits applies.
//
// wazero v1.12.0 allocates while decoding in proportion to counts the
// module declares: one locals entry declaring 2^32−1 i64 locals in a
// 124-byte module kills the host process with "fatal error: out of
// memory", and every vector (types, imports, exports, element items, name
// maps, data bytes) is make()d at its declared length. Its compiler is
// superlinear in a function's control structure: 10,000 sequential loops
// in one function take seconds, 30,000 take most of a minute, well under
// the 16 MiB module-size limit.
//
// Check is a single pass over the raw binary, run before wazero sees it.
// It walks every section and every function body (locals entries summed
// in uint64 so no count can wrap; block/loop/if nesting, loops, control
// instructions and br_table targets counted with a minimal immediate
// skipper), runs in time linear in the module's size, and allocates
// nothing in proportion to any declared count: a vector count larger than
// the bytes left in its section is refused as malformed before anything
// walks it.
//
// The limits are modelled on the WebAssembly JS API's implementation
// limits (https://webassembly.github.io/spec/js-api/#limits), which every
// browser engine enforces, tightened to what real plugins need and to
// what wazero compiles in well under a second; see Default.
package wasmlimits

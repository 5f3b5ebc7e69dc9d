// Package sandbox loads and runs untrusted Wisp scoring plugins in wazero.
// It is the part of the device runtime that a program which only runs
// plugins needs, and all that sdk plugin authors' tests link
// (host/plugintest): no storage, no network, no privacy code.
//
// Plugins are hostile until proven otherwise. A plugin gets no files, no
// network, no environment, no arguments, a fake clock and deterministic
// randomness (wazero's defaults); its memory is capped, its tables bounded,
// and every call has a deadline and a fuel (work) budget. Everything a
// plugin returns is validated: only its declared categories, finite scores
// in [0, 1], no more records than the host asked for. A trap, a timeout or
// a bad answer is an error for that call, never a crash, and the instance
// is thrown away; plugins are pure functions, so nothing is lost with it.
//
// Deadlines are enforced by load-time instrumentation (internal/fuel),
// not by wazero's WithCloseOnContextDone: the latter costs a goroutine per
// call and a check per loop iteration that made calls 10× and tight loops
// 10–50× slower here (docs/BENCHMARKS.md, "Plugin platform").
//
// Fuel is the hard bound, the deadline the soft one. Wasm code cannot be
// preempted by the Go scheduler: a running call keeps its thread, and a
// garbage collection waits for it. The deadline's timer needs a free P to
// fire; fuel is counted inside the sandbox and ends a call whatever the Go
// runtime is doing (DefaultPolicy's 300M fuel: about 55–70 ms of a tight
// loop here). Keep a finite fuel cap. Plugin.Close interrupts calls in
// flight and waits for them, so no call outlives its runtime.
//
// Plugins from the outside world are loaded with Runtime.LoadSigned: an
// Ed25519 (or hybrid Ed25519+ML-DSA-65) signed manifest, verified against
// the device's TrustStore, binds the module's SHA-256, ABI version,
// categories and limits. Runtime.Load trusts the manifest it is given.
//
// The ABI is specified in sdk/ABI.md and rendered in Go by sdk/abi.
package sandbox

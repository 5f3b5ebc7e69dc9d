// Package compileworker compiles untrusted Wasm in a child process, so that
// a hostile module cannot hang or kill the device process at compile time.
//
// Why: wazero's Runtime.CompileModule ignores its context. A module built
// to be expensive for the optimizing compiler (e.g. thousands of nested
// loops in one function) takes minutes of CPU, and one that makes the
// compiler allocate without bound ends in the Go runtime's fatal,
// unrecoverable "out of memory", which takes every plugin on the device
// down with it. Neither can be stopped from inside the process.
//
// How: Compile re-executes the current binary (/proc/self/exe on Linux,
// os.Executable elsewhere) with WorkerEnv set. This package's init sees the
// variable before main (or the test framework) runs, caps the process with
// setrlimit (RLIMIT_AS for address space, RLIMIT_CPU for CPU seconds),
// reads the module from stdin, compiles it with wazero into a private
// scratch compilation-cache directory, moves the single cache file it
// produced into the shared cache directory, writes a one-line JSON status
// to stdout and exits. Because the worker lives in init, every binary that
// links this package (through package host/sandbox: the wisp CLI, device makers'
// programs, go test binaries) can act as its own worker; no TestMain or
// extra executable is needed.
//
// The parent kills the child when the wall-time budget or its context
// ends. After a successful Compile, the parent compiles the same bytes with
// a wazero runtime that uses the same cache directory (wazero
// NewCompilationCacheWithDir) and the same ConfigFor settings; wazero then
// loads the native code from the file instead of compiling. Result.Path
// names that file, so the caller can check that it is present just before
// compiling (a missing file would make wazero compile in-process again).
//
// The cache key (wazero v1.12.0, internal/engine/wazevo/engine_cache.go) is
//
//	sha256( sha256(module bytes || per-function listener flags ||
//	               ensureTermination) || "WAZEVO" || CPU feature bits )
//
// under the directory "wazero-<version>-<GOARCH>-<GOOS>". So the child and
// the parent must agree on the wazero version, the CPU (same machine, same
// binary: automatic), the exact module bytes, WithCloseOnContextDone
// (ensureTermination) and the absence of function listeners
// (experimental.WithFunctionListenerFactory). Memory limits, core features
// and DWARF settings are not part of the key, but they decide validation
// and what is compiled, so both sides use Config.RuntimeConfig.
package compileworker

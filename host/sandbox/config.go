package sandbox

import (
	"log/slog"
	"time"

	"github.com/wisp-project/wisp/host/sandbox/internal/compileworker"
)

// RuntimeConfig configures a Runtime. It is an immutable value: each With
// method returns a copy, so a config can be shared and specialized safely.
type RuntimeConfig struct {
	policy   Limits
	trust    *TrustStore
	cacheDir string
	logger   *slog.Logger
	maxCalls int
	isolate  bool
	// compileBudget bounds compiling one new module (with a cache dir).
	compileBudget compileworker.Budget
}

// NewRuntimeConfig returns the default configuration: DefaultPolicy, an
// empty trust store (LoadSigned refuses everything), an in-memory compile
// cache and wisp.log lines discarded.
func NewRuntimeConfig() RuntimeConfig {
	return RuntimeConfig{policy: DefaultPolicy(), compileBudget: compileworker.DefaultBudget}
}

// WithPolicy caps every plugin at policy. Zero fields of policy take
// DefaultPolicy's values.
func (c RuntimeConfig) WithPolicy(policy Limits) RuntimeConfig {
	c.policy = policy
	return c
}

// WithTrustStore sets the author keys LoadSigned accepts.
func (c RuntimeConfig) WithTrustStore(t *TrustStore) RuntimeConfig {
	c.trust = t
	return c
}

// WithCompilationCacheDir keeps compiled plugins in dir, keyed by the digest
// of the (instrumented) module, so a restarted device is ready without
// compiling again. The directory is created if needed. With a cache dir, a
// module not yet in it is compiled in a child process (this program
// re-executed) under WithCompileBudget, so a module that makes the compiler
// run away is refused instead of taking the device down.
func (c RuntimeConfig) WithCompilationCacheDir(dir string) RuntimeConfig {
	c.cacheDir = dir
	return c
}

// CompilationCacheDir is the directory set by WithCompilationCacheDir, or ""
// (a Device keeps its own cache under its data directory when it is unset).
func (c RuntimeConfig) CompilationCacheDir() string { return c.cacheDir }

// WithLogger receives plugins' wisp.log lines at Debug level, with a
// "plugin" attribute, after the per-call and per-second caps.
func (c RuntimeConfig) WithLogger(l *slog.Logger) RuntimeConfig {
	c.logger = l
	return c
}

// WithCompileBudget bounds the compile worker: wall time (default 30 s),
// CPU time (20 s) and address space beyond its start (1 GiB). A module
// that exceeds it is refused with the reason.
func (c RuntimeConfig) WithCompileBudget(wall, cpu time.Duration, addressSpace uint64) RuntimeConfig {
	c.compileBudget = compileworker.Budget{Wall: wall, CPU: cpu, AddressSpace: addressSpace}
	return c
}

// WithMaxConcurrentCalls bounds how many plugin calls (and instance starts)
// run at once across the runtime. Wasm code cannot be preempted, so a
// garbage collection waits for every running call to reach a check point;
// the default, GOMAXPROCS−1 (at least 1), leaves the rest of the device a
// processor for its timers and its own work.
func (c RuntimeConfig) WithMaxConcurrentCalls(n int) RuntimeConfig {
	c.maxCalls = n
	return c
}

// WithProcessIsolation, when on, runs each plugin in a worker process of
// its own (this program re-executed, like the compile worker) instead of
// in the device's process. A call is sent to the worker over a pipe and
// its answer validated here; a worker that has not answered by the call's
// deadline (plus a grace of 25 ms for its own stop flag) is killed with
// SIGKILL, and one that crashes or is killed takes only that call down: the
// next call starts a fresh worker (and pays its start). The worker runs
// under an address-space limit (WithCompileBudget's) and a CPU limit per
// call. Calls to one plugin then run one at a time. Off by default: it
// costs tens of µs per call (docs/BENCHMARKS.md, "Sandbox bounds").
func (c RuntimeConfig) WithProcessIsolation(on bool) RuntimeConfig {
	c.isolate = on
	return c
}

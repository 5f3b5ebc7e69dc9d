package sandbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wisp-project/wisp/sdk/abi"
)

// module is one plugin module compiled for a Runtime: the wazero runtime
// that carries its memory cap, the compiled (fuel-metered) code, and the
// host modules it imports. Every Plugin a Runtime loads from the same bytes
// under the same fuel and memory cap shares one module, each Plugin with
// instances, and so memories, globals and tables, of its own: a process
// that runs many devices (a device maker's fleet simulator, a TV with a
// profile per household member) validates, instruments and compiles each
// plugin once instead of once per device. For the 2.6 MB Go fitness module
// that is about 70 ms saved on every load after the first (docs/BENCHMARKS.md,
// "The demo").
//
// Sharing a module shares nothing a plugin can write: wazero keeps each
// instance's state in the instance, the compiled code is read-only, and the
// WASI and wisp host modules hold no per-call state of their own (the wisp
// module looks up the calling instance's plugin in logs).
type module struct {
	key moduleKey
	// orig is a copy of the plugin's bytes, set when the module is listed:
	// a load of equal bytes takes key.digest from it instead of hashing.
	orig     []byte
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	// summaries: the module exports abi.SummaryExport.
	summaries bool
	logs      logRouter

	// Guarded by the Runtime's modules.mu.
	refs   int  // plugins using it
	listed bool // in modules.byKey, for later loads to find
}

// moduleKey is everything a compiled module depends on: the plugin's exact
// bytes, the fuel its instrumentation starts each call with, and the memory
// cap of its wazero runtime.
type moduleKey struct {
	digest [sha256.Size]byte
	fuel   int64
	pages  uint32
}

// maxIdleModules is how many modules no plugin uses a Runtime keeps
// compiled for the next load (a device that closes and reopens, the next
// simulated device); older ones are freed.
const maxIdleModules = 8

// modules is a Runtime's compiled modules by key.
type modules struct {
	mu    sync.Mutex
	byKey map[moduleKey]*module
	idle  []*module // listed modules with no plugin, oldest first
}

// newModule returns an empty, unlisted module with its own wazero runtime
// capped at limits' memory, held by one plugin.
func newModule(ctx context.Context, cache wazero.CompilationCache, limits Limits) *module {
	// No WithCloseOnContextDone: the fuel instrumentation stops calls (see
	// host/sandbox/internal/fuel), at a fraction of its cost.
	rt := wazero.NewRuntimeWithConfig(ctx, workerConfig.RuntimeConfig().
		WithMemoryLimitPages(limits.MemoryPages).
		WithCompilationCache(cache))
	return &module{rt: rt, refs: 1, logs: logRouter{by: map[api.Module]*logLimiter{}}}
}

// get returns the module listed under key, held for one more plugin, or
// nil.
func (ms *modules) get(key moduleKey) *module {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	m := ms.byKey[key]
	if m == nil {
		return nil
	}
	if m.refs == 0 {
		for i, idle := range ms.idle {
			if idle == m {
				ms.idle = append(ms.idle[:i], ms.idle[i+1:]...)
				break
			}
		}
	}
	m.refs++
	return m
}

// list makes a module that compiled and passed the checks findable under
// key, the digest of wasm. If another load listed the same key meanwhile,
// m stays unlisted and is freed with its last plugin.
func (ms *modules) list(key moduleKey, m *module, wasm []byte) {
	orig := bytes.Clone(wasm) // the caller's may change after Load returns
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if ms.byKey == nil {
		ms.byKey = map[moduleKey]*module{}
	}
	if ms.byKey[key] != nil {
		return
	}
	m.key, m.listed, m.orig = key, true, orig
	ms.byKey[key] = m
}

// digestOf returns the digest of a listed module whose bytes equal wasm's.
// The comparison runs outside the lock (orig never changes once listed).
func (ms *modules) digestOf(wasm []byte) ([sha256.Size]byte, bool) {
	ms.mu.Lock()
	var same []*module
	for _, m := range ms.byKey {
		if len(m.orig) == len(wasm) {
			same = append(same, m)
		}
	}
	ms.mu.Unlock()
	for _, m := range same {
		if bytes.Equal(m.orig, wasm) {
			return m.key.digest, true
		}
	}
	return [sha256.Size]byte{}, false
}

// release drops one plugin's hold on m. A listed module no plugin holds
// stays compiled among the idle ones, until maxIdleModules newer ones push
// it out; an unlisted one is freed at once.
func (ms *modules) release(ctx context.Context, m *module) error {
	ms.mu.Lock()
	if m.refs--; m.refs > 0 {
		ms.mu.Unlock()
		return nil
	}
	var free []*module
	if m.listed {
		ms.idle = append(ms.idle, m)
		if n := len(ms.idle) - maxIdleModules; n > 0 {
			free = append(free, ms.idle[:n]...)
			ms.idle = append(ms.idle[:0], ms.idle[n:]...)
			for _, f := range free {
				delete(ms.byKey, f.key)
			}
		}
	} else {
		free = append(free, m)
	}
	ms.mu.Unlock()
	var err error
	for _, f := range free {
		err = f.close(ctx)
	}
	return err
}

// closeIdle frees every module no plugin holds (Runtime.Close).
func (ms *modules) closeIdle(ctx context.Context) {
	ms.mu.Lock()
	free := ms.idle
	ms.idle = nil
	for _, f := range free {
		delete(ms.byKey, f.key)
	}
	ms.mu.Unlock()
	for _, f := range free {
		f.close(ctx)
	}
}

func (m *module) close(ctx context.Context) error {
	if m.compiled != nil {
		m.compiled.Close(ctx) // frees the native code, shared through the runtime's cache
	}
	return m.rt.Close(ctx)
}

// logRouter is the wisp host module of a module's runtime: it passes each
// wisp.log call to the log limiter of the plugin whose instance made it, so
// plugins sharing the module keep their own caps and log attributes.
type logRouter struct {
	mu sync.Mutex
	by map[api.Module]*logLimiter
}

func (r *logRouter) instantiate(ctx context.Context, rt wazero.Runtime) error {
	_, err := rt.NewHostModuleBuilder(abi.ImportModule).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(r.log), []api.ValueType{api.ValueTypeI32, api.ValueTypeI32}, nil).
		Export(logImport).
		Instantiate(ctx)
	if err != nil {
		return fmt.Errorf("sandbox: wisp module: %w", err)
	}
	return nil
}

func (r *logRouter) add(mod api.Module, g *logLimiter) {
	r.mu.Lock()
	r.by[mod] = g
	r.mu.Unlock()
}

func (r *logRouter) remove(mod api.Module) {
	r.mu.Lock()
	delete(r.by, mod)
	r.mu.Unlock()
}

func (r *logRouter) log(ctx context.Context, mod api.Module, stack []uint64) {
	r.mu.Lock()
	g := r.by[mod]
	r.mu.Unlock()
	if g != nil {
		g.log(ctx, mod, stack)
	}
}

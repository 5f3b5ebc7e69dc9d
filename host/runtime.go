package host

import (
	"context"
	"fmt"
	"slices"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wisp-project/wisp/sdk/abi"
)

// Runtime loads plugins under a device maker's policy. It is safe for
// concurrent use.
type Runtime struct {
	policy Limits
	cache  wazero.CompilationCache
}

// NewRuntime returns a runtime that caps every plugin at policy.
func NewRuntime(policy Limits) *Runtime {
	return &Runtime{policy: policy, cache: wazero.NewCompilationCache()}
}

// Close releases compiled code shared by the runtime's plugins. Close each
// plugin first.
func (r *Runtime) Close(ctx context.Context) error { return r.cache.Close(ctx) }

// Load compiles and checks a plugin module and instantiates it once, so a
// module that cannot start is refused here rather than at its first call.
func (r *Runtime) Load(ctx context.Context, m Manifest, wasm []byte) (*Plugin, error) {
	limits := m.Limits.Within(r.policy)
	// One wazero runtime per plugin: the memory cap is a runtime setting.
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().
		WithMemoryLimitPages(limits.MemoryPages).
		WithCloseOnContextDone(true).
		WithCompilationCache(r.cache))
	p, err := load(ctx, rt, m, limits, wasm)
	if err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("plugin %q: %w", m.Name, err)
	}
	return p, nil
}

func load(ctx context.Context, rt wazero.Runtime, m Manifest, limits Limits, wasm []byte) (*Plugin, error) {
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	if err := checkModule(compiled); err != nil {
		return nil, err
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		return nil, fmt.Errorf("host: wasi: %w", err)
	}
	p := &Plugin{
		manifest: m,
		limits:   limits,
		declared: make(map[uint32]bool, len(m.Categories)),
		rt:       rt,
		compiled: compiled,
	}
	for _, c := range m.Categories {
		p.declared[c] = true
	}
	inst, err := p.instantiate(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: start: %w", ErrRefused, err)
	}
	p.idle = append(p.idle, inst)
	return p, nil
}

// allowedImports is the WASI subset a plugin may import: enough for the Go
// and Rust runtimes to start, nothing that reaches outside. With the
// module config's defaults these see no files, no args, no env, a fake
// clock and deterministic randomness.
var allowedImports = map[string]bool{
	"args_get": true, "args_sizes_get": true, "environ_get": true, "environ_sizes_get": true,
	"clock_res_get": true, "clock_time_get": true, "random_get": true, "sched_yield": true,
	"proc_exit": true, "fd_write": true, "fd_close": true, "fd_fdstat_get": true, "fd_fdstat_set_flags": true,
	"fd_prestat_get":      true,
	"fd_prestat_dir_name": true, "fd_seek": true, "fd_read": true, "poll_oneoff": true,
}

// checkModule verifies the ABI before any guest code runs.
func checkModule(c wazero.CompiledModule) error {
	exports := c.ExportedFunctions()
	if _, ok := exports[abi.VersionExport]; !ok {
		return fmt.Errorf("%w: no %s export (not a Wisp ABI v%d plugin)", ErrRefused, abi.VersionExport, abi.Version)
	}
	i32 := api.ValueTypeI32
	want := map[string][2][]api.ValueType{
		abi.VersionExport: {nil, nil},
		abi.BufferExport:  {{i32}, {i32}},
		abi.ScoreExport:   {{i32, i32, i32, i32}, {i32}},
	}
	for name, sig := range want {
		fn, ok := exports[name]
		if !ok {
			return fmt.Errorf("%w: missing export %s", ErrRefused, name)
		}
		if !slices.Equal(fn.ParamTypes(), sig[0]) || !slices.Equal(fn.ResultTypes(), sig[1]) {
			return fmt.Errorf("%w: export %s has type %v -> %v", ErrRefused, name, fn.ParamTypes(), fn.ResultTypes())
		}
	}
	if _, ok := c.ExportedMemories()[abi.MemoryExport]; !ok {
		return fmt.Errorf("%w: no exported memory %q", ErrRefused, abi.MemoryExport)
	}
	if len(c.ImportedMemories()) > 0 {
		return fmt.Errorf("%w: plugins may not import memory", ErrRefused)
	}
	for _, fn := range c.ImportedFunctions() {
		mod, name, _ := fn.Import()
		if mod != wasi_snapshot_preview1.ModuleName || !allowedImports[name] {
			return fmt.Errorf("%w: import %s.%s is not allowed", ErrRefused, mod, name)
		}
	}
	return nil
}

package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wisp-project/wisp/host/sandbox/internal/compileworker"
	"github.com/wisp-project/wisp/sdk/abi"
)

// Runtime loads plugins under a device maker's policy. It is safe for
// concurrent use.
type Runtime struct {
	policy   Limits
	trust    *TrustStore
	cache    wazero.CompilationCache
	cacheDir string
	logger   *slog.Logger
	calls    *slots
	isolate  bool
	// compileBudget bounds the compile worker (used with a cache dir).
	compileBudget compileworker.Budget
}

// workerConfig is the wazero configuration shared by the compile worker
// and the plugins' runtimes, so the worker's output is a cache hit.
var workerConfig = compileworker.Config{}

// NewRuntime returns a runtime that caps every plugin at policy, with an
// in-memory compile cache and an empty trust store. Zero fields of policy
// take DefaultPolicy's values.
func NewRuntime(policy Limits) *Runtime {
	r, _ := NewRuntimeWithConfig(NewRuntimeConfig().WithPolicy(policy)) // cannot fail without a cache dir
	return r
}

// NewRuntimeWithConfig returns a runtime configured by cfg. It fails only if
// the compile cache directory cannot be created.
func NewRuntimeWithConfig(cfg RuntimeConfig) (*Runtime, error) {
	r := &Runtime{
		policy: cfg.policy.withDefaults(), trust: cfg.trust, logger: cfg.logger, cacheDir: cfg.cacheDir,
		calls: newCallSlots(cfg.maxCalls), compileBudget: cfg.compileBudget, isolate: cfg.isolate,
	}
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	if cfg.cacheDir != "" {
		c, err := wazero.NewCompilationCacheWithDir(cfg.cacheDir)
		if err != nil {
			return nil, fmt.Errorf("sandbox: compile cache: %w", err)
		}
		r.cache = c
	} else {
		r.cache = wazero.NewCompilationCache()
	}
	return r, nil
}

// Policy returns the device maker's caps in force.
func (r *Runtime) Policy() Limits { return r.policy }

// Close releases compiled code shared by the runtime's plugins. Close each
// plugin first.
func (r *Runtime) Close(ctx context.Context) error { return r.cache.Close(ctx) }

// LoadSigned verifies a signed manifest file against the runtime's trust
// store and the module against the manifest's digest, then loads it. Its
// refusals wrap ErrRefused and one of ErrUnsigned, ErrBadManifest,
// ErrUnknownAuthor, ErrBadSignature, ErrDigestMismatch or ErrWrongABI.
func (r *Runtime) LoadSigned(ctx context.Context, signedManifest, wasm []byte) (*Plugin, error) {
	m, err := VerifyManifest(signedManifest, r.trust)
	if err != nil {
		return nil, err
	}
	if err := checkDigest(m, wasm); err != nil {
		return nil, fmt.Errorf("plugin %q: %w", m.Name, err)
	}
	return r.Load(ctx, m, wasm)
}

// Load compiles and checks a plugin module and instantiates it once, so a
// module that cannot start is refused here rather than at its first call.
// It trusts m as given; use LoadSigned for plugins from the outside world.
func (r *Runtime) Load(ctx context.Context, m Manifest, wasm []byte) (*Plugin, error) {
	limits := m.Limits.Within(r.policy)
	p, err := r.load(ctx, m, limits, wasm)
	if err != nil {
		return nil, fmt.Errorf("plugin %q: %w", m.Name, err)
	}
	return p, nil
}

func (r *Runtime) load(ctx context.Context, m Manifest, limits Limits, wasm []byte) (*Plugin, error) {
	if len(wasm) > limits.ModuleBytes {
		return nil, fmt.Errorf("%w: module is %d bytes, limit %d", ErrRefused, len(wasm), limits.ModuleBytes)
	}
	if m.ABI != 0 && m.ABI != abiVersion {
		return nil, fmt.Errorf("%w: %w: manifest declares ABI v%d", ErrRefused, ErrWrongABI, m.ABI)
	}
	metered, err := r.instrument(ctx, wasm, limits.Fuel)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	if r.cacheDir != "" {
		// A new module is compiled in a child process the device can kill:
		// wazero's compiler ignores the context, and a module can make it
		// run for minutes or exhaust memory. The child leaves the native
		// code in the cache, where the compile below finds it.
		res, err := compileworker.Compile(ctx, r.cacheDir, metered, workerConfig, r.compileBudget)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRefused, err)
		}
		if !res.Ready() {
			return nil, fmt.Errorf("%w: the compile worker's cache entry is gone", ErrRefused)
		}
	}
	p := r.newPlugin(ctx, m, limits)
	if r.isolate {
		if err := p.prepareIsolated(ctx, metered, r); err != nil {
			return nil, err
		}
		return p, nil
	}
	if err := p.acquire(ctx); err != nil { // the first instance's start is plugin code too
		p.rt.Close(ctx)
		return nil, err
	}
	defer p.release()
	if err := p.prepare(ctx, metered); err != nil {
		if p.compiled != nil {
			p.compiled.Close(ctx)
		}
		p.rt.Close(ctx)
		return nil, err
	}
	return p, nil
}

// newPlugin returns a plugin with its own wazero runtime and nothing
// compiled yet.
func (r *Runtime) newPlugin(ctx context.Context, m Manifest, limits Limits) *Plugin {
	// One wazero runtime per plugin: the memory cap is a runtime setting.
	// No WithCloseOnContextDone: the fuel instrumentation stops calls (see
	// host/sandbox/internal/fuel), at a fraction of its cost.
	rt := wazero.NewRuntimeWithConfig(ctx, workerConfig.RuntimeConfig().
		WithMemoryLimitPages(limits.MemoryPages).
		WithCompilationCache(r.cache))
	return &Plugin{
		manifest: m,
		limits:   limits,
		declared: make(map[uint32]bool, len(m.Categories)),
		live:     map[*instance]bool{},
		slots:    newSlots(limits.instances()),
		calls:    r.calls,
		rt:       rt,
		log:      newLogLimiter(r.logger.With("plugin", m.Name), limits),
	}
}

// prepareIsolated checks the module here, as prepare does, but starts its
// instance in a worker process (see isolate.go); the parent keeps no
// compiled code.
func (p *Plugin) prepareIsolated(ctx context.Context, metered []byte, r *Runtime) error {
	defer func() { p.rt.Close(ctx); p.rt, p.compiled = nil, nil }()
	compiled, err := compileGuarded(ctx, p.rt, metered)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRefused, err)
	}
	defer compiled.Close(ctx)
	if err := checkModule(compiled); err != nil {
		return err
	}
	if fn, ok := compiled.ExportedFunctions()[abi.SummaryExport]; ok {
		if len(fn.ParamTypes()) != 0 || len(fn.ResultTypes()) != 0 {
			return fmt.Errorf("%w: export %s must be () -> ()", ErrRefused, abi.SummaryExport)
		}
		p.summaries = true
		p.sum = &summarizer{}
	}
	for _, c := range p.manifest.Categories {
		p.declared[c] = true
	}
	p.iso = &isolated{p: p, module: metered, cacheDir: r.cacheDir, budget: r.compileBudget, turn: newSlots(1)}
	if err := p.iso.turn.acquire(ctx); err != nil {
		return err
	}
	defer p.iso.turn.release()
	if err := p.iso.spawn(ctx); err != nil {
		if errors.Is(err, ErrRefused) {
			return err
		}
		return fmt.Errorf("%w: start: %w", ErrRefused, err)
	}
	return nil
}

func (p *Plugin) prepare(ctx context.Context, metered []byte) error {
	compiled, err := compileGuarded(ctx, p.rt, metered)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRefused, err)
	}
	p.compiled = compiled // from here on, a refusal closes it
	if p.onCompiled != nil {
		p.onCompiled()
	}
	if err := checkModule(compiled); err != nil {
		return err
	}
	// Host modules only for what the plugin imports: a C or WAT plugin
	// usually imports nothing, and skipping them is a fifth of its start.
	var wantWASI, wantLog bool
	for _, fn := range compiled.ImportedFunctions() {
		mod, _, _ := fn.Import()
		wantWASI = wantWASI || mod == wasi_snapshot_preview1.ModuleName
		wantLog = wantLog || mod == abi.ImportModule
	}
	if wantWASI {
		if _, err := wasi_snapshot_preview1.Instantiate(ctx, p.rt); err != nil {
			return fmt.Errorf("sandbox: wasi: %w", err)
		}
	}
	if wantLog {
		if err := p.log.instantiate(ctx, p.rt); err != nil {
			return err
		}
	}
	if fn, ok := compiled.ExportedFunctions()[abi.SummaryExport]; ok {
		if len(fn.ParamTypes()) != 0 || len(fn.ResultTypes()) != 0 {
			return fmt.Errorf("%w: export %s must be () -> ()", ErrRefused, abi.SummaryExport)
		}
		p.summaries = true
	}
	for _, c := range p.manifest.Categories {
		p.declared[c] = true
	}
	inst, err := p.instantiate(ctx)
	if err != nil {
		return fmt.Errorf("%w: start: %w", ErrRefused, err)
	}
	p.idle = append(p.idle, inst)
	return nil
}

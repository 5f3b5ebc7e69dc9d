package sandbox

import (
	"context"
	"crypto/sha256"
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
	// modules are the compiled plugin modules the runtime's plugins share.
	modules modules
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
func (r *Runtime) Close(ctx context.Context) error {
	r.modules.closeIdle(ctx)
	return r.cache.Close(ctx)
}

// LoadSigned verifies a signed manifest file against the runtime's trust
// store and the module against the manifest's digest, then loads it. Its
// refusals wrap ErrRefused and one of ErrUnsigned, ErrBadManifest,
// ErrUnknownAuthor, ErrBadSignature, ErrDigestMismatch or ErrWrongABI.
func (r *Runtime) LoadSigned(ctx context.Context, signedManifest, wasm []byte) (*Plugin, error) {
	m, err := VerifyManifest(signedManifest, r.trust)
	if err != nil {
		return nil, err
	}
	sum := r.sum(wasm)
	if err := checkDigest(m, sum); err != nil {
		return nil, fmt.Errorf("plugin %q: %w", m.Name, err)
	}
	return r.loadSum(ctx, m, wasm, sum)
}

// Load compiles and checks a plugin module and instantiates it once, so a
// module that cannot start is refused here rather than at its first call.
// It trusts m as given; use LoadSigned for plugins from the outside world.
//
// A module the runtime already compiled for another plugin (the same bytes
// under the same fuel and memory cap, loaded and still open, or closed
// recently) is not validated, instrumented or compiled again: the new
// plugin shares its compiled code and starts instances of its own, which
// share no memory, globals or tables with any other plugin's. A process
// running many devices should give them one Runtime (host.DeviceConfig's
// WithSandbox) so each plugin compiles once per process.
func (r *Runtime) Load(ctx context.Context, m Manifest, wasm []byte) (*Plugin, error) {
	return r.loadSum(ctx, m, wasm, r.sum(wasm))
}

// LoadDigest is Load for a module read back from storage under the SHA-256
// digest it was stored with: a module whose bytes hash otherwise is refused
// (ErrRefused, ErrDigestMismatch) before anything of it runs. The digest it
// computes is the one the module is shared under, so checking costs no
// second pass over the bytes.
func (r *Runtime) LoadDigest(ctx context.Context, m Manifest, wasm []byte, digest [sha256.Size]byte) (*Plugin, error) {
	sum := r.sum(wasm)
	if sum != digest {
		return nil, fmt.Errorf("plugin %q: %w: %w: module sha256 %x, stored as %x", m.Name, ErrRefused, ErrDigestMismatch, sum[:8], digest[:8])
	}
	return r.loadSum(ctx, m, wasm, sum)
}

// sum returns wasm's SHA-256. If the runtime keeps a compiled module of
// the same bytes, it is that module's digest (equal bytes, equal digest):
// comparing the 2.6 MB Go fitness module takes about a tenth of hashing it.
func (r *Runtime) sum(wasm []byte) [sha256.Size]byte {
	if sum, ok := r.modules.digestOf(wasm); ok {
		return sum
	}
	return sha256.Sum256(wasm)
}

// loadSum is Load of a module whose SHA-256, computed over these very
// bytes (sum), is sum.
func (r *Runtime) loadSum(ctx context.Context, m Manifest, wasm []byte, sum [sha256.Size]byte) (*Plugin, error) {
	limits := m.Limits.Within(r.policy)
	p, err := r.load(ctx, m, limits, wasm, sum)
	if err != nil {
		return nil, fmt.Errorf("plugin %q: %w", m.Name, err)
	}
	return p, nil
}

func (r *Runtime) load(ctx context.Context, m Manifest, limits Limits, wasm []byte, sum [sha256.Size]byte) (*Plugin, error) {
	if len(wasm) > limits.ModuleBytes {
		return nil, fmt.Errorf("%w: module is %d bytes, limit %d", ErrRefused, len(wasm), limits.ModuleBytes)
	}
	if m.ABI != 0 && m.ABI != abiVersion {
		return nil, fmt.Errorf("%w: %w: manifest declares ABI v%d", ErrRefused, ErrWrongABI, m.ABI)
	}
	var key moduleKey
	if !r.isolate { // an isolated plugin's module lives in its worker process (and is never listed)
		key = moduleKey{digest: sum, fuel: limits.Fuel, pages: limits.MemoryPages}
		if mod := r.modules.get(key); mod != nil {
			p := r.newPlugin(m, limits, mod)
			p.digest = sum
			return r.start(ctx, p)
		}
	}
	metered, err := r.instrument(ctx, wasm, sum, limits.Fuel)
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
	p := r.newPlugin(m, limits, newModule(ctx, r.cache, limits))
	p.digest = sum
	if r.isolate {
		if err := p.prepareIsolated(ctx, metered, r); err != nil {
			return nil, err
		}
		return p, nil
	}
	if err := p.acquire(ctx); err != nil { // the first instance's start is plugin code too
		r.modules.release(ctx, p.mod)
		return nil, err
	}
	defer p.release()
	if err := p.prepare(ctx, metered); err != nil {
		r.modules.release(ctx, p.mod)
		return nil, err
	}
	r.modules.list(key, p.mod, wasm)
	return p, nil
}

// start starts the first instance of a plugin whose module was compiled
// and checked before.
func (r *Runtime) start(ctx context.Context, p *Plugin) (*Plugin, error) {
	fail := func(err error) (*Plugin, error) {
		r.modules.release(ctx, p.mod)
		return nil, err
	}
	if err := p.acquire(ctx); err != nil {
		return fail(err)
	}
	defer p.release()
	inst, err := p.instantiate(ctx)
	if err != nil {
		return fail(fmt.Errorf("%w: start: %w", ErrRefused, err))
	}
	p.idle = append(p.idle, inst)
	return p, nil
}

// newPlugin returns a plugin of r holding mod, with no instance yet. (One
// wazero runtime per module: the memory cap is a runtime setting.)
func (r *Runtime) newPlugin(m Manifest, limits Limits, mod *module) *Plugin {
	p := &Plugin{
		manifest:  m,
		limits:    limits,
		declared:  make(map[uint32]bool, len(m.Categories)),
		live:      map[*instance]bool{},
		slots:     newSlots(limits.instances()),
		calls:     r.calls,
		modules:   &r.modules,
		mod:       mod,
		summaries: mod.summaries,
		log:       newLogLimiter(r.logger.With("plugin", m.Name), limits),
	}
	for _, c := range m.Categories {
		p.declared[c] = true
	}
	return p
}

// prepareIsolated checks the module here, as prepare does, but starts its
// instance in a worker process (see isolate.go); the parent keeps no
// compiled code.
func (p *Plugin) prepareIsolated(ctx context.Context, metered []byte, r *Runtime) error {
	defer func() { p.mod.rt.Close(ctx); p.mod = nil }()
	compiled, err := compileGuarded(ctx, p.mod.rt, metered)
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

// prepare compiles and checks the plugin's (new) module, adds the host
// modules it imports and starts its first instance.
func (p *Plugin) prepare(ctx context.Context, metered []byte) error {
	compiled, err := compileGuarded(ctx, p.mod.rt, metered)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRefused, err)
	}
	p.mod.compiled = compiled // from here on, a refusal closes it
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
		if _, err := wasi_snapshot_preview1.Instantiate(ctx, p.mod.rt); err != nil {
			return fmt.Errorf("sandbox: wasi: %w", err)
		}
	}
	if wantLog {
		if err := p.mod.logs.instantiate(ctx, p.mod.rt); err != nil {
			return err
		}
	}
	if fn, ok := compiled.ExportedFunctions()[abi.SummaryExport]; ok {
		if len(fn.ParamTypes()) != 0 || len(fn.ResultTypes()) != 0 {
			return fmt.Errorf("%w: export %s must be () -> ()", ErrRefused, abi.SummaryExport)
		}
		p.mod.summaries, p.summaries = true, true
	}
	inst, err := p.instantiate(ctx)
	if err != nil {
		return fmt.Errorf("%w: start: %w", ErrRefused, err)
	}
	p.idle = append(p.idle, inst)
	return nil
}

package sandbox

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/wisp-project/wisp/sdk/abi"
)

// Plugin is a loaded plugin with a pool of instances. Score is safe for
// concurrent use: each call borrows an idle instance or starts a new one.
type Plugin struct {
	manifest Manifest
	limits   Limits
	digest   [sha256.Size]byte // of the module's bytes as given to the Runtime
	declared map[uint32]bool
	// mod is the compiled module, which plugins of the same bytes and caps
	// share (modules.go); modules is its runtime's, which frees it.
	mod     *module
	modules *modules
	log     *logLimiter
	// summaries: the plugin exports abi.SummaryExport and takes summary
	// batches.
	summaries bool
	// iso, with process isolation, is the plugin's worker process; the
	// plugin then has no module or instances here, and
	// sum is the summarizer its calls share.
	iso *isolated
	sum *summarizer
	// onCompiled, if set, runs once the module is compiled (the worker
	// tells its parent).
	onCompiled func()

	// slots holds one token per instance the plugin may run at once
	// (Limits.instances); calls holds the runtime's, shared by all plugins.
	slots *slots
	calls *slots

	mu      sync.Mutex
	idle    []*instance
	live    map[*instance]bool // every instance not discarded, so Close can stop them
	running sync.WaitGroup     // calls in flight; Close waits for them
	closed  bool
	// shrinker, when set, will discard the idle instances but the most
	// recently used one.
	shrinker *time.Timer
	started  int // instances started, for tests and metrics
}

// Manifest returns the manifest the plugin was loaded with.
func (p *Plugin) Manifest() Manifest { return p.manifest }

// ModuleDigest returns the SHA-256 of the module the plugin was loaded
// from, as the runtime computed it while loading (a device names its stored
// module by it, hashing the bytes once).
func (p *Plugin) ModuleDigest() [sha256.Size]byte { return p.digest }

// Limits returns the limits in force for the plugin.
func (p *Plugin) Limits() Limits { return p.limits }

// Started reports how many instances have been started so far.
func (p *Plugin) Started() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started
}

// LogDropped reports how many wisp.log bytes were dropped over the caps.
func (p *Plugin) LogDropped() int64 { return p.log.Dropped() }

func (p *Plugin) get(ctx context.Context) (*instance, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	p.running.Add(1)
	if n := len(p.idle); n > 0 {
		inst := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return inst, nil
	}
	p.mu.Unlock()
	inst, err := p.instantiate(ctx)
	if err != nil {
		p.running.Done()
		return nil, err
	}
	return inst, nil
}

// idleTTL is how long a plugin keeps more than one idle instance after a
// burst of concurrent calls.
const idleTTL = 30 * time.Second

// shrink discards every idle instance but the most recently used one.
func (p *Plugin) shrink() {
	p.mu.Lock()
	p.shrinker = nil
	if p.closed || len(p.idle) < 2 {
		p.mu.Unlock()
		return
	}
	old := slices.Clone(p.idle[:len(p.idle)-1])
	p.idle = append(p.idle[:0], p.idle[len(p.idle)-1])
	p.mu.Unlock()
	for _, inst := range old {
		p.discard(context.Background(), inst)
	}
}

func (p *Plugin) put(ctx context.Context, inst *instance) {
	p.mu.Lock()
	if !p.closed {
		p.idle = append(p.idle, inst)
		if len(p.idle) > 1 && p.shrinker == nil {
			p.shrinker = time.AfterFunc(idleTTL, p.shrink)
		}
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.discard(ctx, inst)
}

// Score runs the plugin on a batch of events and returns its validated
// scores. On any plugin fault the instance is discarded and the error wraps
// ErrTimeout, ErrTrap, ErrBadOutput or ErrPluginFailed. A call waits, as
// long as ctx allows, for one of the plugin's instances and for one of the
// runtime's call slots; a context already done refuses the call.
func (p *Plugin) Score(ctx context.Context, events []abi.Event) ([]abi.Score, error) {
	if len(events) > p.limits.MaxEvents {
		return nil, fmt.Errorf("%w: %d > %d", ErrTooManyEvents, len(events), p.limits.MaxEvents)
	}
	if err := ctx.Err(); err != nil {
		return nil, p.fail(err)
	}
	if p.iso != nil {
		return p.scoreIsolated(ctx, events)
	}
	if err := p.acquire(ctx); err != nil {
		return nil, p.fail(err)
	}
	defer p.release()
	inst, err := p.get(ctx)
	if err != nil {
		return nil, p.fail(err)
	}
	defer p.running.Done() // after the instance is back in the pool or discarded
	scores, err := p.call(ctx, inst, events)
	if err != nil || inst.tainted {
		p.discard(ctx, inst)
		if err != nil {
			return nil, p.fail(err)
		}
		return scores, nil
	}
	p.put(ctx, inst)
	return scores, nil
}

func (p *Plugin) scoreIsolated(ctx context.Context, events []abi.Event) ([]abi.Score, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, p.fail(ErrClosed)
	}
	p.running.Add(1)
	p.mu.Unlock()
	defer p.running.Done()
	scores, err := p.iso.score(ctx, events)
	if err != nil {
		return nil, p.fail(err)
	}
	return scores, nil
}

// runOnce is one call on raw input in a worker process: an instance from
// the pool, run, and the raw records (valid until the next call), or the
// error and, for ErrPluginFailed, the plugin's code.
func (p *Plugin) runOnce(ctx context.Context, in input, l Limits) ([]byte, int32, error) {
	if err := p.acquire(ctx); err != nil {
		return nil, 0, err
	}
	defer p.release()
	inst, err := p.get(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer p.running.Done()
	out, err := p.run(ctx, inst, in, l)
	if err != nil || inst.tainted {
		code := int32(inst.stack[0])
		p.discard(ctx, inst)
		if err != nil {
			return nil, code, err
		}
		return out, 0, nil // the view stays valid: Close leaves memory readable
	}
	p.put(ctx, inst)
	return out, 0, nil
}

// acquire takes one of the plugin's instance slots, then one of the
// runtime's call slots, in that order so a call waiting for its plugin
// holds no runtime slot. release gives both back.
func (p *Plugin) acquire(ctx context.Context) error {
	if err := p.slots.acquire(ctx); err != nil {
		return err
	}
	if err := p.calls.acquire(ctx); err != nil {
		p.slots.release()
		return err
	}
	return nil
}

func (p *Plugin) release() {
	p.calls.release()
	p.slots.release()
}

func (p *Plugin) fail(err error) error { return fmt.Errorf("plugin %q: %w", p.manifest.Name, err) }

func (p *Plugin) call(ctx context.Context, inst *instance, events []abi.Event) ([]abi.Score, error) {
	in := input{events: events}
	if p.summaries {
		in.groups, in.summaries = inst.sum.summarize(events), true
	}
	out, err := p.run(ctx, inst, in, p.limits)
	if err != nil {
		return nil, err
	}
	return DecodeOutput(out, p.declared)
}

// input is one call's batch: events or summary groups the host encodes
// into the guest's buffer, or (in an isolated worker) raw bytes the parent
// encoded.
type input struct {
	events    []abi.Event
	groups    []abi.Summary
	summaries bool
	raw       []byte
}

func (in *input) size() uint32 {
	switch {
	case in.raw != nil:
		return uint32(len(in.raw))
	case in.summaries:
		return uint32(abi.HeaderSize + len(in.groups)*abi.SummarySize)
	}
	return uint32(abi.BatchSize(len(in.events)))
}

func (in *input) encode(dst []byte) {
	switch {
	case in.raw != nil:
		copy(dst, in.raw)
	case in.summaries:
		encodeSummary(dst, in.groups)
	default:
		encodeBatch(dst, in.events)
	}
}

// run makes one call of wisp_score on inst under l and returns the raw
// score records, a view of the guest's memory valid until its next call.
func (p *Plugin) run(ctx context.Context, inst *instance, in input, l Limits) ([]byte, error) {
	inLen := in.size()
	outOff := (inLen + 7) &^ 7
	outCap := uint32(l.MaxScores)
	need := outOff + outCap*abi.ScoreSize

	inst.arm(ctx, l)
	defer inst.disarm()
	mem := inst.mod.Memory()
	if need > inst.bufCap {
		inst.stack[0] = uint64(need)
		if err := inst.buffer.CallWithStack(ctx, inst.stack[:]); err != nil {
			return nil, inst.classify(ctx, err, l)
		}
		ptr := uint32(inst.stack[0])
		if ptr == 0 {
			if mem := inst.memoryLimit(l); mem != nil {
				return nil, fmt.Errorf("%w: %s(%d) returned 0: %w", ErrBadOutput, abi.BufferExport, need, mem)
			}
		}
		if ptr == 0 || uint64(ptr)+uint64(need) > uint64(mem.Size()) {
			return nil, fmt.Errorf("%w: %s(%d) returned %#x outside memory of %d bytes", ErrBadOutput, abi.BufferExport, need, ptr, mem.Size())
		}
		inst.bufPtr, inst.bufCap = ptr, need
	}
	// Encode straight into the guest's buffer: Read returns a view of its
	// memory, valid until the guest next grows it.
	view, ok := mem.Read(inst.bufPtr, inLen)
	if !ok {
		return nil, fmt.Errorf("%w: buffer %#x no longer inside memory", ErrBadOutput, inst.bufPtr)
	}
	in.encode(view)
	inst.stack = [4]uint64{uint64(inst.bufPtr), uint64(inLen), uint64(inst.bufPtr + outOff), uint64(outCap)}
	if err := inst.score.CallWithStack(ctx, inst.stack[:]); err != nil {
		return nil, inst.classify(ctx, err, l)
	}
	n := int32(inst.stack[0])
	switch {
	case n < 0:
		if mem := inst.memoryLimit(l); mem != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrPluginFailed, codeText(n), mem)
		}
		return nil, fmt.Errorf("%w: %s", ErrPluginFailed, codeText(n))
	case uint32(n) > outCap:
		return nil, fmt.Errorf("%w: %d scores for a capacity of %d", ErrBadOutput, n, outCap)
	}
	out, ok := mem.Read(inst.bufPtr+outOff, uint32(n)*abi.ScoreSize)
	if !ok {
		return nil, fmt.Errorf("%w: output outside memory", ErrBadOutput)
	}
	return out, nil
}

// DecodeOutput decodes and validates a plugin's score records: whole
// records only, each category in declared and returned once, each score
// finite and in [0, 1]. Errors wrap ErrBadOutput. Plugin.Score applies it to
// every answer; it is exported for tools that replay plugin output.
func DecodeOutput(out []byte, declared map[uint32]bool) ([]abi.Score, error) {
	if len(out)%abi.ScoreSize != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a whole number of %d-byte records", ErrBadOutput, len(out), abi.ScoreSize)
	}
	scores := abi.DecodeScores(make([]abi.Score, 0, len(out)/abi.ScoreSize), out)
	for i, s := range scores {
		v := float64(s.Value)
		switch {
		case !declared[s.Category]:
			return nil, fmt.Errorf("%w: category %d is not declared in the manifest", ErrBadOutput, s.Category)
		case math.IsNaN(v) || v < 0 || v > 1:
			return nil, fmt.Errorf("%w: category %d score %v is not in [0, 1]", ErrBadOutput, s.Category, v)
		}
		for _, t := range scores[:i] {
			if t.Category == s.Category {
				return nil, fmt.Errorf("%w: category %d returned twice", ErrBadOutput, s.Category)
			}
		}
	}
	return scores, nil
}

// Close stops every instance and releases the plugin's memory. Calls in
// flight are interrupted (they fail with ErrClosed) and Close waits for
// them to return before the runtime goes, so no call runs on freed code.
func (p *Plugin) Close(ctx context.Context) error {
	if p.iso != nil {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		p.iso.close()
		p.running.Wait()
		return nil
	}
	p.mu.Lock()
	p.closed = true
	if p.shrinker != nil {
		p.shrinker.Stop()
	}
	idle := p.idle
	p.idle = nil
	for inst := range p.live { // idle ones too: they are never used again
		inst.closing.Store(true)
		inst.raiseStop()
	}
	p.mu.Unlock()
	for _, inst := range idle {
		inst.timer.Stop()
	}
	p.running.Wait()
	for _, inst := range idle {
		p.discard(ctx, inst) // the module may live on for other plugins
	}
	return p.modules.release(ctx, p.mod)
}

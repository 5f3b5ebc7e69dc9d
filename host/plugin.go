package host

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wisp-project/wisp/sdk/abi"
)

// Plugin is a loaded plugin with a pool of instances. Score is safe for
// concurrent use: each call borrows an idle instance or starts a new one.
type Plugin struct {
	manifest Manifest
	limits   Limits
	declared map[uint32]bool
	rt       wazero.Runtime
	compiled wazero.CompiledModule

	mu      sync.Mutex
	idle    []*instance
	closed  bool
	started int // instances started, for tests and metrics
}

// instance is one sandboxed module with its cached ABI buffer.
type instance struct {
	mod    api.Module
	score  api.Function
	buffer api.Function
	bufPtr uint32
	bufCap uint32
	in     []byte // reused encoding buffer
}

// Manifest returns the manifest the plugin was loaded with.
func (p *Plugin) Manifest() Manifest { return p.manifest }

// Limits returns the limits in force for the plugin.
func (p *Plugin) Limits() Limits { return p.limits }

// Started reports how many instances have been started so far.
func (p *Plugin) Started() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started
}

func (p *Plugin) instantiate(ctx context.Context) (*instance, error) {
	ctx, cancel := context.WithTimeout(ctx, p.limits.Deadline)
	defer cancel()
	mod, err := p.rt.InstantiateModule(ctx, p.compiled, wazero.NewModuleConfig().
		WithName(""). // anonymous, so a pool can hold many
		WithStartFunctions("_initialize"))
	if err != nil {
		return nil, classify(ctx, err)
	}
	p.mu.Lock()
	p.started++
	p.mu.Unlock()
	return &instance{
		mod:    mod,
		score:  mod.ExportedFunction(abi.ScoreExport),
		buffer: mod.ExportedFunction(abi.BufferExport),
	}, nil
}

func (p *Plugin) get(ctx context.Context) (*instance, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	if n := len(p.idle); n > 0 {
		inst := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return inst, nil
	}
	p.mu.Unlock()
	return p.instantiate(ctx)
}

func (p *Plugin) put(ctx context.Context, inst *instance) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		inst.mod.Close(ctx)
		return
	}
	p.idle = append(p.idle, inst)
}

// Score runs the plugin on a batch of events and returns its validated
// scores. On any plugin fault the instance is discarded and the error wraps
// ErrTimeout, ErrTrap, ErrBadOutput or ErrPluginFailed.
func (p *Plugin) Score(ctx context.Context, events []abi.Event) ([]abi.Score, error) {
	if len(events) > p.limits.MaxEvents {
		return nil, fmt.Errorf("%w: %d > %d", ErrTooManyEvents, len(events), p.limits.MaxEvents)
	}
	inst, err := p.get(ctx)
	if err != nil {
		return nil, p.fail(err)
	}
	scores, err := p.call(ctx, inst, events)
	if err != nil {
		inst.mod.Close(ctx)
		return nil, p.fail(err)
	}
	p.put(ctx, inst)
	return scores, nil
}

func (p *Plugin) fail(err error) error { return fmt.Errorf("plugin %q: %w", p.manifest.Name, err) }

func (p *Plugin) call(ctx context.Context, inst *instance, events []abi.Event) ([]abi.Score, error) {
	ctx, cancel := context.WithTimeout(ctx, p.limits.Deadline)
	defer cancel()

	inst.in = abi.AppendBatch(inst.in[:0], events)
	inLen := uint32(len(inst.in))
	outOff := (inLen + 7) &^ 7
	outCap := uint32(p.limits.MaxScores)
	need := outOff + outCap*abi.ScoreSize
	mem := inst.mod.Memory()
	if need > inst.bufCap {
		res, err := inst.buffer.Call(ctx, uint64(need))
		if err != nil {
			return nil, classify(ctx, err)
		}
		ptr := uint32(res[0])
		if ptr == 0 || uint64(ptr)+uint64(need) > uint64(mem.Size()) {
			return nil, fmt.Errorf("%w: %s(%d) returned %#x outside memory of %d bytes", ErrBadOutput, abi.BufferExport, need, ptr, mem.Size())
		}
		inst.bufPtr, inst.bufCap = ptr, need
	}
	if !mem.Write(inst.bufPtr, inst.in) {
		return nil, fmt.Errorf("%w: buffer %#x no longer inside memory", ErrBadOutput, inst.bufPtr)
	}
	res, err := inst.score.Call(ctx, uint64(inst.bufPtr), uint64(inLen), uint64(inst.bufPtr+outOff), uint64(outCap))
	if err != nil {
		return nil, classify(ctx, err)
	}
	n := int32(res[0])
	switch {
	case n < 0:
		return nil, fmt.Errorf("%w: code %d", ErrPluginFailed, n)
	case uint32(n) > outCap:
		return nil, fmt.Errorf("%w: %d scores for a capacity of %d", ErrBadOutput, n, outCap)
	}
	out, ok := mem.Read(inst.bufPtr+outOff, uint32(n)*abi.ScoreSize)
	if !ok {
		return nil, fmt.Errorf("%w: output outside memory", ErrBadOutput)
	}
	scores := abi.DecodeScores(make([]abi.Score, 0, n), out)
	return scores, p.validate(scores)
}

// validate enforces the ABI's promises on a plugin's answer.
func (p *Plugin) validate(scores []abi.Score) error {
	seen := make(map[uint32]bool, len(scores))
	for _, s := range scores {
		v := float64(s.Value)
		switch {
		case !p.declared[s.Category]:
			return fmt.Errorf("%w: category %d is not declared in the manifest", ErrBadOutput, s.Category)
		case seen[s.Category]:
			return fmt.Errorf("%w: category %d returned twice", ErrBadOutput, s.Category)
		case math.IsNaN(v) || v < 0 || v > 1:
			return fmt.Errorf("%w: category %d score %v is not in [0, 1]", ErrBadOutput, s.Category, v)
		}
		seen[s.Category] = true
	}
	return nil
}

// classify maps a wazero call error to the host's sentinel errors.
func classify(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	if ctx.Err() != nil {
		return ctx.Err() // the caller cancelled; not the plugin's fault
	}
	return fmt.Errorf("%w: %w", ErrTrap, err)
}

// Close stops every instance and releases the plugin's memory.
func (p *Plugin) Close(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	p.idle = nil
	p.mu.Unlock()
	return p.rt.Close(ctx)
}

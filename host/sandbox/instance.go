package sandbox

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wisp-project/wisp/host/sandbox/internal/fuel"
	"github.com/wisp-project/wisp/sdk/abi"
)

// instance is one sandboxed module with its cached ABI buffer and the
// handles of its fuel instrumentation.
type instance struct {
	mod    api.Module
	score  api.Function
	buffer api.Function
	fuel   api.MutableGlobal
	stop   api.MutableGlobal
	// growFail holds the pages asked for by the call's last failed
	// memory.grow, 0 if none (reset by arm).
	growFail api.MutableGlobal
	timer    *time.Timer // raises stop at the deadline
	// stopCtx unregisters the caller's context from raising stop (nil when
	// the call's context cannot be cancelled); set by arm.
	stopCtx func() bool
	// stopped records, for the host's side, that stop was raised: the
	// guest reads the global natively, the host reads this (race-free).
	stopped atomic.Bool
	// closing: Plugin.Close raised stop, so the call ends as ErrClosed.
	closing atomic.Bool
	stack   [4]uint64
	bufPtr  uint32
	bufCap  uint32
	logged  int         // wisp.log bytes this call
	sum     *summarizer // summary batch scratch, for plugins that take them
	// tainted marks an instance whose stop flag was (or may be being)
	// raised: its answer stands, but it is not reused.
	tainted bool
}

func (p *Plugin) instantiate(ctx context.Context) (*instance, error) {
	// No start functions here: the instance's own start (the module's start
	// function, moved to an export by the instrumenter, and _initialize)
	// runs in start, under the same fuel, deadline and log caps as a call.
	mod, err := p.mod.rt.InstantiateModule(ctx, p.mod.compiled, wazero.NewModuleConfig().
		WithName(""). // anonymous, so a pool can hold many
		WithStartFunctions())
	if err != nil {
		return nil, fmt.Errorf("%w (memory cap: %d pages)", err, p.limits.MemoryPages)
	}
	f, ok1 := mod.ExportedGlobal(fuel.FuelExport).(api.MutableGlobal)
	s, ok2 := mod.ExportedGlobal(fuel.StopExport).(api.MutableGlobal)
	g, ok3 := mod.ExportedGlobal(fuel.GrowFailExport).(api.MutableGlobal)
	if !ok1 || !ok2 || !ok3 {
		mod.Close(ctx)
		return nil, errors.New("sandbox: instrumentation globals missing")
	}
	inst := &instance{
		mod:      mod,
		score:    mod.ExportedFunction(abi.ScoreExport),
		buffer:   mod.ExportedFunction(abi.BufferExport),
		fuel:     f,
		stop:     s,
		growFail: g,
	}
	if p.summaries {
		inst.sum = &summarizer{}
	}
	inst.timer = time.AfterFunc(time.Hour, inst.raiseStop)
	inst.timer.Stop()
	p.log.register(mod, inst)
	p.mod.logs.add(mod, p.log)
	p.mu.Lock()
	p.started++
	p.live[inst] = true
	if p.closed { // Close ran while this instance started: stop it too
		inst.closing.Store(true)
		inst.raiseStop()
	}
	p.mu.Unlock()
	if err := inst.start(ctx, p.limits); err != nil {
		p.discard(ctx, inst)
		return nil, err
	}
	return inst, nil
}

// startExports run, in order, when an instance starts: the module's start
// function and a reactor's _initialize.
var startExports = []string{fuel.StartExport, "_initialize"}

// StartDeadline is the least wall time an instance's start functions get
// (see Limits.Deadline); one call's Fuel bounds their work as well.
const StartDeadline = time.Second

// start runs the instance's start functions with one call's fuel and a
// deadline of max(l.Deadline, StartDeadline). A start function that traps, runs out, or exits (even with
// status 0: the instance is then closed and could serve no call) fails it.
func (inst *instance) start(ctx context.Context, l Limits) error {
	l.Deadline = max(l.Deadline, StartDeadline)
	inst.arm(ctx, l)
	defer inst.disarm()
	for _, name := range startExports {
		fn := inst.mod.ExportedFunction(name)
		if fn == nil {
			continue
		}
		if _, err := fn.Call(ctx); err != nil {
			return fmt.Errorf("%s: %w", name, inst.classify(ctx, err, l))
		}
		if inst.mod.IsClosed() {
			return fmt.Errorf("%s: %w: the module exited while starting", name, ErrTrap)
		}
	}
	return nil
}

func (p *Plugin) discard(ctx context.Context, inst *instance) {
	p.mu.Lock()
	delete(p.live, inst)
	p.mu.Unlock()
	inst.timer.Stop()
	p.log.forget(inst.mod)
	p.mod.logs.remove(inst.mod)
	inst.mod.Close(ctx)
}

// arm gives the instance its fuel and deadline for one call; disarm takes
// them back. Interruption is asynchronous: the timer (or the caller's
// context) raises the stop global, which the instrumented code checks at
// every function entry and loop header. The pair keeps its state in the
// instance, not in a closure, so an armed call allocates nothing.
func (inst *instance) arm(ctx context.Context, l Limits) {
	inst.fuel.Set(uint64(l.Fuel))
	if inst.growFail.Get() != 0 {
		inst.growFail.Set(0)
	}
	inst.logged = 0
	inst.timer.Reset(l.Deadline)
	inst.stopCtx = nil
	if ctx.Done() != nil {
		inst.stopCtx = context.AfterFunc(ctx, inst.raiseStop)
	}
}

// disarm stops the deadline and the context's hook; if either already
// fired (or may be firing), the instance is tainted and not reused.
func (inst *instance) disarm() {
	if !inst.timer.Stop() {
		inst.tainted = true
	}
	if inst.stopCtx != nil && !inst.stopCtx() {
		inst.tainted = true
	}
	inst.stopCtx = nil
}

// raiseStop interrupts the running call (from the timer's or the context's
// goroutine).
func (inst *instance) raiseStop() {
	inst.stopped.Store(true)
	inst.stop.Set(math.MaxInt64)
}

// classify maps a failed call to the host's sentinel errors, telling an
// interrupted or out-of-fuel call from a genuine trap by reading the
// instrumentation globals. Fuel is read first: a call that ran out of fuel
// after its deadline timer also fired still ran out of fuel.
func (inst *instance) classify(ctx context.Context, err error, l Limits) error {
	switch {
	case inst.closing.Load():
		return fmt.Errorf("%w during the call: %w", ErrClosed, err)
	case int64(inst.fuel.Get()) < 0:
		return fmt.Errorf("%w: %w", ErrOutOfFuel, stopped{fmt.Sprintf("the call used its budget of %d units and was stopped", l.Fuel), err})
	case inst.stopped.Load() && ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		return ctx.Err() // the caller cancelled; not the plugin's fault
	case inst.stopped.Load():
		return fmt.Errorf("%w: %w", ErrDeadline, stopped{fmt.Sprintf("the call ran past %v and was stopped", l.Deadline), err})
	}
	if mem := inst.memoryLimit(l); mem != nil {
		return fmt.Errorf("%w: %w: %w", ErrTrap, mem, err)
	}
	return fmt.Errorf("%w: %w", ErrTrap, err)
}

// memoryLimit returns an error wrapping ErrMemoryLimit that says which
// limit a failed memory.grow of this call hit, or nil if none failed.
func (inst *instance) memoryLimit(l Limits) error {
	pages := inst.growFail.Get()
	if pages == 0 {
		return nil
	}
	var size uint64
	if mem := inst.mod.Memory(); mem != nil {
		size = uint64(mem.Size()) / 65536
	}
	if size+pages > uint64(l.MemoryPages) {
		return fmt.Errorf("%w: memory.grow(%d) at %d pages, cap %d pages", ErrMemoryLimit, pages, size, l.MemoryPages)
	}
	return fmt.Errorf("%w: memory.grow(%d) at %d pages, past the module's declared maximum", ErrMemoryLimit, pages, size)
}

package sandbox_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/plugins"
	"github.com/wisp-project/wisp/plugins/fitness/scorer"
)

func newRuntime(t *testing.T, cfg sandbox.RuntimeConfig) *sandbox.Runtime {
	t.Helper()
	rt, err := sandbox.NewRuntimeWithConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// TestStartExitRefused: an _initialize that calls proc_exit(0) leaves a
// closed instance, so the plugin is refused at load instead of failing every
// call afterwards.
func TestStartExitRefused(t *testing.T) {
	ctx := context.Background()
	rt := sandbox.NewRuntime(sandbox.DefaultPolicy())
	p, err := rt.Load(ctx, sandbox.Manifest{Name: "initexit"}, hostile(t, "initexit"))
	if !errors.Is(err, sandbox.ErrRefused) {
		if p != nil {
			p.Close(ctx)
		}
		t.Fatalf("Load error = %v, want ErrRefused", err)
	}
	t.Logf("refused: %v", err)
}

// TestStartLogCapped: the per-call log cap applies to an instance's start.
func TestStartLogCapped(t *testing.T) {
	ctx := context.Background()
	rt := sandbox.NewRuntime(sandbox.DefaultPolicy())
	p, err := rt.Load(ctx, sandbox.Manifest{Name: "initlog"}, hostile(t, "initlog"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if got, want := p.LogDropped(), int64(4096-p.Limits().LogBytes); got != want {
		t.Fatalf("LogDropped after a 4,096-byte line in _initialize = %d, want %d", got, want)
	}
}

// TestTimeoutsSayWhatRanOut: fuel and deadline are told apart, and both
// still wrap ErrTimeout.
func TestTimeoutsSayWhatRanOut(t *testing.T) {
	ctx := context.Background()
	// The deadline case uses logflood, whose loop calls the host: a pure
	// Wasm loop on unbounded fuel would hold up a garbage collection, and
	// the deadline timer with it (fuel is the bound that always holds).
	for _, tc := range []struct {
		name, module string
		limits       sandbox.Limits
		want         error
	}{
		{"fuel", "loop", sandbox.Limits{Fuel: 1_000_000, Deadline: 10 * time.Second}, sandbox.ErrOutOfFuel},
		{"deadline", "logflood", sandbox.Limits{Fuel: 1 << 60, Deadline: 50 * time.Millisecond}, sandbox.ErrDeadline},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := sandbox.NewRuntime(sandbox.Limits{Fuel: 1 << 60, Deadline: 10 * time.Second})
			p, err := rt.Load(ctx, sandbox.Manifest{Name: tc.module, Limits: tc.limits}, hostile(t, tc.module))
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close(ctx)
			_, err = p.Score(ctx, week())
			if !errors.Is(err, tc.want) || !errors.Is(err, sandbox.ErrTimeout) {
				t.Fatalf("error = %v, want %v wrapping ErrTimeout", err, tc.want)
			}
			other := map[error]error{sandbox.ErrOutOfFuel: sandbox.ErrDeadline, sandbox.ErrDeadline: sandbox.ErrOutOfFuel}[tc.want]
			if errors.Is(err, other) {
				t.Fatalf("error = %v wraps both ErrOutOfFuel and ErrDeadline", err)
			}
		})
	}
}

// TestFuelChargesEveryBlock: fuelhole's ~10⁶ instructions hide behind a
// loop that never runs; charged per basic block they cannot run on 3·10⁵
// fuel.
func TestFuelChargesEveryBlock(t *testing.T) {
	ctx := context.Background()
	rt := sandbox.NewRuntime(sandbox.Limits{Fuel: 1 << 40, Deadline: 10 * time.Second})
	for fuel, want := range map[int64]error{300_000: sandbox.ErrOutOfFuel, 1 << 40: nil} {
		p, err := rt.Load(ctx, sandbox.Manifest{Name: "fuelhole", Limits: sandbox.Limits{Fuel: fuel}}, hostile(t, "fuelhole"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Score(ctx, week())
		p.Close(ctx)
		if !errors.Is(err, want) {
			t.Errorf("fuel %d: error = %v, want %v", fuel, err, want)
		}
	}
}

// TestExpiredContextRefusesTheCall: nothing runs, and the instance is kept.
func TestExpiredContextRefusesTheCall(t *testing.T) {
	rt := sandbox.NewRuntime(sandbox.DefaultPolicy())
	p := loadFitness(t, rt)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Score(ctx, week()); !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if _, err := p.Score(context.Background(), week()); err != nil {
		t.Fatal(err)
	}
	if got := p.Started(); got != 1 {
		t.Fatalf("%d instances started, want 1 (the refused call must not touch the pool)", got)
	}
}

// TestInstancesCapped: 16 concurrent callers of a plugin allowed two
// instances start no more than two, and all get answers.
func TestInstancesCapped(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(t, sandbox.NewRuntimeConfig().WithMaxConcurrentCalls(4))
	p, err := rt.Load(ctx, sandbox.Manifest{Name: "fitness", Categories: scorer.Categories, Limits: sandbox.Limits{MemoryPages: 512, TotalMemoryPages: 1024}}, plugins.Fitness)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			for range 10 {
				if _, err := p.Score(ctx, week()); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := p.Started(); got > 2 {
		t.Fatalf("%d instances started, cap 2", got)
	}
}

// TestCallSlotsBoundTheRuntime: with one call slot, a second call waits for
// the first (a loop running to its deadline) and gives up with its own
// context, without starting anything.
func TestCallSlotsBoundTheRuntime(t *testing.T) {
	ctx := context.Background()
	// logflood calls the host in its loop, so a garbage collection can
	// stop it and its deadline (not its unbounded fuel) ends it.
	rt := newRuntime(t, sandbox.NewRuntimeConfig().WithMaxConcurrentCalls(1).
		WithPolicy(sandbox.Limits{Fuel: 1 << 60, Deadline: 2 * time.Second}))
	loop, err := rt.Load(ctx, sandbox.Manifest{Name: "logflood"}, hostile(t, "logflood"))
	if err != nil {
		t.Fatal(err)
	}
	defer loop.Close(ctx)
	good := loadFitness(t, rt)
	running := make(chan error)
	go func() { _, err := loop.Score(ctx, week()); running <- err }()
	// Wait until the loop holds the slot: a call with a short context then
	// cannot get in.
	var err2 error
	for range 100 {
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		_, err2 = good.Score(short, week())
		cancel()
		if err2 != nil {
			break
		}
		time.Sleep(10 * time.Millisecond) // the loop's goroutine has not taken the slot yet
	}
	if !errors.Is(err2, context.DeadlineExceeded) {
		t.Fatalf("second call while the slot is held: %v, want context.DeadlineExceeded", err2)
	}
	if err := <-running; !errors.Is(err, sandbox.ErrDeadline) {
		t.Fatalf("loop: %v, want ErrDeadline", err)
	}
	if _, err := good.Score(ctx, week()); err != nil {
		t.Fatalf("after the slot is free: %v", err)
	}
}

// TestClosedPluginsFreeTheirCode: loading and closing distinct modules does
// not grow the process's executable mappings (compiled code used to stay in
// the runtime's cache until Runtime.Close).
func TestClosedPluginsFreeTheirCode(t *testing.T) {
	ctx := context.Background()
	rt := sandbox.NewRuntime(sandbox.DefaultPolicy())
	defer rt.Close(ctx)
	base := hostile(t, "errcode")
	cycle := func(i int) {
		p, err := rt.Load(ctx, sandbox.Manifest{Name: "distinct"}, withCustomSection(base, i))
		if err != nil {
			t.Fatal(err)
		}
		p.Close(ctx)
	}
	for i := range 20 { // warm up
		cycle(i)
	}
	runtime.GC()
	runtime.GC()
	before := execMappings(t)
	const n = 300
	for i := range n {
		cycle(1000 + i)
	}
	runtime.GC()
	runtime.GC()
	after := execMappings(t)
	t.Logf("executable memory: %d bytes before, %d after %d load/close cycles of distinct modules", before, after, n)
	if after-before > n*pageBytes/10 {
		t.Fatalf("executable memory grew by %d bytes over %d cycles", after-before, n)
	}
}

// withCustomSection returns wasm with a custom section holding i, so each
// call gives a module of its own digest.
func withCustomSection(wasm []byte, i int) []byte {
	name := "wisp-test"
	payload := []byte{byte(i), byte(i >> 8), byte(i >> 16)}
	sec := append([]byte{byte(len(name))}, name...)
	sec = append(sec, payload...)
	out := append(bytes.Clone(wasm), 0, byte(len(sec)))
	return append(out, sec...)
}

const pageBytes = 4096

// execMappings sums the sizes of the process's anonymous executable
// mappings (compiled Wasm code) in /proc/self/maps.
func execMappings(t *testing.T) int {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Skipf("no /proc/self/maps: %v", err)
	}
	defer f.Close()
	n := 0
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) == 5 && strings.Contains(fields[1], "x") { // no path: anonymous
			var lo, hi int
			if _, err := fmt.Sscanf(fields[0], "%x-%x", &lo, &hi); err == nil {
				n += hi - lo
			}
		}
	}
	return n
}

// TestLocalsBombRefused: a module (124 bytes in the form, 28 here) declaring 2³²−1 i64 locals
// used to make wazero's decoder allocate until the process died.
func TestLocalsBombRefused(t *testing.T) {
	ctx := context.Background()
	wasm := []byte("\x00asm\x01\x00\x00\x00" +
		"\x01\x04\x01\x60\x00\x00" + // type 0: () -> ()
		"\x03\x02\x01\x00" + // one function of type 0
		"\x0a\x0a\x01\x08" + // code section: one body of 8 bytes
		"\x01\xff\xff\xff\xff\x0f\x7e\x0b") // one locals entry: 2³²−1 × i64; end
	rt := sandbox.NewRuntime(sandbox.DefaultPolicy())
	p, err := rt.Load(ctx, sandbox.Manifest{Name: "locals"}, wasm)
	if !errors.Is(err, sandbox.ErrRefused) || !strings.Contains(err.Error(), "locals") {
		if p != nil {
			p.Close(ctx)
		}
		t.Fatalf("Load error = %v, want ErrRefused naming the locals", err)
	}
	t.Logf("refused: %v", err)
}

// TestCompileRunsInAKillableWorker: with a cache dir, a module is compiled
// in a child process under the compile budget; past it the plugin is
// refused and the device goes on. Within it, the worker's output is what
// the device loads.
func TestCompileRunsInAKillableWorker(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tight := newRuntime(t, sandbox.NewRuntimeConfig().WithCompilationCacheDir(dir).WithCompileBudget(50*time.Millisecond, 0, 0))
	p, err := tight.Load(ctx, sandbox.Manifest{Name: "fitness", Categories: scorer.Categories}, plugins.Fitness)
	if !errors.Is(err, sandbox.ErrRefused) || !strings.Contains(err.Error(), "wall time") {
		if p != nil {
			p.Close(ctx)
		}
		t.Fatalf("Load under a 50 ms compile budget: %v, want ErrRefused naming the wall time", err)
	}
	t.Logf("refused: %v", err)
	rt := newRuntime(t, sandbox.NewRuntimeConfig().WithCompilationCacheDir(dir))
	p, err = rt.Load(ctx, sandbox.Manifest{Name: "fitness", Categories: scorer.Categories}, plugins.Fitness)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if _, err := p.Score(ctx, week()); err != nil {
		t.Fatal(err)
	}
}

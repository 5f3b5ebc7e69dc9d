package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wisp-project/wisp/host/sandbox"
)

// watchdogEnv runs TestWatchdogChild as the child of TestHostileWatchdog,
// in the mode it names.
const watchdogEnv = "WISP_WATCHDOG_MODE"

// watchdogReport is what a child prints: per case, how long the call took
// to give control back; over the run, the longest gap between heartbeats
// (a frozen process shows one as long as the freeze).
type watchdogReport struct {
	Mode     string
	Cases    map[string]time.Duration
	MaxGap   time.Duration
	Failures []string
}

// TestHostileWatchdog runs the modules that used to freeze or hang the
// whole process (bulk memory loops, start functions beyond their deadline,
// a fuel hole) in a child process per mode: the default, GOMAXPROCS=1, a
// concurrent runtime.GC() loop, and as many concurrent callers as cores. A
// child that does not finish within the hard timeout fails the test
// instead of hanging CI; one that finishes must have kept its heartbeat
// ticking and scored a good plugin after every case.
func TestHostileWatchdog(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	for _, mode := range []string{"default", "gomaxprocs1", "gc", "concurrent"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestWatchdogChild$", "-test.v")
			cmd.Env = append(os.Environ(), watchdogEnv+"="+mode)
			out, err := cmd.CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("child froze: killed after 60 s\n%s", out)
			}
			var rep watchdogReport
			for line := range strings.Lines(string(out)) {
				if s, ok := strings.CutPrefix(line, "WATCHDOG "); ok {
					if err := json.Unmarshal([]byte(s), &rep); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err != nil || rep.Mode != mode {
				t.Fatalf("child: %v\n%s", err, out)
			}
			worst := time.Duration(0)
			for _, d := range rep.Cases {
				worst = max(worst, d)
			}
			t.Logf("%s: worst time to control back %v, worst heartbeat gap %v; cases %v", mode, worst, rep.MaxGap, rep.Cases)
			for _, f := range rep.Failures {
				t.Error(f)
			}
			// A liveness bound, not a speed goal: a freeze is unbounded.
			if rep.MaxGap > 3*time.Second || worst > 5*time.Second {
				t.Errorf("the process stalled: heartbeat gap %v, slowest case %v", rep.MaxGap, worst)
			}
		})
	}
}

// TestWatchdogChild is the child's side of TestHostileWatchdog.
func TestWatchdogChild(t *testing.T) {
	mode := os.Getenv(watchdogEnv)
	if mode == "" {
		t.Skip("runs only as TestHostileWatchdog's child")
	}
	if mode == "gomaxprocs1" {
		runtime.GOMAXPROCS(1)
	}
	rep := watchdogReport{Mode: mode, Cases: map[string]time.Duration{}}
	var gap atomic.Int64
	done := make(chan struct{})
	go func() { // heartbeat
		last := time.Now()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				if d := int64(now.Sub(last)); d > gap.Load() {
					gap.Store(d)
				}
				last = now
			}
		}
	}()
	if mode == "gc" {
		go func() {
			for {
				select {
				case <-done:
					return
				default:
					runtime.GC()
				}
			}
		}()
	}
	callers := 1
	if mode == "concurrent" {
		callers = runtime.NumCPU()
	}
	ctx := context.Background()
	rt := sandbox.NewRuntime(sandbox.DefaultPolicy())
	good := loadFitness(t, rt)
	fail := func(format string, args ...any) {
		rep.Failures = append(rep.Failures, mode+": "+fmt.Sprintf(format, args...))
	}
	checkGood := func(after string) {
		if _, err := good.Score(ctx, week()); err != nil {
			fail("good plugin after %s: %v", after, err)
		}
	}
	checkGood("start")
	for _, tc := range []struct {
		name string
		want error
	}{
		{"bulkfill", sandbox.ErrTimeout}, {"bulkcopy", sandbox.ErrTimeout}, {"bufferfill", sandbox.ErrTimeout},
		{"loop", sandbox.ErrTimeout}, {"fuelhole", nil},
	} {
		fmt.Fprintln(os.Stderr, "case", tc.name) // shows where a frozen child stopped
		p, err := rt.Load(ctx, sandbox.Manifest{Name: tc.name}, hostile(t, tc.name))
		if err != nil {
			fail("load %s: %v", tc.name, err)
			continue
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for range callers {
			wg.Go(func() {
				start := time.Now()
				_, err := p.Score(ctx, week())
				d := time.Since(start)
				mu.Lock()
				defer mu.Unlock()
				rep.Cases[tc.name] = max(rep.Cases[tc.name], d)
				if !errors.Is(err, tc.want) {
					fail("%s: error %v, want %v", tc.name, err, tc.want)
				}
			})
		}
		wg.Wait()
		p.Close(ctx)
		checkGood(tc.name)
	}
	// Start functions that never end on their own: bounded like calls.
	// (Fuel is the bound that always holds: while a call runs Wasm, a
	// garbage collection's stop-the-world waits for it, and so does the
	// deadline timer.)
	for _, name := range []string{"initfill", "initloop", "startloop"} {
		fmt.Fprintln(os.Stderr, "case load", name)
		start := time.Now()
		p, err := rt.Load(ctx, sandbox.Manifest{Name: name}, hostile(t, name))
		rep.Cases["load "+name] = time.Since(start)
		if !errors.Is(err, sandbox.ErrRefused) || !errors.Is(err, sandbox.ErrTimeout) {
			fail("load %s: %v, want ErrRefused and ErrTimeout", name, err)
		}
		if p != nil {
			p.Close(ctx)
		}
		checkGood("load " + name)
	}
	close(done)
	rep.MaxGap = time.Duration(gap.Load())
	b, _ := json.Marshal(rep)
	fmt.Printf("WATCHDOG %s\n", b)
}

package sandbox_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/plugins"
	fitness "github.com/wisp-project/wisp/plugins/fitness/scorer"
	"github.com/wisp-project/wisp/plugins/fridge/scorer"
)

func isolatedRuntime(t testing.TB, policy sandbox.Limits, cacheDir string) *sandbox.Runtime {
	t.Helper()
	cfg := sandbox.NewRuntimeConfig().WithPolicy(policy).WithProcessIsolation(true)
	if cacheDir != "" {
		cfg = cfg.WithCompilationCacheDir(cacheDir)
	}
	rt, err := sandbox.NewRuntimeWithConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })
	return rt
}

// TestIsolatedScoresLikeInProcess: the worker process answers what the
// plugin answers in-process, for a C plugin taking summary batches, a
// WAT one taking raw events and the Go wasip1 one, with and without a
// cache dir.
func TestIsolatedScoresLikeInProcess(t *testing.T) {
	ctx := context.Background()
	inproc := sandbox.NewRuntime(sandbox.DefaultPolicy())
	for _, cache := range []string{"", t.TempDir()} {
		iso := isolatedRuntime(t, sandbox.DefaultPolicy(), cache)
		for _, tc := range []struct {
			name string
			m    sandbox.Manifest
			wasm []byte
		}{
			{"fridge", sandbox.Manifest{Name: "fridge", Categories: scorer.Categories, Limits: sandbox.Limits{MemoryPages: 16}}, plugins.Fridge},
			{"tv", sandbox.Manifest{Name: "tv", Categories: []uint32{706}}, plugins.TV},
			{"fitness", sandbox.Manifest{Name: "fitness", Categories: fitness.Categories}, plugins.Fitness},
		} {
			want, err := mustLoad(t, inproc, tc.m, tc.wasm).Score(ctx, week())
			if err != nil {
				t.Fatal(err)
			}
			p := mustLoad(t, iso, tc.m, tc.wasm)
			for range 3 {
				got, err := p.Score(ctx, week())
				if err != nil {
					t.Fatalf("%s (cache %q): %v", tc.name, cache, err)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("%s: isolated %v, in-process %v", tc.name, got, want)
				}
			}
			if p.Started() != 0 {
				t.Fatalf("%s: %d instances started in the parent", tc.name, p.Started())
			}
		}
	}
}

func mustLoad(t testing.TB, rt *sandbox.Runtime, m sandbox.Manifest, wasm []byte) *sandbox.Plugin {
	t.Helper()
	p, err := rt.Load(context.Background(), m, wasm)
	if err != nil {
		t.Fatalf("Load %s: %v", m.Name, err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

// TestIsolatedHostileContained: the hostile calls give the same errors
// through a worker, the parent validates the answers (bad output is caught
// here), and every fault leaves the plugin usable for the next call.
func TestIsolatedHostileContained(t *testing.T) {
	policy := sandbox.DefaultPolicy()
	policy.Deadline = 5 * time.Second
	h := &countHandler{}
	cfg := sandbox.NewRuntimeConfig().WithPolicy(policy).WithProcessIsolation(true).WithLogger(slog.New(h))
	rt, err := sandbox.NewRuntimeWithConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	good := mustLoad(t, rt, sandbox.Manifest{Name: "tv", Categories: []uint32{706}}, plugins.TV)
	for _, tc := range []struct {
		name string
		want error
	}{
		{"loop", sandbox.ErrTimeout}, {"trap", sandbox.ErrTrap}, {"errcode", sandbox.ErrPluginFailed},
		{"nan", sandbox.ErrBadOutput}, {"undeclared", sandbox.ErrBadOutput}, {"overcount", sandbox.ErrBadOutput},
		{"badbuffer", sandbox.ErrBadOutput}, {"memcap", sandbox.ErrMemoryLimit}, {"memcapcode", sandbox.ErrMemoryLimit},
		{"growbomb", sandbox.ErrOutOfFuel}, {"bulkfill", sandbox.ErrTimeout}, {"logflood", sandbox.ErrTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := sandbox.Manifest{Name: tc.name, Categories: []uint32{408}, Limits: sandbox.Limits{MemoryPages: 16, Deadline: deadline(tc.name)}}
			if tc.name == "bulkfill" {
				m.Limits = sandbox.Limits{Deadline: 50 * time.Millisecond}
			}
			p := mustLoad(t, rt, m, hostile(t, tc.name))
			for call := 1; call <= 2; call++ {
				if _, err := p.Score(ctx, week()); !errors.Is(err, tc.want) {
					t.Fatalf("call %d: error = %v, want %v", call, err, tc.want)
				}
			}
			if _, err := good.Score(ctx, week()); err != nil {
				t.Fatalf("good plugin after %s: %v", tc.name, err)
			}
		})
	}
	h.mu.Lock()
	n := h.n
	h.mu.Unlock()
	if n == 0 || n > 2*1024 {
		t.Fatalf("logflood: %d bytes reached the log over two calls, want some, at most the caps", n)
	}
}

// TestIsolatedDeadlineKillsFrozenWorker: with the worker at GOMAXPROCS=1
// its own deadline timer cannot run while Wasm does (a Go runtime cannot
// preempt Wasm code), so a plugin with fuel for tens of seconds of work
// freezes it — the case that froze the device in-process. The parent kills
// the worker at the deadline, returns ErrDeadline in time, its heartbeat
// keeps ticking, and the next call gets a fresh worker.
func TestIsolatedDeadlineKillsFrozenWorker(t *testing.T) {
	t.Setenv("GOMAXPROCS", "1") // the workers', inherited; this process's is set already
	policy := sandbox.DefaultPolicy()
	policy.Fuel = 1 << 40 // ~4 minutes of tight loop
	policy.Deadline = 100 * time.Millisecond
	rt := isolatedRuntime(t, policy, "")
	ctx := context.Background()
	var maxGap atomic.Int64
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		last := time.Now()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				if gap := now.Sub(last); int64(gap) > maxGap.Load() {
					maxGap.Store(int64(gap))
				}
				last = now
			}
		}
	}()
	for _, name := range []string{"loop", "bulkfill"} {
		p := mustLoad(t, rt, sandbox.Manifest{Name: name, Categories: []uint32{408}}, hostile(t, name))
		for call := 1; call <= 2; call++ {
			start := time.Now()
			_, err := p.Score(ctx, week())
			took := time.Since(start)
			if !errors.Is(err, sandbox.ErrDeadline) {
				t.Fatalf("%s call %d: error = %v, want ErrDeadline", name, call, err)
			}
			t.Logf("%s call %d: %v after %v", name, call, err, took)
			if took > 2*time.Second { // 100 ms + 25 ms grace, and a loaded machine
				t.Fatalf("%s call %d took %v", name, call, took)
			}
		}
	}
	if gap := time.Duration(maxGap.Load()); gap > 500*time.Millisecond {
		t.Fatalf("the parent's heartbeat stalled for %v", gap)
	} else {
		t.Logf("longest heartbeat gap in the parent: %v", gap)
	}
}

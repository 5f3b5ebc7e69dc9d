package host_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wisp-project/wisp/host"
)

// TestHostileCallsContained runs each misbehaving module and checks the host
// reports the right error, discards the instance, keeps that plugin usable
// (a fresh instance is started for the next call) and keeps serving others.
func TestHostileCallsContained(t *testing.T) {
	policy := host.DefaultPolicy()
	policy.Deadline = 5 * time.Second // stack overflow takes ~0.5 s to hit wazero's limit
	rt := host.NewRuntime(policy)
	good := loadFitness(t, rt)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		want error
	}{
		{"loop", host.ErrTimeout},
		{"trap", host.ErrTrap},
		{"recursion", host.ErrTrap}, // wazero reports stack overflow as a trap
		{"growbomb", host.ErrTrap},
		{"nan", host.ErrBadOutput},
		{"negative", host.ErrBadOutput},
		{"undeclared", host.ErrBadOutput},
		{"overcount", host.ErrBadOutput},
		{"badbuffer", host.ErrBadOutput},
		{"errcode", host.ErrPluginFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := rt.Load(ctx, host.Manifest{Name: tc.name, Categories: []uint32{408}, Limits: host.Limits{MemoryPages: 16, Deadline: deadline(tc.name)}}, hostile(t, tc.name))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			defer p.Close(ctx)
			start := time.Now()
			for call := 1; call <= 2; call++ {
				_, err := p.Score(ctx, week())
				if !errors.Is(err, tc.want) {
					t.Fatalf("call %d: error = %v, want %v", call, err, tc.want)
				}
				// The instance started at load serves call 1; a faulted
				// instance is discarded, so call 2 needs a new one.
				if got := p.Started(); got != call {
					t.Fatalf("after call %d: %d instances started, want %d (faulted instance reused?)", call, got, call)
				}
			}
			if tc.want == host.ErrTimeout && time.Since(start) > 5*time.Second {
				t.Fatalf("two timed-out calls took %v", time.Since(start))
			}
			if _, err := good.Score(ctx, week()); err != nil {
				t.Fatalf("good plugin failed after hostile %s: %v", tc.name, err)
			}
		})
	}
}

// deadline is short for the infinite loop so the test is quick, and the
// policy's (long) one otherwise.
func deadline(name string) time.Duration {
	if name == "loop" {
		return 50 * time.Millisecond
	}
	return 0
}

func TestHostileModulesRefusedAtLoad(t *testing.T) {
	policy := host.DefaultPolicy()
	policy.Deadline = 50 * time.Millisecond
	rt := host.NewRuntime(policy)
	ctx := context.Background()
	for _, name := range []string{"startloop", "badimport", "noabi"} {
		t.Run(name, func(t *testing.T) {
			p, err := rt.Load(ctx, host.Manifest{Name: name}, hostile(t, name))
			if !errors.Is(err, host.ErrRefused) {
				if p != nil {
					p.Close(ctx)
				}
				t.Fatalf("Load error = %v, want ErrRefused", err)
			}
		})
	}
	if _, err := rt.Load(ctx, host.Manifest{Name: "garbage"}, []byte("not wasm")); !errors.Is(err, host.ErrRefused) {
		t.Fatalf("garbage Load error = %v, want ErrRefused", err)
	}
}

func TestCallerCancellationIsNotAPluginFault(t *testing.T) {
	rt := host.NewRuntime(host.DefaultPolicy())
	p, err := rt.Load(context.Background(), host.Manifest{Name: "loop"}, hostile(t, "loop"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	_, err = p.Score(ctx, nil)
	if !errors.Is(err, context.Canceled) || errors.Is(err, host.ErrTimeout) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
}

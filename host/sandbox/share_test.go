package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wisp-project/wisp/host/sandbox"
)

// remember loads the remember module (plugins/hostile/remember.wat), which
// counts its calls in linear memory and in a global.
func remember(t *testing.T, rt *sandbox.Runtime) *sandbox.Plugin {
	t.Helper()
	p, err := rt.Load(context.Background(), sandbox.Manifest{Name: "remember", Categories: []uint32{410, 625}}, hostile(t, "remember"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

// calls scores once and returns what the instance counted: its memory's
// counter and its global's.
func calls(t *testing.T, p *sandbox.Plugin) (memory, global float32) {
	t.Helper()
	scores, err := p.Score(context.Background(), week())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range scores {
		switch s.Category {
		case 410:
			memory = s.Value * 100
		case 625:
			global = s.Value * 100
		}
	}
	return memory, global
}

// TestSharedModuleKeepsPluginsApart: two plugins one runtime loads from the
// same bytes share the compiled module but not its state. The remember
// module counts calls in its memory and in a global; each plugin counts only
// its own, and closing one leaves the other running.
func TestSharedModuleKeepsPluginsApart(t *testing.T) {
	rt := sandbox.NewRuntime(sandbox.DefaultPolicy())
	defer rt.Close(context.Background())
	a, b := remember(t, rt), remember(t, rt)
	for want := float32(1); want <= 3; want++ {
		if m, g := calls(t, a); m != want || g != want {
			t.Fatalf("plugin a's call %v counted memory %v, global %v", want, m, g)
		}
	}
	if m, g := calls(t, b); m != 1 || g != 1 {
		t.Fatalf("plugin b's first call counted memory %v, global %v after a's 3 calls: want 1 (its own state)", m, g)
	}
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m, g := calls(t, b); m != 2 || g != 2 {
		t.Fatalf("plugin b after a closed: memory %v, global %v, want 2", m, g)
	}
	if _, err := a.Score(context.Background(), week()); !errors.Is(err, sandbox.ErrClosed) {
		t.Fatalf("closed plugin a scored: %v", err)
	}
	// A third plugin, loaded after a closed, starts from nothing too.
	if m, g := calls(t, remember(t, rt)); m != 1 || g != 1 {
		t.Fatalf("a plugin loaded later counted memory %v, global %v, want 1", m, g)
	}
}

// TestSharedModuleLogCaps: plugins sharing a module keep their own wisp.log
// caps; one flooding the log is counted against it alone.
func TestSharedModuleLogCaps(t *testing.T) {
	rt := sandbox.NewRuntime(sandbox.DefaultPolicy())
	defer rt.Close(context.Background())
	m := sandbox.Manifest{Name: "logflood", Categories: []uint32{408}, Limits: sandbox.Limits{Deadline: 50 * time.Millisecond}}
	var ps [2]*sandbox.Plugin
	for i := range ps {
		p, err := rt.Load(context.Background(), m, hostile(t, "logflood"))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(context.Background())
		ps[i] = p
	}
	if _, err := ps[0].Score(context.Background(), week()); !errors.Is(err, sandbox.ErrTimeout) {
		t.Fatalf("logflood: %v, want a timeout", err)
	}
	if ps[0].LogDropped() == 0 || ps[1].LogDropped() != 0 {
		t.Fatalf("dropped log bytes: %d by the flooding plugin, %d by the other: want some, and none", ps[0].LogDropped(), ps[1].LogDropped())
	}
}

// TestSharedModuleConcurrentPlugins: plugins loaded, called and closed at
// once from many goroutines on one runtime (as the demo's workers do) each
// count only their own calls, while others start and stop around them.
func TestSharedModuleConcurrentPlugins(t *testing.T) {
	ctx := context.Background()
	rt := sandbox.NewRuntime(sandbox.DefaultPolicy())
	defer rt.Close(ctx)
	wasm := hostile(t, "remember")
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			errs <- func() error {
				for range 5 {
					p, err := rt.Load(ctx, sandbox.Manifest{Name: "remember", Categories: []uint32{410, 625}}, wasm)
					if err != nil {
						return err
					}
					for want := float32(1); want <= 3; want++ {
						scores, err := p.Score(ctx, week())
						if err != nil {
							p.Close(ctx)
							return err
						}
						for _, s := range scores {
							if got := s.Value * 100; got != want {
								p.Close(ctx)
								return fmt.Errorf("category %d counted %v on call %v: another plugin's state", s.Category, got, want)
							}
						}
					}
					if err := p.Close(ctx); err != nil {
						return err
					}
				}
				return nil
			}()
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

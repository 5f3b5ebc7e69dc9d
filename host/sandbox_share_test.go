package host

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wisp-project/wisp/host/sandbox"
)

// TestDevicesSharingSandboxKeepPluginStateApart: devices given one plugin
// runtime (WithSandbox) share the plugin's compiled module, not its state.
// The remember plugin counts its calls in its memory and a global and
// scores the count; each device's profile shows its own calls only, and a
// device that closes leaves the shared runtime to the others.
func TestDevicesSharingSandboxKeepPluginStateApart(t *testing.T) {
	ctx := context.Background()
	wasm, err := os.ReadFile(filepath.Join("..", "testdata", "plugins", "hostile", "remember.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	rt := sandbox.NewRuntime(sandbox.DefaultPolicy())
	defer rt.Close(ctx)
	clock := newFakeClock()
	cfg := NewDeviceConfig().WithSandbox(rt).WithUnsignedPlugins(true).WithClock(clock.Now)
	open := func() *Device {
		d, err := Open(ctx, t.TempDir(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.InstallUnsigned(ctx, sandbox.Manifest{Name: "remember", Version: "1", Categories: []uint32{410, 625}}, wasm); err != nil {
			t.Fatal(err)
		}
		if err := d.Grant(ctx, PluginPurpose("remember")); err != nil {
			t.Fatal(err)
		}
		return d
	}
	// pass records an event, so the plugin runs once, and returns the
	// device's Running and Cycling scores × 100: its plugin's call count
	// in memory and in the global.
	pass := func(d *Device) (memory, global float64) {
		t.Helper()
		if err := d.RecordEvents(ctx, "remember", []Event{{Kind: kindWorkout, Code: codeRun, Time: clock.Now(), Value: 1}}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		interests, err := d.Interests(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range interests {
			switch in.Category {
			case 410:
				memory = in.Score * 100
			case 625:
				global = in.Score * 100
			}
		}
		return memory, global
	}
	near := func(v, want float64) bool { return v > want-1e-4 && v < want+1e-4 }
	a, b := open(), open()
	for want := 1.0; want <= 3; want++ {
		if m, g := pass(a); !near(m, want) || !near(g, want) {
			t.Fatalf("device a's pass %v: its plugin counted memory %v, global %v", want, m, g)
		}
	}
	if m, g := pass(b); !near(m, 1) || !near(g, 1) {
		t.Fatalf("device b's first pass counted memory %v, global %v after a's 3: want 1, its own", m, g)
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if m, g := pass(b); !near(m, 2) || !near(g, 2) {
		t.Fatalf("device b after a closed: memory %v, global %v, want 2", m, g)
	}
	clock.Advance(time.Minute)
	c := open() // loads from the shared runtime after a closed its plugin
	defer c.Close(ctx)
	if m, g := pass(c); !near(m, 1) || !near(g, 1) {
		t.Fatalf("device c counted memory %v, global %v, want 1", m, g)
	}
	b.Close(ctx)
}

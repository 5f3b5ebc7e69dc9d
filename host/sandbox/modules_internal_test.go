package sandbox

import (
	"context"
	"testing"
)

func loadRemember(t *testing.T, r *Runtime, l Limits) *Plugin {
	t.Helper()
	p, err := r.Load(context.Background(), Manifest{Name: "remember", Categories: []uint32{410, 625}, Limits: l}, hostileWasm(t, "remember"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestModulesSharedByKey: plugins of the same bytes, fuel and memory cap
// share one compiled module; another cap compiles another. A module no
// plugin holds stays for the next load until Runtime.Close frees it.
func TestModulesSharedByKey(t *testing.T) {
	ctx := context.Background()
	r := NewRuntime(DefaultPolicy())
	a, b := loadRemember(t, r, Limits{}), loadRemember(t, r, Limits{})
	if a.mod != b.mod || a.mod.refs != 2 {
		t.Fatalf("same module loaded twice: modules %p and %p (refs %d), want one shared by both", a.mod, b.mod, a.mod.refs)
	}
	c := loadRemember(t, r, Limits{MemoryPages: 4})
	d := loadRemember(t, r, Limits{Fuel: 1_000_000})
	if c.mod == a.mod || d.mod == a.mod || c.mod == d.mod {
		t.Fatal("a plugin with another memory cap or fuel shares a module compiled for different caps")
	}
	mod := a.mod
	for _, p := range []*Plugin{a, b, c, d} {
		p.Close(ctx)
	}
	if mod.refs != 0 || len(r.modules.idle) != 3 {
		t.Fatalf("after closing every plugin: refs %d, %d idle modules, want 0 and 3", mod.refs, len(r.modules.idle))
	}
	e := loadRemember(t, r, Limits{})
	if e.mod != mod || len(r.modules.idle) != 2 {
		t.Fatalf("a load after the last close compiled again (module %p, was %p; %d idle)", e.mod, mod, len(r.modules.idle))
	}
	e.Close(ctx)
	r.Close(ctx)
	if len(r.modules.idle) != 0 || len(r.modules.byKey) != 0 {
		t.Fatalf("Runtime.Close left %d idle and %d listed modules", len(r.modules.idle), len(r.modules.byKey))
	}
}

// TestIdleModulesBounded: a runtime keeps at most maxIdleModules modules no
// plugin holds, freeing the oldest.
func TestIdleModulesBounded(t *testing.T) {
	ctx := context.Background()
	r := NewRuntime(DefaultPolicy())
	defer r.Close(ctx)
	var first *module
	for i := range maxIdleModules + 2 {
		p := loadRemember(t, r, Limits{Fuel: int64(1_000_000 + i)})
		if first == nil {
			first = p.mod
		}
		p.Close(ctx)
	}
	if len(r.modules.idle) != maxIdleModules || r.modules.byKey[first.key] != nil {
		t.Fatalf("%d idle modules, oldest still listed: %v; want %d and the oldest freed", len(r.modules.idle), r.modules.byKey[first.key] != nil, maxIdleModules)
	}
}

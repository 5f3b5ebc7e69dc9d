package wasmlimits

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
)

// locals4G is a 124-byte plugin-shaped module whose one function declares
// 2^32−1 i64 locals in a single entry (LEB128 0xFFFFFFFF, type 0x7E): fed
// to wazero v1.12.0 it kills the process with "fatal error: out of memory".
func locals4G(t testing.TB) []byte {
	b := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	b = section(b, 1, []byte{1, 0x60, 0, 0})                                                         // type () -> ()
	b = section(b, 3, []byte{1, 0})                                                                  // one function
	b = section(b, 5, []byte{1, 0, 1})                                                               // memory 1
	b = section(b, 7, []byte{2, 6, 'm', 'e', 'm', 'o', 'r', 'y', 2, 0, 4, 'b', 'o', 'm', 'b', 0, 0}) // exports
	body := []byte{1, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x7E, 0x0B}
	b = section(b, 10, append([]byte{1, byte(len(body))}, body...))
	// Pad to 124 bytes with a custom section.
	pad := 124 - len(b) - 2
	name := append([]byte{3, 'p', 'a', 'd'}, make([]byte, pad-4)...)
	b = section(b, 0, name)
	if len(b) != 124 {
		t.Fatalf("module is %d bytes", len(b))
	}
	return b
}

func TestLocalsBomb(t *testing.T) {
	wasm := locals4G(t)
	if _, err := Measure(wasm); err != nil {
		t.Fatalf("module is malformed: %v", err)
	}
	err := Check(wasm, Default())
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "function 0 declares 4294967295 locals (max ") {
		t.Fatalf("Check = %v", err)
	}
	allocs := testing.AllocsPerRun(10, func() { Check(wasm, Default()) })
	if allocs > 8 { // the error value only, whatever the declared count
		t.Errorf("Check allocates %v times on the locals bomb", allocs)
	}
	// Overflow: many entries of 2^32−1 must not wrap the sum.
	entries := 40
	l := []byte{byte(entries)}
	for range entries {
		l = append(l, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x7F)
	}
	if err := Check(module(l, nil), Default()); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "locals") {
		t.Fatalf("Check(40 × 2^32−1 locals) = %v", err)
	}
}

func TestMeasureDoesNotAllocate(t *testing.T) {
	for name, wasm := range realPlugins {
		if a := testing.AllocsPerRun(3, func() { Measure(wasm) }); a > 0 {
			t.Errorf("%s: Measure allocates %v times", name, a)
		}
	}
}

// TestBombs builds each compile-bomb shape just within its limit (accepted)
// and one step past it (refused, naming the limit).
func TestBombs(t *testing.T) {
	d := Default()
	for _, tc := range []struct {
		name  string
		mk    func(int) []byte
		limit int
		want  string
	}{
		{"loops", loopsSeq, d.LoopsPerFunction, "loops"},
		{"nested loops", nestedLoops, d.LoopsPerFunction, "loops"},
		{"nested blocks", nestedBlocks, d.NestingDepth - 1, "deep"},
		{"blocks", blocksSeq, d.ControlPerFunction, "block, loop and if"},
		{"ifs", ifsSeq, d.ControlPerFunction, "block, loop and if"},
		{"br_table", brTable, d.BrTableTargets - 1, "br_table of"},
		{"locals", func(n int) []byte { return localsModule(uint32(n)) }, d.LocalsPerFunction, "locals"},
		{"straight line", func(n int) []byte { return straightLine(n - 3) }, d.BodyBytes, "body of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Check(tc.mk(tc.limit), d); err != nil {
				t.Errorf("at the limit (%d): %v", tc.limit, err)
			}
			step := 1
			if tc.name == "straight line" {
				step = 3
			}
			err := Check(tc.mk(tc.limit+step), d)
			if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("past the limit (%d): %v, want ErrLimit naming %q", tc.limit+step, err, tc.want)
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	good := loopsSeq(3)
	for i := range len(good) {
		if i == 8 || i == 14 || i == 18 {
			continue // a section boundary: a valid shorter module
		}
		// Every truncation is refused, never panics, never reports a limit.
		if err := Check(good[:i], Default()); err == nil || errors.Is(err, ErrLimit) {
			t.Fatalf("truncated at %d: %v", i, err)
		}
	}
	// A vector count larger than the section is refused before anything
	// walks it (wazero would make() it).
	b := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	b = section(b, 2, []byte{0xFF, 0xFF, 0xFF, 0xFF, 0x0F})
	if err := Check(b, Default()); err == nil || !strings.Contains(err.Error(), "import count") {
		t.Fatalf("huge import count: %v", err)
	}
}

func FuzzCheck(f *testing.F) {
	for _, wasm := range realPlugins {
		f.Add(wasm)
	}
	f.Add(locals4G(f))
	f.Add(loopsSeq(10))
	f.Add(brTable(10))
	f.Fuzz(func(t *testing.T, wasm []byte) {
		err := Check(wasm, Default())
		if err != nil || len(wasm) > 1<<16 {
			return
		}
		ctx := context.Background()
		rt := wazero.NewRuntime(ctx)
		defer rt.Close(ctx)
		cm, cerr := rt.CompileModule(ctx, wasm)
		if cerr != nil {
			return
		}
		s, err := Measure(wasm)
		if err != nil {
			t.Fatalf("Check accepted but Measure fails: %v", err)
		}
		if err := s.Exceeds(Default()); err != nil {
			t.Fatalf("accepted module exceeds: %v", err)
		}
		// Cross-check against what wazero decoded.
		if n := uint64(len(cm.ImportedFunctions())); n != s.ImportedFuncs {
			t.Fatalf("wazero sees %d imported functions, Measure %d", n, s.ImportedFuncs)
		}
		if n := uint64(len(cm.ExportedFunctions())); n > s.Exports {
			t.Fatalf("wazero sees %d exported functions, Measure %d exports", n, s.Exports)
		}
		for _, fn := range cm.ExportedFunctions() {
			if uint64(len(fn.ParamTypes())) > s.Params || uint64(len(fn.ResultTypes())) > s.Results {
				t.Fatalf("exported %s has more params/results than Measure saw", fn.Name())
			}
		}
		_ = wazero.NewRuntimeConfig
	})
}

// TestRefTypeBlock: a block type (ref null? ht) is one value type, its
// heap type included (WebAssembly 3.0, 5.3.3 and 5.4.1; wazero v1.12
// accepts it), not a one-byte type index followed by an instruction: read
// that way, the heap type 0x02 here is a second block and the body does
// not balance.
func TestRefTypeBlock(t *testing.T) {
	for _, ref := range []byte{0x63, 0x64} {
		wasm := module(noLocals, []byte{0x02, ref, 0x02, 0x00, 0x0B, 0x1A})
		s, err := Measure(wasm)
		if err != nil {
			t.Fatalf("block (%#x 2): %v", ref, err)
		}
		if s.ControlTotal != 1 || s.NestingDepth.Value != 2 {
			t.Errorf("block (%#x 2): %d control instructions, depth %d; want 1, 2", ref, s.ControlTotal, s.NestingDepth.Value)
		}
	}
}

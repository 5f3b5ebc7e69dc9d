package wasmbin

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero"
)

// plugins returns the test plugins and hostile modules, by file name.
func plugins(t testing.TB) map[string][]byte {
	t.Helper()
	paths, _ := filepath.Glob("../../../../plugins/dist/*.wasm")
	hostile, _ := filepath.Glob("../../../../testdata/plugins/hostile/*.wasm")
	if len(paths) == 0 || len(hostile) == 0 {
		t.Fatal("no modules under plugins/dist")
	}
	m := map[string][]byte{}
	for _, p := range append(paths, hostile...) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m[p] = b
	}
	return m
}

// codeBodies returns the function bodies of wasm's code section, or false
// when wasm's sections do not frame.
func codeBodies(wasm []byte) ([][]byte, bool) {
	if len(wasm) < 8 {
		return nil, false
	}
	r := Reader{B: wasm, Off: 8}
	var bodies [][]byte
	for !r.Done() {
		id := r.Byte()
		sec := Reader{B: r.Take(r.ULEB(32))}
		if id != 10 {
			continue
		}
		for n := sec.count("body"); n > 0 && sec.Err == nil; n-- {
			bodies = append(bodies, sec.Take(sec.ULEB(32)))
		}
		if sec.Err != nil || !sec.Done() {
			return nil, false
		}
	}
	return bodies, r.Err == nil
}

// walkBody reads a function body's locals and instructions with Instr,
// checking that each instruction lies inside the body and after the last,
// and returns the first error: from Instr, or a body whose blocks do not
// close exactly at its end.
func walkBody(t *testing.T, body []byte) error {
	r := Reader{B: body}
	for n := r.count("locals entry"); n > 0 && r.Err == nil; n-- {
		r.ULEB(32)
		r.ValType()
	}
	depth := 1
	for r.Err == nil {
		if r.Done() {
			return fmt.Errorf("body ends inside %d blocks", depth)
		}
		at := r.Off
		in, err := r.Instr()
		if r.Off < at || r.Off > len(body) {
			t.Fatalf("Instr at %d left the reader at %d of %d", at, r.Off, len(body))
		}
		if err != nil {
			return err
		}
		if in.At != at || in.Imm <= in.At || in.End < in.Imm || in.End != r.Off {
			t.Fatalf("Instr at %d of %d: %+v", at, len(body), in)
		}
		switch in.Op {
		case 0x02, 0x03, 0x04, 0x1F:
			depth++
		case 0x0B:
			if depth--; depth == 0 {
				if !r.Done() {
					return fmt.Errorf("%d bytes after the body's end", r.Left())
				}
				return nil
			}
		}
		for range r.Labels(in) {
		}
	}
	return r.Err
}

// compiles reports whether wazero (interpreter: the same decoder and
// validator as the compiler, faster to run) accepts wasm. A panic in
// wazero counts as a refusal: it is not the walker's to find.
func compiles(rt wazero.Runtime, wasm []byte) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	ctx := context.Background()
	c, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return false
	}
	c.Close(ctx)
	return true
}

// TestInstrWalksPlugins: every function body of every test plugin and
// hostile module that wazero accepts walks to its end.
func TestInstrWalksPlugins(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	walked := 0
	for name, wasm := range plugins(t) {
		if !compiles(rt, wasm) {
			continue
		}
		bodies, ok := codeBodies(wasm)
		if !ok {
			t.Fatalf("%s: wazero accepts it, its sections do not frame", name)
		}
		for i, b := range bodies {
			if err := walkBody(t, b); err != nil {
				t.Errorf("%s: function body %d: %v", name, i, err)
			}
		}
		walked += len(bodies)
	}
	if walked == 0 {
		t.Fatal("no function bodies walked")
	}
	t.Logf("%d function bodies walked", walked)
}

// FuzzInstr: Instr never panics and never reads past its input, whatever
// the bytes; and on a module wazero accepts, every function body walks to
// its end with its blocks closing there.
func FuzzInstr(f *testing.F) {
	for _, wasm := range plugins(f) {
		if len(wasm) < 64<<10 {
			f.Add(wasm)
		}
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	f.Fuzz(func(t *testing.T, wasm []byte) {
		walkBody(t, wasm) // any bytes as a body: only the bounds checks apply
		bodies, ok := codeBodies(wasm)
		if !ok || len(bodies) == 0 || !compiles(rt, wasm) {
			return
		}
		for i, b := range bodies {
			if err := walkBody(t, b); err != nil {
				t.Fatalf("wazero accepts the module, function body %d: %v", i, err)
			}
		}
	})
}

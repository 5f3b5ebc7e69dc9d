package sandbox

import (
	"context"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
)

// panickyRuntime is a wazero runtime whose compiler panics, as wazero's
// did on a fuzzed module.
type panickyRuntime struct{ wazero.Runtime }

func (panickyRuntime) CompileModule(context.Context, []byte) (wazero.CompiledModule, error) {
	panic("type index out of range: 26")
}

func TestCompilerPanicIsARefusal(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	c, err := compileGuarded(ctx, panickyRuntime{rt}, []byte("\x00asm\x01\x00\x00\x00"))
	if c != nil || err == nil || !strings.Contains(err.Error(), "type index out of range") {
		t.Fatalf("compileGuarded = %v, %v; want the panic as an error", c, err)
	}
}

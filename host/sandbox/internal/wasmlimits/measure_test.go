package wasmlimits

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
)

func compileTime(t *testing.T, wasm []byte) (time.Duration, error) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	start := time.Now()
	_, err := rt.CompileModule(ctx, wasm)
	return time.Since(start), err
}

// TestMeasureCompile prints wazero's compile time for each bomb shape; it
// runs only with WASMLIMITS_MEASURE set (it takes minutes).
func TestMeasureCompile(t *testing.T) {
	spec := os.Getenv("WASMLIMITS_MEASURE")
	if spec == "" {
		t.Skip("set WASMLIMITS_MEASURE=shape to measure")
	}
	shapes := map[string]func(int) []byte{
		"loops": loopsSeq, "nestedloops": nestedLoops, "nestedblocks": nestedBlocks,
		"ifs": ifsSeq, "blocks": blocksSeq, "brtable": brTable, "straight": straightLine,
		"locals":       func(n int) []byte { return localsModule(uint32(n)) },
		"funcsloops":   func(n int) []byte { return manyFuncs(n, repeat([]byte{0x03, 0x40, 0x0B}, 100)) },
		"funcsbrtable": func(n int) []byte { return manyFuncs(n, brTableBody(1000)) },
	}
	var name string
	fmt.Sscanf(spec, "%s", &name)
	sizes := []int{100, 300, 1000, 3000, 10000, 30000, 100000, 300000, 1000000, 3000000}
	if name == "worst" {
		d := Default()
		for what, w := range map[string][]byte{
			"loops@limit": loopsSeq(d.LoopsPerFunction), "nestedloops@limit": nestedLoops(d.LoopsPerFunction),
			"nestedblocks@depth": nestedBlocks(d.NestingDepth - 1), "ifs@control": ifsSeq(d.ControlPerFunction),
			"blocks@control": blocksSeq(d.ControlPerFunction), "brtable@limit": brTable(d.BrTableTargets - 1),
			"body@limit": straightLine(d.BodyBytes - 3), "locals@limit": localsModule(uint32(d.LocalsPerFunction)),
			"5x1000ifs+...": manyFuncs(20, repeat([]byte{0x41, 0x00, 0x04, 0x40, 0x0B}, 1000)),
		} {
			if err := Check(w, d); err != nil {
				t.Errorf("%s: %v", what, err)
			}
			dur, err := compileTime(t, w)
			fmt.Printf("worst %s bytes=%d compile=%v err=%v\n", what, len(w), dur, err)
		}
		return
	}
	mk := shapes[name]
	for _, n := range sizes {
		w := mk(n)
		d, err := compileTime(t, w)
		fmt.Printf("%s n=%d bytes=%d compile=%v err=%v\n", name, n, len(w), d, err)
		if d > 1500*time.Millisecond {
			break
		}
	}
}

func brTableBody(n int) []byte {
	in := []byte{0x02, 0x40, 0x41, 0x00, 0x0E}
	in = appendU32(in, uint32(n))
	in = append(in, repeat([]byte{0x00}, n)...)
	return append(in, 0x00, 0x0B)
}
